// The master's event loop: one thread, one epoll set over the pool's wake
// eventfd, a signalfd and one pidfd per worker. The Scheduler decides; this
// file waits, hands it what happened, writes the records it makes, flushes
// them, draws progress and sums the run up.
#include "master/master.h"

#include <errno.h>  // program_invocation_name
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "common/fd.h"
#include "config/capacity.h"
#include "config/cli.h"
#include "config/load.h"
#include "job/python_job.h"
#include "master/clock.h"
#include "master/dry_run.h"
#include "master/host_gauges.h"
#include "master/job_output.h"
#include "master/process_pool.h"
#include "master/progress.h"
#include "master/read_ahead.h"
#include "master/resume.h"
#include "master/run_dir.h"
#include "master/run_recorder.h"
#include "master/run_state.h"
#include "master/scheduler.h"
#include "master/supervisor.h"
#include "master/timeline.h"

namespace shoal {
namespace {

constexpr int kFlushEveryMs = 200;
// ... or sooner, once this much is buffered: a fast run's buffers stay small.
constexpr size_t kFlushAtBytes = 512u << 10;
// Feeds of the queues in one round of drains, the last one included (Loop).
constexpr int kFeedsPerRound = 4;
// output.order = "input": records held back, per task-ring slot, and in bytes.
constexpr size_t kWindowPerSlot = 4;
constexpr size_t kWindowMaxBytes = 64u << 20;
// The counting pass over the input (progress's total) runs in slices this
// long while the loop has nothing else to do; a tree is counted only up to
// kMaxTreeCount entries (a huge tree is not walked twice), and only once the
// run has lasted kCountTreeAfterNs: a second walk costs as much as the first,
// which a run that ends within a second does not need for its progress.
constexpr uint64_t kCountSliceNs = 2'000'000;
constexpr uint64_t kMaxTreeCount = 1'000'000;
constexpr uint64_t kCountTreeAfterNs = 1'000'000'000;
// epoll tags beside the pool's.
constexpr uint64_t kTagSignal = ProcessPool::kFirstFreeTag;
constexpr uint64_t kTagInput = ProcessPool::kFirstFreeTag + 1;

int OnlineCores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

class Master {
 public:
  Master(const Settings& settings, const RunOptions& options) : s_(settings), options_(options) {}
  Result<int> Run();

 private:
  Status Prepare();
  Status SetUpLoop();
  void Loop();
  void WatchInput();
  // The counting pass's own source (progress's total), opened once.
  void OpenCounter();
  void OnSignalFd();
  int WaitTimeoutMs() const;
  ProgressCounts Counts(uint64_t now) const;
  void Tick(uint64_t now);
  void MaybeFlush(bool force);
  // A line of timeline.jsonl for `now`, written at once (one a second).
  void WriteTimeline(uint64_t now);
  int Summarize();

