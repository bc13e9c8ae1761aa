// The scheduler: where every item of a run is, and what happens to it next.
//
// An item read from the input is pending, then queued to a worker slot
// (offered to its pool queue), running, and finally recorded as succeeded or
// failed; a failed attempt may instead wait out a backoff and become pending
// again. The scheduler owns all of that state and makes every decision about
// it: how deep each worker's queue is, which item goes where, retries and
// their backoff, pacing (job.rate, job.delay, job.memfree, job.load),
// halting (job.halt, job.max_failures), what a dead worker's items become,
// timeouts, and the interrupt with its grace period.
//
// It never touches the OS. Work goes out through a WorkerPool, records and
// messages through a RunRecorder, time comes from a Clock, free memory and
// the load average from HostGauges; its owner (the
// master's event loop, or the dry run) feeds it what happened. So the whole
// policy is unit-tested with a fake pool and a fake clock
// (master/scheduler_test.cc), without a process or a sleep.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/halt.h"
#include "config/settings.h"
#include "master/clock.h"
#include "master/host_gauges.h"
#include "master/item_source.h"
#include "master/run_dir.h"
#include "master/run_stats.h"
#include "master/worker_pool.h"

namespace shoal {

class DoneSet;

// Where the scheduler's records and messages go.
class RunRecorder {
 public:
  virtual ~RunRecorder() = default;
  virtual void Succeeded(const RunDirectory::Finished& f) = 0;
  virtual void Failed(const RunDirectory::Finished& f) = 0;
  // A line for log.txt.
  virtual void Log(std::string_view line) = 0;
  // What item `index` printed while it runs (output.print = "line"/"ungroup");
  // `line_tag` as RunDirectory::Finished's.
  virtual void Printed(uint64_t index, std::string_view item, int worker, OutputStream stream,
                       std::string_view bytes, std::optional<std::string_view> line_tag) {
    (void)index, (void)item, (void)worker, (void)stream, (void)bytes, (void)line_tag;
  }
  // A message for the person at the terminal (stderr); Notice is one that
  // -q silences.
  virtual void Say(const std::string& message) = 0;
  virtual void Notice(const std::string& message) { Say(message); }
  // output.order = "input": item `index` was read, its records wait their
  // turn; while Full(), no more items are read.
  virtual void Opened(uint64_t index) { (void)index; }
  virtual bool Full() const { return false; }
};

// Tuning that is not a setting; the defaults are what runs use, tests may
// shrink them.
struct SchedulerLimits {
  // Adaptive depth: keep about this much work queued per worker. A worker
  // asks for more at half of it, so this sets the master's rounds per item:
  // 5 ms gave the http run (20,000 ids) ~750 master wake-ups, 20 ms ~360,
  // and the master 21 % less CPU (bench/README.md). At the end of the input
  // one worker may still hold up to this much work while another idles.
  double queued_work_ms = 20.0;
  // A command handler enforces job.timeout itself (it kills the process
  // group); the scheduler steps in only if the worker does not deliver by
  // this much later.
  uint64_t command_timeout_slack_ns = 5'000'000'000ULL;
  // With a timeout set, running items are looked at at least this often.
  uint64_t timeout_check_ns = 50'000'000ULL;
  // Failing worker starts stop the run only after this long without progress.
  uint64_t no_progress_ns = 2'000'000'000ULL;
  // After the interrupt is forwarded to running commands, the hard kill follows.
  uint64_t kill_after_signal_ns = 2'000'000'000ULL;
  // Workers get this long to exit after they are asked to.
  uint64_t shutdown_wait_ns = 5'000'000'000ULL;
  // A halt on a percentage (job.halt fail=N% or success=N%, job.max_failures
  // = "N%") is judged only once this many items finished.
  uint64_t halt_min_sample = 20;
  // job.memfree and job.load: free memory and the load average are read
  // at most this often, and looked at again this long after they held
  // new items back.
  uint64_t host_check_ns = 250'000'000ULL;
  // Retries waiting out their delay, at most this many (then no new items
  // are read until some are fed again): memory stays bounded even when
  // every item fails.
  size_t min_delayed_cap = 1024;
  // job.rate: a master that wakes this late for a turn may still take the
  // turns it missed (its epoll sleeps in whole milliseconds, and a loaded
  // machine wakes it later); older turns are lost rather than sent in a burst.
  uint64_t rate_catch_up_ns = 5'000'000ULL;
};

class Scheduler final : public WorkerEvents {
 public:
  // `workers` is resolved (>= 1). `done`: items that already have a record
  // (resume), skipped as they are read; may be null. `host`: for job.memfree
  // and job.load; null = those are not enforced (the dry run). All
  // references must outlive the scheduler.
  Scheduler(const Settings& settings, int workers, ItemSource& source, const DoneSet* done,
            WorkerPool& pool, RunRecorder& records, const Clock& clock, SchedulerLimits limits = {},
            const HostGauges* host = nullptr);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts every worker slot. A failure is returned and also ends the run
  // (fatal); the owner then still drives it to Finished().
  Status StartWorkers();

