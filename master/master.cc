#include "master/master.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include "common/channel.h"
#include "common/fault.h"
#include "common/fd.h"
#include "common/shm_segment.h"
#include "common/wire.h"
#include "config/cli.h"
#include "config/load.h"
#include "master/dry_run.h"
#include "master/item_source.h"
#include "master/progress.h"
#include "master/resume.h"
#include "master/run_dir.h"
#include "master/run_stats.h"
#include "master/supervisor.h"
#include "worker/handler.h"
#include "worker/plugin_handler.h"
#include "worker/worker_loop.h"

namespace shoal {

namespace {

constexpr int kFlushEveryMs = 200;
// ... or sooner, once this much is buffered: a fast run's buffers stay small.
constexpr size_t kFlushAtBytes = 4u << 20;
// Workers get this long to exit after the master asks them to.
constexpr int kShutdownWaitMs = 5000;
// Adaptive depth: keep about this much work queued per worker.
constexpr double kQueuedWorkMs = 5.0;
// A command handler enforces job.timeout itself (it kills the process group);
// the master steps in only if the worker does not deliver by this much later.
constexpr uint64_t kCommandTimeoutSlackNs = 5'000'000'000ULL;
// With a timeout set, the master looks at running items at least this often.
constexpr int kTimeoutCheckMs = 50;
// Failing worker starts stop the run only after this long without progress.
constexpr uint64_t kNoProgressNs = 2'000'000'000ULL;
// After the interrupt is forwarded to running commands, the hard kill follows.
constexpr uint64_t kKillAfterSignalNs = 2'000'000'000ULL;
// Retry backoff: job.retry_delay doubles with each attempt, up to this.
constexpr uint64_t kMaxRetryDelayMs = 10 * 60 * 1000;
// job.max_failures as a percentage is judged only once this many items finished.
constexpr uint64_t kHaltMinSample = 20;
// output.order = "input": records held back, per task-ring slot, and in bytes.
constexpr size_t kWindowPerSlot = 4;
constexpr size_t kWindowMaxBytes = 64u << 20;
// The counting pass over the input (progress's total) runs in slices this
// long while the loop has nothing else to do; a tree is counted only up to
// kMaxTreeCount entries (a huge tree is not walked twice).
constexpr uint64_t kCountSliceNs = 2'000'000;
constexpr uint64_t kMaxTreeCount = 1'000'000;
// Failed items waiting out their retry delay, at most (then no new items are
// read until some are fed again): memory stays bounded even when every item fails.
constexpr size_t kMinDelayedCap = 1024;
// epoll tags: pidfds carry their slot number; these are above any slot.
constexpr uint64_t kTagWake = 1ULL << 40;
constexpr uint64_t kTagSignal = kTagWake + 1;
constexpr uint64_t kTagInput = kTagWake + 2;

struct Pending {
  uint64_t index;
  uint32_t attempt;
  std::string item;
};

// A retry waiting out its backoff; delayed_ is a min-heap on (ready_ns, order).
struct Delayed {
  uint64_t ready_ns;
  uint64_t order;
  Pending pending;
};

struct LaterFirst {
  bool operator()(const Delayed& a, const Delayed& b) const {
    return a.ready_ns != b.ready_ns ? a.ready_ns > b.ready_ns : a.order > b.order;
  }
};

struct InFlight {
  uint64_t seq;
  uint64_t index;
  uint32_t attempt;
  std::string item;
  bool done = false;
};

struct WorkerSlot {
  int slot = 0;
  pid_t pid = 0;
  UniqueFd pidfd;
  Channel ch;
  std::deque<InFlight> inflight;  // in task order; done ones popped from the front
  size_t outstanding = 0;         // entries not done
  bool running = false;
  bool unpublished = false;         // tasks written to its ring, not yet published
  uint64_t killed_for_timeout = 0;  // seq of the item it was killed for
};

class Master {
 public:
  Master(const Settings& settings, const RunOptions& options) : s_(settings), options_(options) {}
  int Run();

 private:
  Status Prepare();
  Status StartWorkers();
  Status SpawnInto(WorkerSlot& w);
  void Loop();
  bool Feed();
  bool NextPending(Pending* p);
  void WatchInput();
  bool Drain(WorkerSlot& w);
  bool AnyOutputPending();
  void OnOutcome(WorkerSlot& w, const OutcomeRecord& o);
  void OnWorkerExit(WorkerSlot& w);
  void OnSignal();
  void CheckTimeouts();
  void BeginStop();
  void KillWorkers();
  void OnStopDeadline();
  void Fail(uint64_t index, std::string_view item, uint32_t attempts, int worker,
            std::string_view reason, const OutcomeRecord* o);
  // Writes an item's records (through the reorder window with order = input)
  // and counts it; ms < 0: it never ran.
  void Record(bool ok, const RunDirectory::Finished& f, double ms);
  // Another attempt after a failed one, once its backoff has passed; or,
  // when the run is halting, none (the item is left for resume).
  void Retry(uint64_t index, uint32_t failed_attempt, std::string item, std::string_view reason);
  void CheckHalt();
  bool CanReadInput() const;
  bool RoomToFeed() const;
  ProgressCounts Counts(uint64_t now) const;
  void Tick(uint64_t now);
  // A message on stderr, on a clean line even while the progress line shows.
  void Say(const std::string& message);
  bool WorkDone() const;
  bool AllWorkersGone() const;
  size_t Depth() const;
  int WaitTimeoutMs() const;
  void MaybeFlush(bool force);
  int Summarize();

