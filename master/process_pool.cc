#include "master/process_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "common/fault.h"
#include "common/wire.h"
#include "master/process_group.h"

namespace shoal {

Result<std::unique_ptr<SharedSegment>> ProcessPool::CreateSegment(int workers) {
  RemoveStaleSegments();
  const auto slots = static_cast<uint32_t>(workers);
  return SharedSegment::Create(SegmentLayout::BytesFor(slots, RingSizesFor(slots)));
}

Result<std::unique_ptr<ProcessPool>> ProcessPool::Create(std::unique_ptr<SharedSegment> segment,
                                                         int workers, int epoll_fd,
                                                         const std::string& run_dir,
                                                         const std::string& settings_digest) {
  SegmentHeader* header = SegmentLayout::Init(
      segment->data(), segment->size(), static_cast<uint32_t>(workers),
      RingSizesFor(static_cast<uint32_t>(workers)), static_cast<uint64_t>(::getpid()));
  // Above fd 3 so that the dup2 to fd 3 in each worker is a real copy.
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return Status::FromErrno("eventfd", errno);
  UniqueFd wake(::fcntl(efd, F_DUPFD_CLOEXEC, 10));
  ::close(efd);
  if (!wake.valid()) return Status::FromErrno("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
    return Status::FromErrno("epoll_ctl", errno);
  }
  return std::unique_ptr<ProcessPool>(new ProcessPool(
      epoll_fd, std::move(segment), header, std::move(wake), run_dir, settings_digest, workers));
}

ProcessPool::ProcessPool(int epoll_fd, std::unique_ptr<SharedSegment> segment,
                         SegmentHeader* header, UniqueFd wake, const std::string& run_dir,
                         const std::string& settings_digest, int workers)
    : epoll_fd_(epoll_fd),
      segment_(std::move(segment)),
      header_(header),
      wake_(std::move(wake)),
      supervisor_(Supervisor::DefaultWorkerExe(), segment_->name(), run_dir, wake_.get(),
                  settings_digest),
      procs_(static_cast<size_t>(workers)) {}

Result<int> ProcessPool::Start(int slot) {
  Proc& p = procs_[slot];
  SegmentLayout::ResetSlot(header_, static_cast<uint32_t>(slot));
  p.ch = SegmentLayout::ChannelOf(header_, static_cast<uint32_t>(slot));
  p.fed_backlog = 0;
  auto proc = supervisor_.Start(slot);
  if (!proc.ok()) return proc.status();
  p.pid = proc->pid;
  p.pidfd = std::move(proc->pidfd);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(slot);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.pidfd.get(), &ev);
  return static_cast<int>(p.pid);
}

OfferResult ProcessPool::Offer(int slot, const TaskRecord& task) {
  Proc& p = procs_[slot];
  EncodeTask(task, &buffer_);
  if (buffer_.size() > p.ch.tasks.max_record()) return OfferResult::kTooLong;
  return p.ch.tasks.TryWrite(kTaskRecord, buffer_) ? OfferResult::kQueued : OfferResult::kFull;
}

void ProcessPool::Publish(int slot) {
  Proc& p = procs_[slot];
  p.ch.tasks.Publish();
  p.fed_backlog = p.ch.tasks.Backlog();
  WakeWorker(p.ch.control);
}

WorkerState ProcessPool::State(int slot) const {
  const Proc& p = procs_[slot];
  if (p.ch.control == nullptr) return {};
  WorkerState t;
  t.ready = p.ch.control->ready.load(std::memory_order_acquire) != 0;
  t.seq = p.ch.control->current_seq.load(std::memory_order_acquire);
  t.start_ns = p.ch.control->current_start_ns.load(std::memory_order_relaxed);
  return t;
}

void ProcessPool::SignalCommandGroup(const Proc& p, int sig) const {
  if (p.ch.control == nullptr || p.pid <= 0) return;
  SignalChildGroup(p.pid, p.ch.control->child_pgid.load(std::memory_order_relaxed), sig);
}

void ProcessPool::Kill(int slot) {
  Proc& p = procs_[slot];
  if (p.pid <= 0) return;  // reaped: its pid may belong to someone else now
  // The command a worker runs is in its own process group: kill that too,
  // grandchildren included.
  SignalCommandGroup(p, SIGKILL);
  ::kill(p.pid, SIGKILL);
}

void ProcessPool::SignalCommand(int slot, int sig) {
  if (procs_[slot].pid > 0) SignalCommandGroup(procs_[slot], sig);
}

void ProcessPool::Shutdown() {
  header_->shutdown.store(1, std::memory_order_release);
  for (Proc& p : procs_) {
    if (p.pid <= 0) continue;
    p.ch.control->wake.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&p.ch.control->wake);
  }
}