  // Offers items to the workers with room, level by level (command.batch:
  // a line's items at a time, see FeedLines); true if any worker got a
  // task. Reads the input only as far as queues have room.
  bool Feed();
  // Whether Feed() may also run between the drains of one round: not when
  // it makes command lines of many items, whose split over the workers
  // counts what every worker still holds (FeedLines).
  bool FeedsBetweenDrains() const;

  // What the pool delivered.
  void OnOutcome(int slot, const OutcomeRecord& outcome) override;
  void OnLog(int slot, const LogRecord& log) override;
  void OnOutput(int slot, const OutputRecord& output) override;
  // The worker is killed, its items retried.
  void OnMalformed(int slot) override;
  // The worker of `slot` ended (reaped, everything it published delivered).
  void OnWorkerExit(int slot, const WorkerExit& exit);
  // SIGINT / SIGTERM / SIGHUP.
  void OnSignal(int sig);
  // Timeouts, liveness and the stop deadline: call when NextDeadlineNs()
  // has passed, and at least every second or so (liveness has no deadline
  // of its own); calling more often is harmless.
  void Tick();
  // Something outside the scheduler ends the run (a record file cannot be
  // written, the input failed).
  void Fatal(const std::string& message);
  // Once per round of the owner's loop: items finished since the last call
  // count as progress at this time (one clock read per round, not per item).
  void EndRound();

  // Everything fed has finished and nothing is left to feed.
  bool WorkDone() const;
  // No new tasks; workers are asked to exit, and killed if they have not
  // within wait_ns (by default: the grace after a signal, else
  // SchedulerLimits::shutdown_wait_ns). Idempotent.
  void BeginStop(uint64_t wait_ns = 0);
  bool stopping() const { return stopping_; }
  // Stopping and every worker has exited: the run is over.
  bool Finished() const { return stopping_ && AllWorkersGone(); }
  // When Tick or Feed next has something to do that no event will announce
  // (a timeout check, the stop deadline, a retry's backoff ending); UINT64_MAX
  // if nothing.
  uint64_t NextDeadlineNs() const;
  // No more items will be offered, ever (stopping, halted, or input exhausted
  // with no retries left).
  bool FeedingOver() const;
  // The last Feed stopped because the input would wait for its writer: watch
  // its fd, Feed again once readable.
  bool input_would_block() const { return input_would_block_; }

  const RunStats& stats() const { return stats_; }
  uint64_t worker_deaths() const { return worker_deaths_; }
  bool halted() const { return halted_; }
  // Halted with job.halt "now": the running items were killed.
  bool halted_now() const { return halt_now_; }
  const std::string& halt_reason() const { return halt_reason_; }
  int stop_signal() const { return stop_signal_; }
  bool fatal() const { return fatal_; }
  const std::string& fatal_message() const { return fatal_message_; }
  bool input_done() const { return source_done_; }
  bool running(int slot) const { return slots_[slot].running; }
  size_t slots() const { return slots_.size(); }
  // Items queued to or running on a worker.
  size_t in_flight() const;
  // Items per worker queue that Feed aims for (adaptive unless queue.batch).
  size_t Depth() const;
  // Per worker slot, the share of the time since the last call (or since
  // the scheduler was made) it spent running an item, 0..1: for the
  // timeline. Finished attempts count with their worker's own start and
  // duration, a running one up to `now_ns`.
  std::vector<double> TakeBusyShares(uint64_t now_ns);