  const Settings& s_;
  RunOptions options_;
  InputKind kind_ = InputKind::kList;
  int workers_ = 1;
  std::unique_ptr<ItemSource> source_;
  RunDirectory run_;
  std::unique_ptr<SharedSegment> segment_;
  SegmentHeader* header_ = nullptr;
  std::unique_ptr<Supervisor> supervisor_;
  UniqueFd epoll_, wake_, signal_fd_;
  std::vector<WorkerSlot> slots_;
  std::deque<Pending> retry_;     // to feed again at once (never started, or no delay)
  std::vector<Delayed> delayed_;  // retries waiting out their backoff (heap)
  uint64_t delayed_order_ = 0;
  std::unique_ptr<RecordWindow> window_;  // output.order = "input"
  std::string buffer_, scratch_;
  std::string settings_toml_;  // the effective settings, as written to the run directory

  RunStats stats_;
  std::unique_ptr<ProgressDisplay> progress_;
  std::unique_ptr<InputCounter> counter_;
  RateMeter rate_{0};
  uint64_t next_status_ns_ = 0;  // next status line in log.txt; 0 = never
  bool halted_ = false;          // job.max_failures reached: nothing new is fed
  std::string halt_reason_;

  uint64_t next_seq_ = 0;
  uint64_t worker_deaths_ = 0;
  uint64_t prior_ok_ = 0, prior_failed_ = 0;  // recorded before a resume
  bool input_watched_ = false;                // the input's fd is armed in epoll (one-shot)
  bool input_registered_ = false;
  uint64_t last_progress_ns_ = 0;
  bool progressed_ = false;  // an item finished since the loop last looked  // when an item last
                             // finished (or the run started)
  int start_failures_ = 0;   // consecutive workers that died before getting ready
  bool source_done_ = false;
  bool stopping_ = false;   // no new tasks; wind down
  int stop_signal_ = 0;     // the signal that stopped the run, 0 = none
  bool forwarded_ = false;  // the grace ran out and running commands got the signal
  bool fatal_ = false;
  std::string fatal_message_;
  double avg_item_ms_ = -1;
  uint64_t start_ns_ = 0, last_flush_ns_ = 0, stop_deadline_ns_ = 0;
};

int OnlineCores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Status Master::Prepare() {
  auto input = OpenJobInput(s_, options_);
  if (!input.ok()) return input.status();
  kind_ = input->kind;
  source_ = std::move(input->source);
  // Only what can be read twice is counted: a regular list file or a tree,
  // never stdin or a pipe (the counter would take the run's items).
  const std::string& read = input->items.empty() ? s_.input.path : input->items;
  struct stat st;
  bool countable = read != "-" && ::stat(read.c_str(), &st) == 0 &&
                   (S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && kind_ == InputKind::kTree));
  if (countable) {
    auto counting = OpenItemSource(s_, input->items);
    if (counting.ok()) {
      counter_ = std::make_unique<InputCounter>(
          std::move(*counting), kind_ == InputKind::kTree ? kMaxTreeCount : UINT64_MAX);
    }
  }
  if (s_.output.order == OutputOrder::kInput) {
    size_t slots = static_cast<size_t>(std::max(s_.queue.slots, 1));
    window_ = std::make_unique<RecordWindow>(slots * kWindowPerSlot, kWindowMaxBytes);
  }