  const Settings& s_;
  RunOptions options_;
  MonotonicClock clock_;
  ProcHostGauges host_;
  JobInput input_;
  int workers_ = 1;
  RunDirectory run_;
  std::unique_ptr<RecordWindow> window_;  // output.order = "input"
  std::unique_ptr<ProgressDisplay> progress_;
  std::unique_ptr<JobOutput> print_;  // output.print != "none"
  std::unique_ptr<RunFiles> records_;
  UniqueFd epoll_, signal_fd_;
  std::unique_ptr<SharedSegment> segment_;  // made in Prepare, then the pool's
  std::unique_ptr<ProcessPool> pool_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<InputCounter> counter_;
  bool count_pending_ = false;  // countable, counter_ not opened yet
  RateMeter rate_{0};
  Timeline timeline_{0};
  RecordFile timeline_file_;
  std::string settings_toml_;                 // the effective settings, as the workers read them
  Settings effective_;                        // the same, parsed (field names filled in)
  RunState state_;                            // what run.json says
  uint64_t next_status_ns_ = 0;               // next status line in log.txt; 0 = never
  uint64_t prior_ok_ = 0, prior_failed_ = 0;  // recorded before a resume
  uint64_t prior_never_ran_ = 0;              // of prior_failed_ (CanRunAgain)
  bool input_watched_ = false;                // the input's fd is armed in epoll (one-shot)
  bool input_registered_ = false;
  uint64_t start_ns_ = 0, last_flush_ns_ = 0;
  std::string input_path_;  // for log.txt: where the items are (stored ones: in the run)
};

Status Master::Prepare() {
  auto input = OpenJobInput(s_, options_);
  if (!input.ok()) return input.status();
  input_ = std::move(*input);
  input_path_ = s_.input.path;
  // Only what can be read twice is counted: a regular list file or a tree,
  // never stdin or a pipe (the counter would take the run's items).
  const std::string& read = input_.items.empty() ? s_.input.path : input_.items;
  struct stat st;
  bool countable =
      options_.retry_items.empty() && read != "-" && ::stat(read.c_str(), &st) == 0 &&
      (S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && input_.kind == InputKind::kTree));
  // A tree's second walk is opened only when counting starts: opening it
  // starts its readers, which a run that ends within a second never needs.
  count_pending_ = countable;
  if (countable && input_.kind != InputKind::kTree) OpenCounter();
  if (s_.output.order == OutputOrder::kInput) {
    size_t slots = static_cast<size_t>(std::max(s_.queue.slots, 1));
    window_ = std::make_unique<RecordWindow>(slots * kWindowPerSlot, kWindowMaxBytes);
  }
  workers_ = ResolveWorkers(s_.job, OnlineCores());
  // A worker that no item would reach only starts and stops (-j 100 ::: a b).
  if (options_.stored_items > 0 && static_cast<uint64_t>(workers_) > options_.stored_items) {
    workers_ = static_cast<int>(options_.stored_items);
  }
  // What the workers read is exactly what this master runs by: the input
  // kind and the items file fixed, overrides included (resume rewrites the
  // run's copy, so `resume --set ...` reaches the commands too).
  Settings effective = s_;
  effective.input.kind = input_.kind;
  effective.input.items = input_.items;
  if (effective.input.header && effective.input.field_names.empty()) {
    effective.input.field_names = input_.field_names;
  }
  // The count this run has, also for a share of the cores: resume and retry
  // run as many, on whatever machine.
  effective.job.workers = workers_;  // checked storable by CheckJobInput
  effective.job.workers_share.clear();
  settings_toml_ = SettingsToToml(effective);
  effective_ = effective;
  // Shared memory before the run directory: a /dev/shm too small for the
  // segment ends the start with a message and nothing left behind.
  auto segment = ProcessPool::CreateSegment(workers_);
  if (!segment.ok()) return segment.status();
  segment_ = std::move(*segment);
  if (options_.resume) {
    prior_ok_ = options_.resume->ok;
    prior_failed_ = options_.resume->failed;
    prior_never_ran_ = options_.resume->never_ran;
    Status opened = run_.OpenExisting(options_.resume_dir, s_, input_.kind);
    if (!opened.ok()) return opened;
    return run_.RewriteSettings(settings_toml_);
  }
  Status created = run_.Create(effective, input_.kind, settings_toml_);
  if (!created.ok() || options_.store_input.empty()) return created;
  // The input is open already (the rename leaves it so); what moves is
  // where resume and retry will find it.
  const std::string stored = run_.path() + "/" + kStoredInputName;
  if (::rename(options_.store_input.c_str(), stored.c_str()) != 0) {
    return Status::FromErrno("cannot move the items into " + stored, errno);
  }
  effective.input.path = stored;
  input_path_ = stored;
  settings_toml_ = SettingsToToml(effective);
  return run_.RewriteSettings(settings_toml_);
}

void Master::OpenCounter() {
  count_pending_ = false;
  auto counting = OpenItemSource(s_, input_.items);
  if (counting.ok()) {
    counter_ = std::make_unique<InputCounter>(
        std::move(*counting), input_.kind == InputKind::kTree ? kMaxTreeCount : UINT64_MAX);
  }
}

Status Master::SetUpLoop() {
  // Signals arrive through the signalfd only; workers get a clean mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!signal_fd_.valid() || !epoll_.valid()) {
    return Status::FromErrno("cannot set up the event loop", errno);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagSignal;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signal_fd_.get(), &ev);
  auto pool = ProcessPool::Create(std::move(segment_), workers_, epoll_.get(), run_.path(),
                                  state_.settings_sha256);
  if (!pool.ok()) return pool.status();
  pool_ = std::move(*pool);
  if (s_.job.handler == HandlerKind::kPython) {
    pool_->HostWorkers(PythonWorkerHost(s_, Supervisor::DefaultWorkerExe()));
  }
  const DoneSet* done = options_.resume ? &options_.resume->done : nullptr;
  scheduler_ = std::make_unique<Scheduler>(s_, workers_, *input_.source, done, *pool_, *records_,
                                           clock_, SchedulerLimits{}, &host_);
  return scheduler_->StartWorkers();
}

