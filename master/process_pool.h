// The real WorkerPool: shoal-worker processes over one shared segment
// (common/channel.h), one task ring and three outgoing rings per slot.
//
// Passive, like the Supervisor it uses: it starts and signals processes,
// writes task rings and reads outgoing ones, and registers in the master's
// epoll set the fds that say something happened (the wake eventfd, tag
// kWakeTag; one pidfd per worker, tagged with its slot number). The master's
// loop waits, then calls Drain, RoundDue or Reap and hands the results to
// the scheduler.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/channel.h"
#include "common/fd.h"
#include "common/shm_segment.h"
#include "master/supervisor.h"
#include "master/worker_pool.h"

namespace shoal {

class ProcessPool final : public WorkerPool {
 public:
  // Tags in the epoll set: pidfds carry their slot number; these are above any slot.
  static constexpr uint64_t kWakeTag = 1ULL << 40;
  static constexpr uint64_t kFirstFreeTag = kWakeTag + 1;

  // Makes the segment for `workers` slots (owner-only, its memory reserved
  // so that a shortage fails here), after removing stale ones. The master
  // makes it before the run directory: a run that cannot have it leaves nothing.
  static Result<std::unique_ptr<SharedSegment>> CreateSegment(int workers);
  // Formats `segment` (from CreateSegment with the same `workers`) and makes
  // the wake eventfd; starts nothing. Workers will check that the run's
  // settings.toml has `settings_digest` (see job/settings_digest.h).
  static Result<std::unique_ptr<ProcessPool>> Create(std::unique_ptr<SharedSegment> segment,
                                                     int workers, int epoll_fd,
                                                     const std::string& run_dir,
                                                     const std::string& settings_digest);
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // Workers started from now on run in `host` (Supervisor::set_host).
  void HostWorkers(std::vector<std::string> host) { supervisor_.set_host(std::move(host)); }

  Result<int> Start(int slot) override;
  OfferResult Offer(int slot, const TaskRecord& task) override;
  void Publish(int slot) override;
  WorkerState State(int slot) const override;
  void Kill(int slot) override;
  void SignalCommand(int slot, int sig) override;
  void Shutdown() override;

  // Delivers what the worker of `slot` published (logs first, then
  // outcomes); a record that does not decode is reported as malformed and
  // ends the drain. True if anything was delivered.
  bool Drain(int slot, WorkerEvents& events);
  // Whether a drain round is worth its cost now (see process_pool.cc).
  bool RoundDue(bool feeding_over);
  // The worker of `slot` has exited (its pidfd is readable): reaps it,
  // delivers what it published, and says how it ended.
  WorkerExit Reap(int slot, WorkerEvents& events);
  // Clears the wake eventfd after epoll reported it.
  void ClearWake();
  // Around the master's epoll_wait: while set, a worker that publishes
  // writes the wake eventfd.
  void SetMasterSleeping(bool sleeping);

 private:
  struct Proc {
    pid_t pid = 0;
    UniqueFd pidfd;
    Channel ch;
    uint64_t fed_backlog = 0;  // its task-ring backlog (bytes) after the last publish
  };
  ProcessPool(int epoll_fd, std::unique_ptr<SharedSegment> segment, SegmentHeader* header,
              UniqueFd wake, const std::string& run_dir, const std::string& settings_digest,
              int workers);
  // Reads the outgoing rings of `slot` into `events`; false on a malformed
  // record (then the rest is not read).
  bool ReadRings(int slot, WorkerEvents& events, bool* any, bool* freed);
  // The logs ring of `slot`: log lines and the pieces of output forwarded.
  bool ReadLogs(int slot, WorkerEvents& events, bool* any);
  // Signals the process group of the command the worker runs, as the
  // worker published it in shared memory (so checked before use).
  void SignalCommandGroup(const Proc& p, int sig) const;

  int epoll_fd_;
  std::unique_ptr<SharedSegment> segment_;
  SegmentHeader* header_;
  UniqueFd wake_;
  Supervisor supervisor_;
  std::vector<Proc> procs_;
  bool takes_all_ = false;  // as last stored in the header's takes_all
  std::string buffer_, scratch_;
  std::string log_scratch_;  // ReadLogs reads while an outcome's payload is in scratch_
};

}  // namespace shoal