  workers_ = s_.job.workers > 0 ? s_.job.workers : OnlineCores();
  if (options_.resume) {
    prior_ok_ = options_.resume->ok;
    prior_failed_ = options_.resume->failed;
    settings_toml_ = SettingsToToml(s_);
    return run_.OpenExisting(options_.resume_dir, s_, kind_);
  }
  // The copy in the run directory is what the workers, retry and resume read:
  // the input kind and the items file are fixed there so that all of them
  // agree with this run.
  Settings effective = s_;
  effective.input.kind = kind_;
  effective.input.items = input->items;
  effective.job.workers = workers_;
  settings_toml_ = SettingsToToml(effective);
  return run_.Create(effective, kind_, settings_toml_);
}

Status Master::StartWorkers() {
  RemoveStaleSegments();
  RingSizes sizes;
  size_t bytes = SegmentLayout::BytesFor(static_cast<uint32_t>(workers_), sizes);
  auto segment = SharedSegment::Create(bytes);
  if (!segment.ok()) return segment.status();
  segment_ = std::move(*segment);
  header_ = SegmentLayout::Init(segment_->data(), segment_->size(), static_cast<uint32_t>(workers_),
                                sizes, static_cast<uint64_t>(::getpid()));

  // Signals arrive through the signalfd only; workers get a clean mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  // Above fd 3 so that the dup2 to fd 3 in each worker is a real copy.
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  wake_.Reset(::fcntl(efd, F_DUPFD_CLOEXEC, 10));
  ::close(efd);
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!signal_fd_.valid() || !wake_.valid() || !epoll_.valid()) {
    return Status::FromErrno("cannot set up the event loop", errno);
  }
  for (auto [fd, tag] : {std::pair{wake_.get(), kTagWake}, {signal_fd_.get(), kTagSignal}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }

  supervisor_ = std::make_unique<Supervisor>(Supervisor::DefaultWorkerExe(), segment_->name(),
                                             run_.path(), wake_.get());
  slots_.resize(static_cast<size_t>(workers_));
  for (int i = 0; i < workers_; ++i) {
    slots_[i].slot = i;
    Status st = SpawnInto(slots_[i]);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status Master::SpawnInto(WorkerSlot& w) {
  SegmentLayout::ResetSlot(header_, static_cast<uint32_t>(w.slot));
  w.ch = SegmentLayout::ChannelOf(header_, static_cast<uint32_t>(w.slot));
  auto proc = supervisor_->Start(w.slot);
  if (!proc.ok()) return proc.status();
  w.pid = proc->pid;
  w.pidfd = std::move(proc->pidfd);
  w.running = true;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(w.slot);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w.pidfd.get(), &ev);
  run_.Log("worker " + std::to_string(w.slot + 1) + " started, pid " + std::to_string(w.pid));
  return Status::Ok();
}

size_t Master::Depth() const {
  size_t max_depth = std::max<size_t>(1, static_cast<size_t>(s_.queue.slots) / workers_);
  if (s_.queue.batch > 0) return std::min<size_t>(max_depth, static_cast<size_t>(s_.queue.batch));
  // Until durations are known, one each: slow items must not queue up.
  if (avg_item_ms_ < 0) return 1;
  double want = kQueuedWorkMs / std::max(avg_item_ms_, 1e-4);
  return std::clamp<size_t>(static_cast<size_t>(want), 1, max_depth);
}

bool Master::CanReadInput() const {
  size_t delayed_cap =
      std::max(kMinDelayedCap, static_cast<size_t>(std::max(s_.queue.slots, 1)) * kWindowPerSlot);
  return !halted_ && (!window_ || !window_->full()) && delayed_.size() < delayed_cap;
}

bool Master::NextPending(Pending* p) {
  if (halted_) return false;  // not even retries: what has no record, resume runs
  if (!retry_.empty()) {
    *p = std::move(retry_.front());
    retry_.pop_front();
    return true;
  }
  if (!delayed_.empty() && delayed_.front().ready_ns <= MonotonicNanos()) {
    std::pop_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
    *p = std::move(delayed_.back().pending);
    delayed_.pop_back();
    return true;
  }
  while (!source_done_ && CanReadInput()) {
    if (source_->WouldBlock()) {
      WatchInput();
      return false;
    }
    Item item;
    if (!source_->Next(&item)) {
      source_done_ = true;
      if (!source_->status().ok()) {
        fatal_ = true;
        fatal_message_ = source_->status().message();
      }
      break;
    }
    if (options_.resume && options_.resume->done.Contains(item.index)) continue;
    if (window_) window_->Open(item.index);
    if (!item.error.empty()) {
      Fail(item.index, item.text, 0, 0, item.error, nullptr);
      continue;
    }
    p->index = item.index;
    p->attempt = 1;
    p->item = std::move(item.text);
    return true;
  }
  return false;
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
  if (::epoll_ctl(epoll_.get(), op, source_->WaitFd(), &ev) == 0) {
    input_watched_ = input_registered_ = true;
  }
}

bool Master::Feed() {
  size_t depth = Depth();
  bool more = true;
  // Level by level: a short input or slow items spread over every worker
  // instead of queueing behind one while another idles. Levels every worker
  // already fills are skipped: the loop runs over the levels it fills.
  size_t first = depth + 1;
  for (const WorkerSlot& w : slots_) {
    if (w.running) first = std::min(first, w.outstanding + 1);
  }
  for (size_t level = first; level <= depth && more; ++level) {
    for (WorkerSlot& w : slots_) {
      if (!w.running || w.outstanding >= level) continue;
      Pending p;
      if (!NextPending(&p)) {
        more = false;
        break;
      }
      TaskRecord task{next_seq_ + 1, p.index, p.attempt, p.item};
      EncodeTask(task, &buffer_);
      if (buffer_.size() > w.ch.tasks.max_record()) {
        Fail(p.index, p.item, p.attempt - 1, 0, "item too long for the task ring", nullptr);
        continue;
      }
      if (!w.ch.tasks.TryWrite(kTaskRecord, buffer_)) {
        retry_.push_front(std::move(p));
        continue;
      }
      ++next_seq_;
      w.inflight.push_back({next_seq_, p.index, p.attempt, std::move(p.item)});
      ++w.outstanding;
      w.unpublished = true;
    }
  }
  bool any = false;
  for (WorkerSlot& w : slots_) {
    if (!w.unpublished) continue;
    w.unpublished = false;
    w.ch.tasks.Publish();
    WakeWorker(w.ch.control);
    any = true;
  }
  return any;
}

bool Master::Drain(WorkerSlot& w) {
  if (w.ch.control == nullptr) return false;  // never started (start-up failed)
  bool any = false;
  uint32_t type = 0;
  std::string_view payload;
  bool corrupt = false;
  ByteRing::ReadStatus st;

  while ((st = w.ch.logs.Read(&type, &payload, &scratch_)) == ByteRing::ReadStatus::kRecord) {
    LogRecord log;
    if (type != kLogRecord || !DecodeLog(payload, &log)) {
      corrupt = true;
      break;
    }
    std::string line = "worker " + std::to_string(w.slot + 1);
    if (log.index != 0) line += " item " + std::to_string(log.index);
    line += ": ";
    line.append(log.text);
    run_.Log(line);
    any = true;
  }
  corrupt |= st == ByteRing::ReadStatus::kCorrupt;
  w.ch.logs.Release();

  for (ByteRing* ring : {&w.ch.results, &w.ch.errors}) {
    while ((st = ring->Read(&type, &payload, &scratch_)) == ByteRing::ReadStatus::kRecord) {
      OutcomeRecord o;
      if (type != kOutcomeRecord || !DecodeOutcome(payload, &o)) {
        corrupt = true;
        break;
      }
      OnOutcome(w, o);
      FaultPoint("master-drain");
      any = true;
    }
    corrupt |= st == ByteRing::ReadStatus::kCorrupt;
    ring->Release();
  }
  if (corrupt && w.running) {
    // Only a worker writing wild into shared memory gets here; it is killed
    // and handled as a dead worker, its items retried.
    run_.Log("worker " + std::to_string(w.slot + 1) + " wrote a malformed record; killing it");
    ::kill(w.pid, SIGKILL);
  }
  if (any) WakeWorker(w.ch.control);  // it may be waiting for room
  return any;
}

bool Master::AnyOutputPending() {
  for (WorkerSlot& w : slots_) {
    if (w.ch.control == nullptr) continue;
    if (w.ch.results.HasData() || w.ch.errors.HasData() || w.ch.logs.HasData()) return true;
  }
  return false;
}

void Master::OnOutcome(WorkerSlot& w, const OutcomeRecord& o) {
  progressed_ = true;  // the loop stamps last_progress_ns_ once per round
  auto it = std::find_if(w.inflight.begin(), w.inflight.end(),
                         [&](const InFlight& f) { return f.seq == o.seq && !f.done; });
  if (it == w.inflight.end()) {
    run_.Log("worker " + std::to_string(w.slot + 1) + " reported an unknown task; ignored");
    return;
  }
  it->done = true;
  --w.outstanding;
  avg_item_ms_ = avg_item_ms_ < 0 ? o.ms : 0.9 * avg_item_ms_ + 0.1 * o.ms;
  if (o.ok) {
    Record(true,
           {it->index, it->item, it->attempt, w.slot + 1, o.ms, o.exit_code, o.signal, o.reason,
            o.output, o.output_file, o.stderr_tail},
           o.ms);
  } else if (forwarded_) {
    // Killed by our own forwarded interrupt: not the item's fault. Left
    // without a record, so resume runs it again.
  } else if (it->attempt <= static_cast<uint32_t>(s_.job.retries) && !stopping_) {
    Retry(it->index, it->attempt, std::move(it->item), o.reason);
  } else {
    Fail(it->index, it->item, it->attempt, w.slot + 1, o.reason, &o);
  }
  while (!w.inflight.empty() && w.inflight.front().done) w.inflight.pop_front();
}

void Master::Fail(uint64_t index, std::string_view item, uint32_t attempts, int worker,
                  std::string_view reason, const OutcomeRecord* o) {
  RunDirectory::Finished f{index, item, attempts, worker, 0, -1, 0, reason, {}, {}, {}};
  if (o != nullptr) {
    f.ms = o->ms;
    f.exit_code = o->exit_code;
    f.signal = o->signal;
    f.output = o->output;
    f.output_file = o->output_file;
    f.stderr_tail = o->stderr_tail;
  }
  Record(false, f, o != nullptr ? o->ms : -1);
}

void Master::Record(bool ok, const RunDirectory::Finished& f, double ms) {
  if (ok) {
    stats_.Succeeded(f.index, f.item, ms);
    window_ ? window_->Success(run_, f) : run_.RecordSuccess(f);
  } else {
    stats_.Failed(f.index, f.item, ms, f.reason);
    window_ ? window_->Failure(run_, f) : run_.RecordFailure(f);
    CheckHalt();
  }
}

// job.retry_delay x 2^(attempt - 2) before attempt 2, 3, ...; capped.
uint64_t BackoffMs(Millis delay, uint32_t next_attempt) {
  if (delay.count() <= 0) return 0;
  uint32_t doublings = std::min<uint32_t>(next_attempt >= 2 ? next_attempt - 2 : 0, 30);
  uint64_t ms = static_cast<uint64_t>(delay.count()) << doublings;
  return std::min(ms, std::max(kMaxRetryDelayMs, static_cast<uint64_t>(delay.count())));
}

void Master::Retry(uint64_t index, uint32_t failed_attempt, std::string item,
                   std::string_view reason) {
  std::string what = "item " + std::to_string(index) + " attempt " +
                     std::to_string(failed_attempt) + " failed (" + std::string(reason) + ")";
  if (halted_) {
    run_.Log(what + "; not retried while halting: no record, resume runs it again");
    return;
  }
  ++stats_.retried;
  uint64_t delay_ms = BackoffMs(s_.job.retry_delay, failed_attempt + 1);
  Pending p{index, failed_attempt + 1, std::move(item)};
  if (delay_ms == 0) {
    run_.Log(what + "; retrying");
    retry_.push_back(std::move(p));
    return;
  }
  run_.Log(what + "; attempt " + std::to_string(failed_attempt + 1) + " in " +
           FormatMillis(static_cast<double>(delay_ms)));
  delayed_.push_back({MonotonicNanos() + delay_ms * 1'000'000ULL, ++delayed_order_, std::move(p)});
  std::push_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
}

void Master::CheckHalt() {
  if (halted_ || stopping_) return;
  const JobSettings& job = s_.job;
  uint64_t failed = stats_.failed, finished = stats_.finished();
  char why[256];
  if (job.max_failures > 0 && failed >= static_cast<uint64_t>(job.max_failures)) {
    std::snprintf(why, sizeof why, "%llu failures reached job.max_failures = %lld",
                  static_cast<unsigned long long>(failed),
                  static_cast<long long>(job.max_failures));
  } else if (job.max_failures_percent > 0 && finished >= kHaltMinSample &&
             static_cast<double>(failed) * 100.0 >=
                 job.max_failures_percent * static_cast<double>(finished)) {
    std::snprintf(
        why, sizeof why, "%llu of %llu finished items failed (%.1f%%), job.max_failures = %g%%",
        static_cast<unsigned long long>(failed), static_cast<unsigned long long>(finished),
        100.0 * static_cast<double>(failed) / static_cast<double>(finished),
        job.max_failures_percent);
  } else {
    return;
  }
  halted_ = true;
  halt_reason_ = why;
  size_t running = 0;
  for (const WorkerSlot& w : slots_) running += w.outstanding;
  run_.Log("halting: " + halt_reason_ + "; no new items, " + std::to_string(running) +
           " fed item(s) finish; 'shoal resume " + run_.path() + "' runs the rest");
  Say("shoal: halting: " + halt_reason_ + "; letting " + std::to_string(running) +
      " fed item(s) finish");
}

void Master::OnWorkerExit(WorkerSlot& w) {
  int status = Supervisor::Reap(w.pid);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w.pidfd.get(), nullptr);
  w.pidfd.Reset();
  w.running = false;
  Drain(w);  // everything it published before it died counts
  bool was_ready = w.ch.control->ready.load(std::memory_order_acquire) != 0;
  uint64_t current = w.ch.control->current_seq.load(std::memory_order_acquire);
  std::string how = DescribeWaitStatus(status);
  bool orderly = stopping_ && w.outstanding == 0 && status == 0;
  if (!orderly) {
    ++worker_deaths_;
    run_.Log("worker " + std::to_string(w.slot + 1) + " (pid " + std::to_string(w.pid) +
             ") died: " + how + ", holding " + std::to_string(w.outstanding) + " item(s)");
  } else {
    run_.Log("worker " + std::to_string(w.slot + 1) + " (pid " + std::to_string(w.pid) +
             ") finished");
  }
  // Its unfinished items: the one it was running used up an attempt; the
  // ones still queued in its ring never started.
  for (InFlight& f : w.inflight) {
    if (f.done) continue;
    if (f.seq == current) {
      if (f.attempt <= static_cast<uint32_t>(s_.job.retries) && !stopping_) {
        Retry(f.index, f.attempt, std::move(f.item),
              f.seq == w.killed_for_timeout ? "timeout" : "worker died: " + how);
      } else if (!stopping_) {
        std::string reason = f.seq == w.killed_for_timeout ? "timeout" : "worker died: " + how;
        Fail(f.index, f.item, f.attempt, w.slot + 1, reason, nullptr);
      }
    } else if (!stopping_) {
      retry_.push_front({f.index, f.attempt, std::move(f.item)});
    }
  }
  w.inflight.clear();
  w.outstanding = 0;
  w.killed_for_timeout = 0;
  if (stopping_) return;

  if (!was_ready && WIFEXITED(status) && WEXITSTATUS(status) == kWorkerStartFailed) {
    // It said why on stderr (bad settings copy, a handler that cannot be
    // built): every replacement would fail the same way.
    fatal_ = true;
    fatal_message_ = "worker " + std::to_string(w.slot + 1) +
                     " could not start (see the message above); nothing more will run";
    BeginStop();
    return;
  }
  // Workers killed while starting are normal under an outside killer (the
  // OOM killer, a chaos test); they are a dead end only while nothing else
  // gets done. So the run stops when starts keep failing and no item has
  // finished for a while.
  start_failures_ = was_ready ? 0 : start_failures_ + 1;
  bool stuck = MonotonicNanos() - last_progress_ns_ > kNoProgressNs;
  if (start_failures_ > std::max(3, 2 * workers_) && stuck) {
    fatal_ = true;
    fatal_message_ = "workers keep dying at start (" + std::to_string(start_failures_) +
                     " in a row, last: " + how + "); see the messages above and log.txt";
    BeginStop();
    return;
  }
  Status st = SpawnInto(w);
  if (!st.ok()) {
    fatal_ = true;
    fatal_message_ = st.message();
    BeginStop();
  }
}

void Master::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  header_->shutdown.store(1, std::memory_order_release);
  for (WorkerSlot& w : slots_) {
    if (!w.running) continue;
    w.ch.control->wake.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&w.ch.control->wake);
  }
  uint64_t wait_ns = stop_signal_ != 0 ? static_cast<uint64_t>(s_.job.grace.count()) * 1000000ULL
                                       : static_cast<uint64_t>(kShutdownWaitMs) * 1000000ULL;
  stop_deadline_ns_ = MonotonicNanos() + wait_ns;
}