int Master::WaitTimeoutMs() const {
  uint64_t now = clock_.NowNs();
  int64_t ms = kFlushEveryMs - static_cast<int64_t>((now - last_flush_ns_) / 1000000);
  // The scheduler's next deadline, the next progress redraw or status line.
  uint64_t due =
      std::min({scheduler_->NextDeadlineNs(), progress_ ? progress_->next_due_ns() : UINT64_MAX,
                next_status_ns_ != 0 ? next_status_ns_ : UINT64_MAX, timeline_.next_due_ns()});
  if (due != UINT64_MAX) {
    uint64_t wait_ns = due - std::min(now, due);
    ms = std::min<int64_t>(ms, static_cast<int64_t>((wait_ns + 999'999) / 1'000'000));
  }
  return static_cast<int>(std::clamp<int64_t>(ms, 0, kFlushEveryMs));
}

ProgressCounts Master::Counts(uint64_t now) const {
  ProgressCounts c;
  const RunStats& stats = scheduler_->stats();
  uint64_t finished = stats.finished();
  c.done = prior_ok_ + prior_failed_ + finished;
  c.failed = prior_failed_ + stats.failed;
  c.seen = input_.source->seen();
  c.total_known = input_.source->done();
  if (!c.total_known && counter_ && counter_->finished()) {
    c.seen = std::max(c.seen, counter_->total());
    c.total_known = true;
  }
  if (stats.failed > 0) {
    auto reasons = stats.reasons.Sorted();
    if (!reasons.empty()) std::tie(c.top_reason, c.top_reason_count) = reasons.front();
  }
  c.rate = rate_.Rate(now, finished);
  c.elapsed_s = static_cast<double>(now - std::min(now, start_ns_)) / 1e9;
  return c;
}

double CpuSeconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

void Master::WriteTimeline(uint64_t now) {
  const Scheduler& sched = *scheduler_;
  const RunStats& stats = sched.stats();
  TimelineSample sample;
  sample.done = stats.finished();
  sample.ok = stats.ok;
  sample.failed = stats.failed;
  sample.retried = stats.retried;
  sample.in_flight = sched.in_flight();
  sample.seen = input_.source->seen();
  sample.busy = scheduler_->TakeBusyShares(now);
  struct rusage self {};
  struct rusage loop {};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_THREAD, &loop);
  sample.cpu_master_s = CpuSeconds(self);
  sample.cpu_threads_s = std::max(0.0, sample.cpu_master_s - CpuSeconds(loop));
  timeline_.Append(now, clock_.UnixMs(now), sample, timeline_file_.buffer());
  // A second's line is worth a write of its own: a run in progress shows it.
  // A failed write only costs the timeline, never the run.
  (void)timeline_file_.Flush();
}

void Master::Tick(uint64_t now) {
  rate_.Add(now, scheduler_->stats().finished());
  if (timeline_.Due(now)) WriteTimeline(now);
  bool status_due = next_status_ns_ != 0 && now >= next_status_ns_;
  if (!status_due && (!progress_ || now < progress_->next_due_ns())) return;
  ProgressCounts c = Counts(now);
  if (progress_) progress_->Tick(now, c);
  if (status_due) {
    run_.Log("status: " + FormatStatusLine(c));
    next_status_ns_ = now + static_cast<uint64_t>(s_.output.status_every.count()) * 1'000'000ULL;
  }
}

void Master::MaybeFlush(bool force) {
  uint64_t now = clock_.NowNs();
  size_t buffered = run_.results().pending() + run_.errors().pending() + run_.failed().pending();
  if (!force && now - last_flush_ns_ < kFlushEveryMs * 1000000ULL && buffered < kFlushAtBytes) {
    return;
  }
  last_flush_ns_ = now;
  for (const std::string& w : input_.source->TakeWarnings()) run_.Log("input: " + w);
  // In the run, on the run directory's thread; at the end, written before
  // what follows (the summary, the sync, run.json) relies on it.
  Status st = force ? run_.Flush() : run_.FlushInBackground();
  if (!st.ok() && scheduler_) scheduler_->Fatal(st.message());
}

// The input would make read() wait: sleep in epoll until it is readable.
// One-shot, so a readable input the rings have no room for never wakes the
// loop again and again.
void Master::WatchInput() {
  if (input_watched_) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kTagInput;
  int op = input_registered_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (::epoll_ctl(epoll_.get(), op, input_.source->WaitFd(), &ev) == 0) {
    input_watched_ = input_registered_ = true;
  }
}

void Master::OnSignalFd() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    scheduler_->OnSignal(static_cast<int>(info.ssi_signo));
  }
}