bool ProcessPool::ReadLogs(int slot, WorkerEvents& events, bool* any) {
  ByteRing& logs = procs_[slot].ch.logs;
  uint32_t type = 0;
  std::string_view payload;
  ByteRing::ReadStatus st;
  while ((st = logs.Read(&type, &payload, &log_scratch_)) == ByteRing::ReadStatus::kRecord) {
    LogRecord log;
    OutputRecord output;
    if (type == kOutputRecord && DecodeOutput(payload, &output)) {
      events.OnOutput(slot, output);
    } else if (type == kLogRecord && DecodeLog(payload, &log)) {
      events.OnLog(slot, log);
    } else {
      return false;
    }
    *any = true;
  }
  return st != ByteRing::ReadStatus::kCorrupt;
}

bool ProcessPool::ReadRings(int slot, WorkerEvents& events, bool* any, bool* freed) {
  Proc& p = procs_[slot];
  uint32_t type = 0;
  std::string_view payload;
  bool corrupt = !ReadLogs(slot, events, any);

  for (ByteRing* ring : {&p.ch.results, &p.ch.errors}) {
    ByteRing::ReadStatus st = ByteRing::ReadStatus::kEmpty;
    while ((st = ring->Read(&type, &payload, &scratch_)) == ByteRing::ReadStatus::kRecord) {
      OutcomeRecord o;
      if (type != kOutcomeRecord || !DecodeOutcome(payload, &o)) {
        corrupt = true;
        break;
      }
      // The worker published the item's pieces of output before its outcome,
      // and this read of the outcome makes them visible: taken first, they
      // come before the item's records (output.order = "input" prints an
      // item's pieces no more once its records are written).
      corrupt |= !ReadLogs(slot, events, any);
      events.OnOutcome(slot, o);
      FaultPoint("master-drain");
      *any = true;
    }
    corrupt |= st == ByteRing::ReadStatus::kCorrupt;
    *freed |= ring->Release();
  }
  *freed |= p.ch.logs.Release();
  return !corrupt;
}

bool ProcessPool::Drain(int slot, WorkerEvents& events) {
  Proc& p = procs_[slot];
  if (p.ch.control == nullptr) return false;  // never started (start-up failed)
  bool any = false;
  bool freed = false;
  if (!ReadRings(slot, events, &any, &freed) && p.pid > 0) events.OnMalformed(slot);
  // Room matters only to a worker that waits for it, also when only pieces
  // of a record were taken: one asleep for tasks would wake for nothing (a
  // futex call here, a context switch and a wake of the master there), once
  // per round while the master is the bottleneck. The fence orders the
  // drain's head stores before the load of needs_room, the mirror of the
  // worker's "needs_room, fence, re-check the room" (worker_loop.cc).
  if (freed) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (p.ch.control->needs_room.load(std::memory_order_relaxed) != 0) WakeWorker(p.ch.control);
  }
  return any;
}

WorkerExit ProcessPool::Reap(int slot, WorkerEvents& events) {
  Proc& p = procs_[slot];
  WorkerExit exit;
  exit.wait_status = Supervisor::Reap(p.pid);
  p.pid = 0;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, p.pidfd.get(), nullptr);
  p.pidfd.Reset();
  Drain(slot, events);  // everything it published before it died counts
  exit.was_ready = p.ch.control->ready.load(std::memory_order_acquire) != 0;
  exit.current_seq = p.ch.control->current_seq.load(std::memory_order_acquire);
  exit.taken_seq = p.ch.control->taken_seq.load(std::memory_order_acquire);
  return exit;
}

// Rounds are what the master pays for, more than items: each one reads and
// writes every ring's shared head and tail, checks who sleeps and polls its
// events. A round is due when a worker has taken half of what it was given
// (it says so, see the worker's AskForMoreEarly), when a ring it writes to is
// half full or lacks room for a record, or when nothing is left to feed; not
// for every few outcomes.
bool ProcessPool::RoundDue(bool feeding_over) {
  // Workers read it to tell whether a wake-up for their outcomes is worth it.
  if (feeding_over != takes_all_) {
    takes_all_ = feeding_over;
    header_->takes_all.store(feeding_over ? 1 : 0, std::memory_order_seq_cst);
  }
  bool pending = false;
  for (Proc& p : procs_) {
    if (p.ch.control == nullptr) continue;
    if (p.ch.results.HasData() || p.ch.errors.HasData() || p.ch.logs.HasData()) {
      pending = true;
      break;
    }
  }
  if (!pending) return false;  // a round would find nothing to take
  if (feeding_over) return true;
  for (Proc& p : procs_) {
    if (p.ch.control == nullptr) continue;
    if (p.pid > 0 && p.ch.tasks.Backlog() * 2 <= p.fed_backlog) return true;
    if (p.ch.control->needs_room.load(std::memory_order_acquire) != 0) return true;
    for (ByteRing* ring : {&p.ch.results, &p.ch.errors, &p.ch.logs}) {
      if (ring->UsedBytes() * 2 >= ring->capacity()) return true;
    }
  }
  return false;
}

void ProcessPool::ClearWake() {
  uint64_t count;
  [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
}

void ProcessPool::SetMasterSleeping(bool sleeping) {
  if (sleeping) {
    header_->master_sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  } else {
    header_->master_sleeping.store(0, std::memory_order_relaxed);
  }
}

}  // namespace shoal