void Master::CheckTimeouts() {
  if (s_.job.timeout.count() <= 0) return;
  uint64_t limit = static_cast<uint64_t>(s_.job.timeout.count()) * 1000000ULL;
  if (s_.job.handler == HandlerKind::kCommand) limit += kCommandTimeoutSlackNs;
  uint64_t now = MonotonicNanos();
  for (WorkerSlot& w : slots_) {
    if (!w.running || w.killed_for_timeout != 0) continue;
    uint64_t seq = w.ch.control->current_seq.load(std::memory_order_acquire);
    uint64_t start = w.ch.control->current_start_ns.load(std::memory_order_relaxed);
    if (seq == 0 || start == 0 || now - std::min(now, start) < limit) continue;
    // An in-process handler cannot be interrupted safely: replace the worker.
    run_.Log("worker " + std::to_string(w.slot + 1) +
             " exceeded job.timeout on its item; killing it");
    w.killed_for_timeout = seq;
    int32_t pgid = w.ch.control->child_pgid.load(std::memory_order_relaxed);
    if (pgid > 0) ::kill(-pgid, SIGKILL);
    ::kill(w.pid, SIGKILL);
  }
}

void Master::OnStopDeadline() {
  if (stop_signal_ != 0 && !forwarded_) {
    // The grace is over: pass the interrupt on to the running commands, as
    // a shell would, and give them a moment before the hard kill.
    forwarded_ = true;
    run_.Log("grace over: sending " + std::string(strsignal(stop_signal_)) +
             " to running commands");
    for (WorkerSlot& w : slots_) {
      int32_t pgid = w.running ? w.ch.control->child_pgid.load(std::memory_order_relaxed) : 0;
      if (pgid > 0) ::kill(-pgid, stop_signal_);
    }
    stop_deadline_ns_ = MonotonicNanos() + kKillAfterSignalNs;
    return;
  }
  run_.Log("workers did not stop in time; killing them");
  KillWorkers();
  stop_deadline_ns_ = MonotonicNanos() + static_cast<uint64_t>(kShutdownWaitMs) * 1000000ULL;
}