void Master::Loop() {
  Scheduler& sched = *scheduler_;
  epoll_event events[64];
  while (true) {
    bool busy = false;
    if (pool_->RoundDue(sched.FeedingOver())) {
      // The queues are refilled a few times in a round, each soon after its
      // workers' outcomes are taken: on tiny items the drains of a whole
      // round take longer than a worker needs to run dry (bench/README.md,
      // "Feeding between the drains"). At most kFeedsPerRound, as each
      // Feed looks at every worker.
      const int group =
          sched.FeedsBetweenDrains() ? (workers_ + kFeedsPerRound - 1) / kFeedsPerRound : workers_;
      for (int i = 0; i < workers_; ++i) {
        busy |= pool_->Drain(i, sched);
        if ((i + 1) % group == 0 && i + 1 < workers_ && sched.FeedsBetweenDrains()) {
          busy |= sched.Feed();
        }
      }
    }
    if (!sched.stopping()) {
      busy |= sched.Feed();
      if (sched.input_would_block()) WatchInput();
    }
    if (!sched.stopping() && sched.WorkDone()) sched.BeginStop();
    if (sched.Finished()) break;
    sched.Tick();
    sched.EndRound();
    uint64_t now = clock_.NowNs();
    Tick(now);
    MaybeFlush(false);

    int timeout = 0;
    if (!busy) {
      // Idle time goes to counting the input; then sleep, unless a worker
      // published between the drain above and now.
      bool counting = false;
      const bool count_now =
          input_.kind != InputKind::kTree || now - start_ns_ >= kCountTreeAfterNs;
      if (count_pending_ && count_now && !sched.stopping() && !input_.source->done()) {
        OpenCounter();
      }
      if (counter_ && counter_->active() && count_now && !sched.stopping() && !sched.halted()) {
        // Workers come first: a round that falls due ends the slice.
        counting = !input_.source->done() && counter_->Step(kCountSliceNs, [&] {
          return pool_->RoundDue(sched.FeedingOver());
        });
      }
      pool_->SetMasterSleeping(true);
      timeout = counting || pool_->RoundDue(sched.FeedingOver()) ? 0 : WaitTimeoutMs();
    }
    int n = ::epoll_wait(epoll_.get(), events, 64, timeout);
    pool_->SetMasterSleeping(false);
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == ProcessPool::kWakeTag) {
        pool_->ClearWake();
      } else if (tag == kTagInput) {
        input_watched_ = false;  // one-shot: readable now, the next feed reads it
      } else if (tag == kTagSignal) {
        OnSignalFd();
      } else if (tag < static_cast<uint64_t>(workers_) && sched.running(static_cast<int>(tag))) {
        int slot = static_cast<int>(tag);
        WorkerExit exit = pool_->Reap(slot, sched);
        sched.OnWorkerExit(slot, exit);
      }
    }
  }
}