 private:
  struct Pending {
    uint64_t index;
    uint32_t attempt;
    std::string item;
    std::vector<AttemptRecord> history;  // its failed attempts (retries only)
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
    uint64_t fed_ns = 0;  // when it was handed out
    std::vector<AttemptRecord> history;
  };
  struct Slot {
    int pid = 0;
    bool running = false;
    bool unpublished = false;         // offered tasks not yet published
    std::deque<InFlight> inflight;    // in task order; done ones popped from the front
    size_t outstanding = 0;           // entries not done
    uint64_t killed_for_timeout = 0;  // seq of the task it was killed for
    bool killed_as_stuck = false;     // killed for missing job.worker_timeout
    // Liveness: when it was started, and when it last showed that it works
    // (took a task, finished one, or was given work while idle).
    uint64_t started_ns = 0;
    uint64_t active_ns = 0;
    uint64_t seen_seq = 0;       // the task it was running when last looked at
    uint64_t outcomes = 0;       // outcomes it delivered
    uint64_t seen_outcomes = 0;  // ... as counted when last looked at
    uint64_t busy_ns = 0;        // running items since busy_mark_ns_ (TakeBusyShares)
  };

  Status StartSlot(int slot);
  bool NextPending(Pending* p);
  // One item at a time, level by level over the workers: the first items
  // and slow ones spread over every worker.
  void FeedLevels(uint64_t now, size_t depth);
  // command.batch: runs of consecutive items, each a worker's next lines.
  void FeedLines(uint64_t now, size_t depth);
  // Up to n pending items into run_ (cleared first), in input order; a
  // retry only alone, as the worker runs it (a line of its own).
  void TakeRun(size_t n);
  // Hands run_[from, to) to `slot`; on a full ring the rest of run_ goes
  // back to be fed first. How many were handed (or failed as too long).
  size_t HandRun(size_t slot, size_t from, size_t to, uint64_t now);
  // Queues p to `slot`; false (and p untouched) if its ring is full.
  bool Hand(size_t slot, Pending& p, uint64_t now);
  bool CanReadInput() const;
  // Depth() for one worker: less while a paced worker is still starting.
  size_t SlotDepth(size_t slot, size_t depth) const;
  bool RoomToFeed() const;
  bool AllWorkersGone() const;
  // `start_ns`: when the failed attempt started (0 = now); `history`: the
  // item's earlier attempts.
  void Fail(uint64_t index, std::string_view item, uint32_t attempts, int worker,
            std::string_view reason, const OutcomeRecord* o, uint64_t start_ns = 0,
            std::span<const AttemptRecord> history = {});
  void Record(bool ok, const RunDirectory::Finished& f, double ms);
  // Another attempt after a failed one, once its backoff has passed; none
  // while halting (the item is left for resume).
  // Not sooner than at_least_ms (a service's Retry-After).
  // `f` is the failed attempt, `failed` what the item's record will say of it.
  void Retry(InFlight& f, AttemptRecord failed, uint32_t at_least_ms = 0);
  // An attempt's start as the records say it: the worker's stamp when there
  // is one, else when the master handed it out.
  int64_t StartMs(const OutcomeRecord* o, uint64_t fed_ns) const;
  uint64_t BackoffMs(uint32_t next_attempt) const;
  void CheckHalt();
  void CheckTimeouts(uint64_t now);
  // Kills workers that missed job.worker_timeout: not ready in time, or
  // holding queued tasks without taking any.
  void CheckLiveness(uint64_t now);
  // Failed attempts waiting for their next one also count against a halt
  // on failures: no new item is read while they could reach it.
  bool FailuresCouldHalt() const;
  // Whether the halt rule is met now; *why says how.
  bool HaltDue(std::string* why) const;
  // job.memfree and job.load: whether the host has room for new items at
  // `now` (read again once host_check_ns has passed since the last look).
  bool HostAllows(uint64_t now);
  bool HostLimited() const { return host_ != nullptr && (memfree_ > 0 || max_load_ > 0); }
  // Under job.rate, job.delay, job.memfree or job.load, a worker gets only
  // what it starts at once: a start is when the pacing applies.
  bool Paced() const { return rate_interval_ns_ > 0 || HostLimited(); }
  void OnStopDeadline(uint64_t now);
  // job.rate and Retry-After: whether a task may be handed out at `now`,
  // and taking one hand-out's turn.
  bool HandOutAllowed(uint64_t now) const { return now >= next_hand_out_ns_; }
  void TookTurn(uint64_t now);
  // A service asked for a wait (Retry-After): no task is handed out before it.
  void PauseHandOut(uint64_t index, uint32_t ms, std::string_view reason);
  void KillWorkers();
  std::string WorkerName(int slot) const { return "worker " + std::to_string(slot + 1); }