void Master::KillWorkers() {
  for (WorkerSlot& w : slots_) {
    if (!w.running) continue;
    // The command a worker runs is in its own process group: kill that too,
    // grandchildren included.
    int32_t pgid = w.ch.control->child_pgid.load(std::memory_order_relaxed);
    if (pgid > 0) ::kill(-pgid, SIGKILL);
    ::kill(w.pid, SIGKILL);
  }
}

void Master::OnSignal() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    int sig = static_cast<int>(info.ssi_signo);
    if (stop_signal_ != 0) {
      run_.Log("second signal " + std::to_string(sig) + ": stopping at once");
      forwarded_ = true;
      KillWorkers();
      continue;
    }
    stop_signal_ = sig == SIGINT ? SIGINT : SIGTERM;  // SIGHUP is handled like SIGTERM
    run_.Log(std::string("received ") + strsignal(sig) + ": no new items; running ones get " +
             FormatDuration(s_.job.grace) + " to finish");
    if (!options_.quiet) {
      Say(std::string("shoal: ") + strsignal(sig) + ": finishing running items (up to " +
          FormatDuration(s_.job.grace) + "); again to stop now");
    }
    BeginStop();
  }
}

bool Master::WorkDone() const {
  // Halted: what was fed finishes; retries and the rest of the input wait for resume.
  if (!halted_ && (!source_done_ || !retry_.empty() || !delayed_.empty())) return false;
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const WorkerSlot& w) { return w.outstanding == 0; });
}

