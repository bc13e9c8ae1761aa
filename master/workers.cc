// Worker processes: starting them, their deaths, timeouts, signals, stopping.
#include "master/master_loop.h"
#include "master/process_group.h"

namespace shoal::master_detail {

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
    SignalChildGroup(w.pid, pgid, SIGKILL);  // checked: the worker wrote pgid
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
      SignalChildGroup(w.pid, pgid, stop_signal_);
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
    SignalChildGroup(w.pid, pgid, SIGKILL);  // checked: the worker wrote pgid
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

}  // namespace shoal::master_detail
