#include "master/master.h"

#include "master/master_loop.h"
#include "master/read_ahead.h"
#include "worker/command_handler.h"

namespace shoal {
namespace master_detail {

namespace {

int OnlineCores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
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

}  // namespace

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
    if (RoundDue()) {
      for (WorkerSlot& w : slots_) busy |= Drain(w);
    }
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
      const bool count_now = kind_ != InputKind::kTree || now - start_ns_ >= kCountTreeAfterNs;
      if (counter_ && counter_->active() && count_now && !stopping_ && !halted_) {
        // Workers come first: a round that falls due ends the slice.
        counting = !source_->done() && counter_->Step(kCountSliceNs, [this] { return RoundDue(); });
      }
      header_->master_sleeping.store(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      timeout = counting || RoundDue() ? 0 : WaitTimeoutMs();
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
  // After the flush: run.json never says ended before the records are written.
  state_.End(code, prior_ok_ + stats_.ok, prior_failed_ + stats_.failed);
  if (Status st = WriteRunState(run_.path(), state_); !st.ok()) {
    std::fprintf(stderr, "shoal: %s\n", st.message().c_str());
    code = kExitInternal;
  }
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
  state_ = RunState::Start(settings_toml_, workers_, prior_ok_, prior_failed_);
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
  rate_ = RateMeter(start_ns_);
  next_status_ns_ = every_ns > 0 ? start_ns_ + every_ns : 0;
  if (st.ok()) st = StartWorkers();
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

}  // namespace master_detail

using master_detail::Master;

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
    // What every worker will compile, checked once before anything runs.
    Result<ArgvBuilder> argv = ArgvBuilder::Compile(s.command);
    if (!argv.ok()) return Status::Error("command.argv: " + argv.status().message());
  }
  input.items = options.items_file.empty() ? s.input.items : options.items_file;
  if (!input.items.empty() && input.items != "-") {
    input.items = std::filesystem::absolute(input.items).lexically_normal();
  }
  auto source = OpenItemSource(s, input.items);
  if (!source.ok()) return source.status();
  input.source = std::move(*source);
  if (input.kind == InputKind::kTree && input.items.empty()) {
    // A walk is mostly getdents64 and sorting: on a thread of its own it
    // overlaps dispatch rather than adding to it.
    auto ahead = ReadAhead::Start(std::move(input.source));
    if (!ahead.ok()) return ahead.status();
    input.source = std::move(*ahead);
  }
  return input;
}

int RunJob(const Settings& settings, const RunOptions& options) {
  if (options.dry_run) return DryRun(settings, options);
  Master master(settings, options);
  return master.Run();
}

}  // namespace shoal