  const Settings& s_;
  const int workers_;
  ItemSource& source_;
  const DoneSet* done_;
  WorkerPool& pool_;
  RunRecorder& records_;
  const Clock& clock_;
  const SchedulerLimits limits_;
  const HostGauges* host_;

  std::vector<Slot> slots_;
  std::deque<Pending> retry_;  // to feed again at once (never started, or no delay)
  std::vector<Pending> run_;   // FeedLines: the items of the run being handed out
  // FeedLines with command.max_args: the start of a line whose other items
  // the input has not delivered yet (they are fed together).
  std::vector<Pending> held_;
  std::vector<Delayed> delayed_;  // retries waiting out their backoff (heap)
  uint64_t delayed_order_ = 0;
  std::string buffer_;
  // job.rate: the least time between two hand-outs (0 = none), and the
  // earliest time of the next one (also moved by a service's Retry-After).
  uint64_t rate_interval_ns_ = 0;
  uint64_t next_hand_out_ns_ = 0;
  // How far back job.rate's schedule may catch up: none when job.delay sets
  // the spacing, which is a least time between two starts.
  uint64_t catch_up_ns_ = 0;
  // job.memfree in bytes and job.load; 0 = none. Whether the host had room
  // at the last look, when that was, and what held items back (for the log).
  uint64_t memfree_ = 0;
  double max_load_ = 0;
  std::string load_limit_;  // job.load as the log says it: "50% (1.00 on 2 cores)"
  bool host_room_ = true;
  uint64_t host_checked_ns_ = 0;
  bool host_looked_ = false;
  const HaltRule halt_rule_;

  RunStats stats_;
  uint64_t next_seq_ = 0;
  uint64_t retrying_ = 0;  // items between a failed attempt and their next outcome
  uint64_t worker_deaths_ = 0;
  double avg_item_ms_ = -1;
  uint64_t busy_mark_ns_ = 0;      // the last TakeBusyShares
  uint64_t last_progress_ns_ = 0;  // when an item last finished (or the run started)
  bool progressed_ = false;        // an item finished since EndRound
  int start_failures_ = 0;         // consecutive workers that died before getting ready
  bool source_done_ = false;
  bool input_would_block_ = false;
  bool halted_ = false;    // the halt rule was met: nothing new is fed
  bool halt_now_ = false;  // ... and the running items were killed
  std::string halt_reason_;
  bool stopping_ = false;
  int stop_signal_ = 0;     // the signal that stopped the run, 0 = none
  bool forwarded_ = false;  // the grace ran out and running commands got the signal
  uint64_t stop_deadline_ns_ = 0;
  bool fatal_ = false;
  std::string fatal_message_;
};

}  // namespace shoal