int Master::Summarize() {
  if (window_) window_->ReleaseAll(run_);
  if (print_) print_->PrintHeld();  // items out of the window that got no record
  // The counts say what is on disk: records a failed write dropped are not
  // counted (resume runs their items again).
  MaybeFlush(true);  // the input's last warnings go before the summary
  RunStats stats = scheduler_->stats();
  const uint64_t lost_ok = std::min(stats.ok, run_.results().lost());
  const uint64_t lost_failed = std::min(stats.failed, run_.errors().lost());
  stats.ok -= lost_ok;
  stats.failed -= lost_failed;
  uint64_t now = clock_.NowNs();
  WriteTimeline(now);  // the last line: a run shorter than a second has one too
  double secs = static_cast<double>(now - start_ns_) / 1e9;
  struct rusage self {
  }, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  const auto cpu = CpuSeconds;
  const Scheduler& sched = *scheduler_;
  RunTotals totals;
  totals.wall_s = secs;
  totals.cpu_master_s = cpu(self);
  totals.cpu_workers_s = cpu(children);
  totals.worker_deaths = sched.worker_deaths();
  totals.prior = prior_ok_ + prior_failed_;
  ProgressCounts counts = Counts(now);
  counts.done -= lost_ok + lost_failed;
  totals.not_run = counts.total_known
                       ? static_cast<int64_t>(counts.seen - std::min(counts.seen, counts.done))
                       : -1;
  for (const std::string& line : SummaryLines(stats, totals)) run_.Log(line);
  if (lost_ok + lost_failed > 0) {
    run_.Log("summary: " + std::to_string(lost_ok + lost_failed) +
             " finished items have no record (a write failed); resume runs them again");
  }

  int code = kExitOk;
  const std::string incomplete = input_.source->Incomplete();
  std::string resume_hint = "'shoal resume " + run_.path() + "' finishes the run";
  if (sched.fatal()) {
    run_.Log("run failed: " + sched.fatal_message());
    code = kExitInternal;
  } else if (sched.stop_signal() != 0) {
    run_.Log("interrupted; " + resume_hint);
    code = 128 + sched.stop_signal();
  } else if (stats.failed + prior_failed_ > 0 || !incomplete.empty()) {
    code = kExitItemsFailed;  // an input cut short: the run did not see all of it
  }
  if (sched.halted()) run_.Log("halted: " + sched.halt_reason() + "; " + resume_hint);
  run_.Log("run ended, exit status " + std::to_string(code));
  MaybeFlush(true);
  // Records are synced once, here, at the end of every run (finished,
  // interrupted, halted or failed), before run.json says it ended: a run
  // whose run.json says ended has its records on disk, even if the machine
  // crashes next. Not during the run: a master killed mid-run loses nothing
  // the kernel holds, and after a machine crash resume cuts what is torn and
  // runs the rest again, so a sync per flush (5 a second) would buy little.
  // Its cost, measured on 1M no-op items, is in the commit that added it.
  if (Status synced = run_.Sync(); !synced.ok()) {
    std::fprintf(stderr, "shoal: %s\n", synced.message().c_str());
    code = kExitInternal;
  }
  // After the flush: run.json never says ended before the records are written.
  state_.End(code, prior_ok_ + stats.ok, prior_failed_ + stats.failed);
  state_.halted = sched.halted() ? sched.halt_reason() : "";
  // A retry has finished once every one of its items has a record again;
  // until then resume finishes it.
  if (state_.retrying && (code == kExitOk || code == kExitItemsFailed) && !sched.halted()) {
    state_.retrying = false;
  }
  if (Status st = WriteRunState(run_.path(), state_); !st.ok()) {
    std::fprintf(stderr, "shoal: %s\n", st.message().c_str());
    code = kExitInternal;
  }
  if (progress_) progress_->Clear();
  if (sched.fatal()) std::fprintf(stderr, "shoal: %s\n", sched.fatal_message().c_str());
  if (!incomplete.empty()) std::fprintf(stderr, "shoal: warning: input %s\n", incomplete.c_str());
  if (sched.halted()) {  // the summary says how to resume
    std::string not_run = totals.not_run >= 0 ? std::to_string(totals.not_run) + " items not run"
                                              : "the rest of the input not run";
    std::fprintf(stderr, "shoal: halted: %s; %s\n", sched.halt_reason().c_str(), not_run.c_str());
  }
  if (!options_.quiet || code != kExitOk) {
    RunEnding ending;
    ending.program = program_invocation_name;  // what the user typed: retry runs the same shoal
    ending.run_dir = run_.path();
    std::error_code ec;
    ending.cwd = std::filesystem::current_path(ec).string();
    ending.failed = prior_failed_ + stats.failed;
    ending.never_ran = prior_never_ran_ + stats.never_ran;
    ending.signal = sched.stop_signal();
    ending.unfinished = sched.fatal() || sched.halted();
    for (const std::string& l : TerminalSummary(stats, totals, ending)) {
      std::fprintf(stderr, "%s\n", l.c_str());
    }
    if (!options_.quiet) {
      std::fprintf(stderr, "shoal: the run as a page (report.html):\nshoal:   %s\n",
                   ShellCommand(ending.program, "report", ending.run_dir, ending.cwd).c_str());
    }
  }
  return code;
}

