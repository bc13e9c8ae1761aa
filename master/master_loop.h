// The master's state and event loop, shared by the files that implement it:
// master.cc (setting up, the loop, the summary), dispatch.cc (feeding tasks,
// draining outcomes, retries and halting) and workers.cc (starting workers,
// their deaths, timeouts, signals and stopping). Internal to master/: the
// interface is RunJob in master.h.
#pragma once

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
#include "master/run_state.h"
#include "master/run_stats.h"
#include "master/supervisor.h"
#include "worker/handler.h"
#include "worker/plugin_handler.h"
#include "worker/worker_loop.h"

namespace shoal::master_detail {

constexpr int kFlushEveryMs = 200;
// ... or sooner, once this much is buffered: a fast run's buffers stay small.
constexpr size_t kFlushAtBytes = 512u << 10;
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
// kMaxTreeCount entries (a huge tree is not walked twice), and only once the
// run has lasted kCountTreeAfterNs: a second walk costs as much as the first,
// which a run that ends within a second does not need for its progress.
constexpr uint64_t kCountSliceNs = 2'000'000;
constexpr uint64_t kMaxTreeCount = 1'000'000;
constexpr uint64_t kCountTreeAfterNs = 1'000'000'000;
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
  uint64_t fed_backlog = 0;         // its task-ring backlog (bytes) after the last feed
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
  // Whether outcomes should be drained now, so that workers get more tasks
  // or room (see dispatch.cc).
  bool RoundDue();
  bool NeedsRefill(WorkerSlot& w);
  bool FeedingOver() const;
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
  RunState state_;             // what run.json says

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
  uint64_t last_progress_ns_ = 0;  // when an item last finished (or the run started)
  bool progressed_ = false;        // an item finished since the loop last looked
  int start_failures_ = 0;         // consecutive workers that died before getting ready
  bool source_done_ = false;
  bool stopping_ = false;   // no new tasks; wind down
  int stop_signal_ = 0;     // the signal that stopped the run, 0 = none
  bool forwarded_ = false;  // the grace ran out and running commands got the signal
  bool fatal_ = false;
  std::string fatal_message_;
  double avg_item_ms_ = -1;
  uint64_t start_ns_ = 0, last_flush_ns_ = 0, stop_deadline_ns_ = 0;
};

}  // namespace shoal::master_detail
