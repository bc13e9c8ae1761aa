// The seam between the scheduler, which decides, and whatever runs its
// tasks (ninja's Plan over a CommandRunner). The scheduler talks to a
// WorkerPool; the pool's owner reports back what happened as values
// (outcomes, log lines, a worker's exit), through WorkerEvents and the
// scheduler's own methods.
//
// Implementations: ProcessPool (worker processes over shared-memory rings,
// master/process_pool.h), DryRunPool (prints each task, master/dry_run.cc)
// and the fake of master/scheduler_test.cc.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "common/wire.h"

namespace shoal {

enum class OfferResult {
  kQueued,   // in the worker's queue; visible to it after Publish
  kFull,     // no room now: offer it again later
  kTooLong,  // can never fit: the item fails
};

// What a worker last reported of itself.
struct WorkerState {
  bool ready = false;     // it finished starting up (a plugin's init included)
  uint64_t seq = 0;       // the task it is running now; 0 = none
  uint64_t start_ns = 0;  // when it started that task, on the scheduler's clock
};

// How a worker ended.
struct WorkerExit {
  int wait_status = 0;       // as from waitpid
  bool was_ready = false;    // it had finished starting up
  uint64_t current_seq = 0;  // the task it was running then; 0 = none
  // A worker running several items at once: the last task it took (every
  // unfinished one up to it had started). 0 = one item at a time.
  uint64_t taken_seq = 0;
};

class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  // Starts the worker of `slot` (again, after a death); returns its pid.
  // The slot's queue starts empty.
  virtual Result<int> Start(int slot) = 0;
  virtual OfferResult Offer(int slot, const TaskRecord& task) = 0;
  // Makes what was offered to `slot` visible to its worker and wakes it.
  virtual void Publish(int slot) = 0;
  virtual WorkerState State(int slot) const = 0;
  // SIGKILL for the worker of `slot` and the command it runs; its exit is
  // reported later, like any other.
  virtual void Kill(int slot) = 0;
  // A signal for the command the worker of `slot` runs (its process group),
  // not for the worker.
  virtual void SignalCommand(int slot, int sig) = 0;
  // Every worker: take nothing more, exit once idle.
  virtual void Shutdown() = 0;
};

// What a pool delivers from its workers, in the order they published it.
class WorkerEvents {
 public:
  virtual ~WorkerEvents() = default;
  virtual void OnOutcome(int slot, const OutcomeRecord& outcome) = 0;
  virtual void OnLog(int slot, const LogRecord& log) = 0;
  // What a running item printed (output.print = "line"/"ungroup").
  virtual void OnOutput(int slot, const OutputRecord& output) = 0;
  // A record that does not decode: only a worker writing wild into shared
  // memory gets here.
  virtual void OnMalformed(int slot) = 0;
};

}  // namespace shoal