bool Master::AllWorkersGone() const {
  return std::none_of(slots_.begin(), slots_.end(), [](const WorkerSlot& w) { return w.running; });
}

int Master::WaitTimeoutMs() const {
  uint64_t now = MonotonicNanos();
  int64_t ms = kFlushEveryMs - static_cast<int64_t>((now - last_flush_ns_) / 1000000);
  if (stopping_) {
    int64_t left = static_cast<int64_t>(stop_deadline_ns_ - std::min(now, stop_deadline_ns_));
    ms = std::min<int64_t>(ms, left / 1000000 + 1);
  }
  if (s_.job.timeout.count() > 0) ms = std::min<int64_t>(ms, kTimeoutCheckMs);
  // The next progress redraw or status line, and the next retry due, if a
  // worker has room for it (else a finishing worker wakes the loop anyway).
  uint64_t due = std::min(progress_ ? progress_->next_due_ns() : UINT64_MAX,
                          next_status_ns_ != 0 ? next_status_ns_ : UINT64_MAX);
  if (!stopping_ && !halted_ && !delayed_.empty() && RoomToFeed()) {
    due = std::min(due, delayed_.front().ready_ns);
  }
  if (due != UINT64_MAX) {
    uint64_t wait_ns = due - std::min(now, due);
    ms = std::min<int64_t>(ms, static_cast<int64_t>((wait_ns + 999'999) / 1'000'000));
  }
  return static_cast<int>(std::clamp<int64_t>(ms, 0, kFlushEveryMs));
}

bool Master::RoomToFeed() const {
  size_t depth = Depth();
  return std::any_of(slots_.begin(), slots_.end(),
                     [&](const WorkerSlot& w) { return w.running && w.outstanding < depth; });
}

ProgressCounts Master::Counts(uint64_t now) const {
  ProgressCounts c;
  uint64_t finished = stats_.finished();
  c.done = prior_ok_ + prior_failed_ + finished;
  c.failed = prior_failed_ + stats_.failed;
  c.seen = source_ ? source_->seen() : 0;
  c.total_known = source_ && source_->done();
  if (!c.total_known && counter_ && counter_->finished()) {
    c.seen = std::max(c.seen, counter_->total());
    c.total_known = true;
  }
  c.rate = rate_.Rate(now, finished);
  c.elapsed_s = static_cast<double>(now - std::min(now, start_ns_)) / 1e9;
  return c;
}

void Master::Tick(uint64_t now) {
  rate_.Add(now, stats_.finished());
  bool status_due = next_status_ns_ != 0 && now >= next_status_ns_;
  if (!status_due && (!progress_ || now < progress_->next_due_ns())) return;
  ProgressCounts c = Counts(now);
  if (progress_) progress_->Tick(now, c);
  if (status_due) {
    run_.Log("status: " + FormatStatusLine(c));
    next_status_ns_ = now + static_cast<uint64_t>(s_.output.status_every.count()) * 1'000'000ULL;
  }
}

void Master::Say(const std::string& message) {
  if (progress_) progress_->Clear();
  std::fprintf(stderr, "%s\n", message.c_str());
}

void Master::MaybeFlush(bool force) {
  uint64_t now = MonotonicNanos();
  size_t buffered = run_.results().pending() + run_.errors().pending() + run_.failed().pending();
  if (!force && now - last_flush_ns_ < kFlushEveryMs * 1000000ULL && buffered < kFlushAtBytes) {
    return;
  }
  last_flush_ns_ = now;
  if (source_) {
    for (const std::string& w : source_->TakeWarnings()) run_.Log("input: " + w);
  }
  Status st = run_.Flush();
  if (!st.ok() && !fatal_) {
    fatal_ = true;
    fatal_message_ = st.message();
    BeginStop();
  }
}

void Master::Loop() {
  epoll_event events[64];
  while (true) {
    bool busy = false;
    for (WorkerSlot& w : slots_) busy |= Drain(w);
    if (!stopping_) {
      busy |= Feed();
      if (fatal_) BeginStop();
    }
    if (!stopping_ && WorkDone()) BeginStop();
    if (stopping_ && AllWorkersGone()) break;
    if (stopping_ && MonotonicNanos() >= stop_deadline_ns_) OnStopDeadline();
    CheckTimeouts();
    uint64_t now = MonotonicNanos();
    if (progressed_) {
      last_progress_ns_ = now;
      progressed_ = false;
    }
    Tick(now);
    MaybeFlush(false);

    int timeout = 0;
    if (!busy) {
      // Idle time goes to counting the input; then sleep, unless a worker
      // published between the drain above and now.
      bool counting = false;
      if (counter_ && counter_->active() && !stopping_ && !halted_) {
        counting = !source_->done() && counter_->Step(kCountSliceNs);
      }
      header_->master_sleeping.store(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      timeout = counting || AnyOutputPending() ? 0 : WaitTimeoutMs();
    }
    int n = ::epoll_wait(epoll_.get(), events, 64, timeout);
    header_->master_sleeping.store(0, std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kTagWake) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
      } else if (tag == kTagInput) {
        input_watched_ = false;  // one-shot: readable now, the next feed reads it
      } else if (tag == kTagSignal) {
        OnSignal();
      } else if (tag < slots_.size() && slots_[tag].running) {
        OnWorkerExit(slots_[tag]);
      }
    }
  }
}

int Master::Summarize() {
  if (window_) window_->ReleaseAll(run_);
  uint64_t now = MonotonicNanos();
  double secs = static_cast<double>(now - start_ns_) / 1e9;
  struct rusage self {
  }, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  RunTotals totals;
  totals.wall_s = secs;
  totals.cpu_master_s = cpu(self);
  totals.cpu_workers_s = cpu(children);
  totals.worker_deaths = worker_deaths_;
  totals.prior = prior_ok_ + prior_failed_;
  ProgressCounts counts = Counts(now);
  totals.not_run = counts.total_known
                       ? static_cast<int64_t>(counts.seen - std::min(counts.seen, counts.done))
                       : -1;
  for (const std::string& line : SummaryLines(stats_, totals)) run_.Log(line);

  uint64_t total = stats_.finished();
  double rate = secs > 0 ? static_cast<double>(total) / secs : 0;
  char line[512];
  std::snprintf(
      line, sizeof line,
      "%llu ok, %llu failed, %llu items in %.2f s (%.0f items/s); %llu retried, "
      "%llu worker deaths; cpu master %.2f s, workers %.2f s",
      static_cast<unsigned long long>(stats_.ok), static_cast<unsigned long long>(stats_.failed),
      static_cast<unsigned long long>(total), secs, rate,
      static_cast<unsigned long long>(stats_.retried),
      static_cast<unsigned long long>(worker_deaths_), totals.cpu_master_s, totals.cpu_workers_s);
  int code = kExitOk;
  std::string resume_hint = "'shoal resume " + run_.path() + "' finishes the run";
  if (fatal_) {
    run_.Log("run failed: " + fatal_message_);
    code = kExitInternal;
  } else if (stop_signal_ != 0) {
    run_.Log("interrupted; " + resume_hint);
    code = 128 + stop_signal_;
  } else if (stats_.failed + prior_failed_ > 0) {
    code = kExitItemsFailed;
  }
  if (halted_) run_.Log("halted: " + halt_reason_ + "; " + resume_hint);
  run_.Log("run ended, exit status " + std::to_string(code));
  MaybeFlush(true);
  if (progress_) progress_->Clear();
  if (fatal_) std::fprintf(stderr, "shoal: %s\n", fatal_message_.c_str());
  if (halted_) {
    std::string not_run = totals.not_run >= 0 ? std::to_string(totals.not_run) + " items not run"
                                              : "the rest of the input not run";
    std::fprintf(stderr, "shoal: halted: %s; %s; %s\n", halt_reason_.c_str(), not_run.c_str(),
                 resume_hint.c_str());
  }
  if (!options_.quiet || code != kExitOk) {
    std::fprintf(stderr, "shoal: %s\nshoal: run directory: %s\n", line, run_.path().c_str());
  }
  return code;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "?";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

int Master::Run() {
  start_ns_ = MonotonicNanos();
  last_flush_ns_ = start_ns_;
  last_progress_ns_ = start_ns_;
  Status st = Prepare();
  if (!st.ok()) {
    std::fprintf(stderr, "shoal: %s\n", st.message().c_str());
    return kExitUsage;
  }
  if (options_.verbose > 0 && !options_.quiet) run_.EchoLogTo(2);
  if (options_.resume) {
    run_.Log("run resumed: " + std::to_string(prior_ok_ + prior_failed_) +
             " items already recorded (" + std::to_string(prior_failed_) + " failed), " +
             std::to_string(options_.resume->torn) + " torn line(s) cut");
  }
  run_.Log(std::string("run started: shoal ") + kShoalVersion + ", settings sha256 " +
           Sha256Hex(settings_toml_) + ", " + std::to_string(workers_) + " workers, input " +
           s_.input.path +
           (options_.items_file.empty() ? "" : ", items from " + options_.items_file));
  ProgressMode mode = ChooseProgressMode(options_.progress, options_.quiet, ::isatty(2) != 0);
  // -v echoes log.txt to stderr; a live line would be torn by it, so the
  // plain status lines stand in (unless --progress insists).
  if (options_.verbose > 0 && mode == ProgressMode::kLive && options_.progress != 1) {
    mode = ProgressMode::kLines;
  }
  uint64_t every_ns =
      static_cast<uint64_t>(std::max<int64_t>(s_.output.status_every.count(), 0)) * 1'000'000ULL;
  progress_ = std::make_unique<ProgressDisplay>(mode, 2, every_ns, start_ns_);
  rate_ = RateMeter(start_ns_);
  next_status_ns_ = every_ns > 0 ? start_ns_ + every_ns : 0;
  st = StartWorkers();
  if (!st.ok()) {
    fatal_ = true;
    fatal_message_ = st.message();
    if (header_ != nullptr) {
      BeginStop();
      Loop();
    }
    return Summarize();
  }
  Loop();
  return Summarize();
}

}  // namespace

Result<JobInput> OpenJobInput(const Settings& s, const RunOptions& options) {
  JobInput input;
  auto kind = ResolveInputKind(s.input);
  if (!kind.ok()) return kind.status();
  input.kind = *kind;
  if (s.job.handler == HandlerKind::kPlugin) {
    Status st = CheckPluginLibrary(s.plugin.library);
    if (!st.ok()) return st;
  }
  if (s.job.handler == HandlerKind::kCommand) {
    for (const std::string& a : s.command.argv) {
      Status st = ValidateTemplate(a);
      if (!st.ok()) return Status::Error("command.argv: " + st.message());
    }
  }
  input.items = options.items_file.empty() ? s.input.items : options.items_file;
  if (!input.items.empty() && input.items != "-") {
    input.items = std::filesystem::absolute(input.items).lexically_normal();
  }
  auto source = OpenItemSource(s, input.items);
  if (!source.ok()) return source.status();
  input.source = std::move(*source);
  return input;
}

int RunJob(const Settings& settings, const RunOptions& options) {
  if (options.dry_run) return DryRun(settings, options);
  Master master(settings, options);
  return master.Run();
}

}  // namespace shoal