Result<int> Master::Run() {
  start_ns_ = clock_.NowNs();
  last_flush_ns_ = start_ns_;
  Status st = Prepare();
  if (!st.ok()) return st;
  if (options_.verbose > 0 && !options_.quiet) run_.EchoLogTo(2);
  if (options_.retrying) {
    run_.Log("retry " + std::to_string(options_.retries) + ": the failed items of " +
             options_.retry_items + " without a record yet run again, with their own index; " +
             std::to_string(prior_ok_ + prior_failed_) + " items recorded (" +
             std::to_string(prior_failed_) + " failed)");
  } else if (options_.resume) {
    run_.Log("run resumed: " + std::to_string(prior_ok_ + prior_failed_) +
             " items already recorded (" + std::to_string(prior_failed_) + " failed), " +
             std::to_string(options_.resume->torn) + " torn line(s) cut");
  }
  state_ = RunState::Start(settings_toml_, workers_, prior_ok_, prior_failed_);
  state_.retries = options_.retries;
  state_.retrying = options_.retrying;
  state_.retry_of = options_.retry_of;
  run_.Log(std::string("run started: shoal ") + kShoalVersion + ", settings sha256 " +
           state_.settings_sha256 + ", " + std::to_string(workers_) + " workers, input " +
           input_path_ +
           (options_.items_file.empty() ? "" : ", items from " + options_.items_file));
  st = WriteRunState(run_.path(), state_);
  ProgressMode mode = ChooseProgressMode(options_.progress, options_.quiet, ::isatty(2) != 0);
  // -v echoes log.txt to stderr; a live line would be torn by it, so the
  // plain status lines stand in (unless --progress insists).
  if (options_.verbose > 0 && mode == ProgressMode::kLive && options_.progress != 1) {
    mode = ProgressMode::kLines;
  }
  uint64_t every_ns =
      static_cast<uint64_t>(std::max<int64_t>(s_.output.status_every.count(), 0)) * 1'000'000ULL;
  progress_ = std::make_unique<ProgressDisplay>(mode, 2, every_ns, start_ns_);
  if (s_.output.print != PrintMode::kNone && st.ok()) {
    // The tags are expanded with the field names the workers get.
    Result<std::unique_ptr<JobOutput>> print =
        JobOutput::Make(effective_, input_.kind, run_.path(), progress_.get());
    if (print.ok()) {
      print_ = std::move(print).value();
    } else {
      st = print.status();
    }
    if (print_ && window_) {
      window_->PrintWith([this](const RunDirectory::Finished& f) { return print_->Hold(f); },
                         [this](const ItemOutput& o) { print_->Print(o); },
                         [this](uint64_t index) { print_->Turn(index); });
    }
  }
  // With a window the window prints the items; the pieces the workers
  // forward still go to print_, which holds them until their item's turn.
  records_ = std::make_unique<RunFiles>(run_, window_.get(), progress_.get(), options_.quiet,
                                        print_.get());
  rate_ = RateMeter(start_ns_);
  timeline_ = Timeline(start_ns_);
  if (st.ok()) st = timeline_file_.Open(run_.path() + "/" + kTimelineFile);
  next_status_ns_ = every_ns > 0 ? start_ns_ + every_ns : 0;
  if (st.ok()) st = SetUpLoop();
  if (!scheduler_) {
    // Nothing started: the run ends here, its directory says why.
    run_.Log("run failed: " + st.message());
    run_.Log("run ended, exit status " + std::to_string(kExitInternal));
    MaybeFlush(true);
    state_.End(kExitInternal, prior_ok_, prior_failed_);
    (void)WriteRunState(run_.path(), state_);  // the message below says what went wrong
    std::fprintf(stderr, "shoal: %s\nshoal: run directory: %s\n", st.message().c_str(),
                 run_.path().c_str());
    return kExitInternal;
  }
  Loop();
  return Summarize();
}

}  // namespace

Result<int> RunJob(const Settings& settings, const RunOptions& options) {
  // A broken installation is said before a run directory or shared memory exists.
  if (Result<std::string> worker = FindWorkerExe(); !worker.ok()) return worker.status();
  if (options.dry_run) return DryRun(settings, options);
  Master master(settings, options);
  return master.Run();
}

}  // namespace shoal
