// The scheduler's policy with a fake pool, a fake clock and items in memory:
// no process, no sleep, every step exact (ninja's build_test.cc over its
// FakeCommandRunner).
#include "master/scheduler.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/worker_exit.h"
#include "master/resume.h"

namespace shoal {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000 * kMs;
constexpr int64_t kUnixEpochMs = 1'800'000'000'000;

class FakeClock final : public Clock {
 public:
  uint64_t NowNs() const override { return now_; }
  // Unix time: a fixed epoch plus the clock's time.
  int64_t UnixMs(uint64_t ns) const override {
    return kUnixEpochMs + static_cast<int64_t>(ns / kMs);
  }
  void Advance(uint64_t ns) { now_ += ns; }

 private:
  uint64_t now_ = 1000 * kSec;
};

class FakePool final : public WorkerPool {
 public:
  struct Offered {
    int slot;
    TaskRecord task;
    std::string item;
  };
  Result<int> Start(int slot) override {
    if (fail_start) return Status::IoError("cannot start worker");
    starts.push_back(slot);
    return 100 + static_cast<int>(starts.size());
  }
  OfferResult Offer(int slot, const TaskRecord& task) override {
    if (task.item == too_long_item) return OfferResult::kTooLong;
    if (full_slots.count(slot) != 0) return OfferResult::kFull;
    offered.push_back({slot, task, std::string(task.item)});
    return OfferResult::kQueued;
  }
  void Publish(int slot) override { ++published[slot]; }
  WorkerState State(int slot) const override {
    auto it = running.find(slot);
    if (it != running.end()) return it->second;
    return WorkerState{not_ready.count(slot) == 0, 0, 0};
  }
  void Kill(int slot) override { kills.push_back(slot); }
  void SignalCommand(int slot, int sig) override { signals.push_back({slot, sig}); }
  void Shutdown() override { shut_down = true; }

  // The tasks offered to `slot` so far, in order.
  std::vector<Offered> To(int slot) const {
    std::vector<Offered> out;
    for (const Offered& o : offered) {
      if (o.slot == slot) out.push_back(o);
    }
    return out;
  }

  bool fail_start = false;
  std::string too_long_item = "\x01never";
  std::set<int> full_slots;
  std::set<int> not_ready;
  std::vector<int> starts;
  std::vector<Offered> offered;
  std::map<int, int> published;
  std::map<int, WorkerState> running;
  std::vector<int> kills;
  std::vector<std::pair<int, int>> signals;
  bool shut_down = false;
};

class FakeRecorder final : public RunRecorder {
 public:
  struct Record {
    uint64_t index;
    std::string item;
    uint32_t attempts;
    int worker;
    std::string reason;
    int64_t start_ms;
    std::vector<AttemptRecord> history;
    std::optional<std::string> line_tag;
  };
  void Succeeded(const RunDirectory::Finished& f) override { ok.push_back(Of(f)); }
  void Failed(const RunDirectory::Finished& f) override { failed.push_back(Of(f)); }
  void Log(std::string_view line) override { logs.emplace_back(line); }
  void Say(const std::string& message) override { said.push_back(message); }
  void Opened(uint64_t index) override { open.push_back(index); }
  void Printed(uint64_t index, std::string_view item, int worker, OutputStream stream,
               std::string_view bytes, std::optional<std::string_view> line_tag) override {
    (void)index, (void)worker, (void)stream;
    printed.push_back({std::string(item), std::string(bytes),
                       line_tag ? std::optional<std::string>(*line_tag) : std::nullopt});
  }
  struct Piece {
    std::string item, bytes;
    std::optional<std::string> line_tag;
  };
  std::vector<Piece> printed;
  bool Full() const override { return window > 0 && open.size() - released >= window; }

  bool Logged(std::string_view part) const {
    for (const std::string& l : logs) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::vector<Record> ok, failed;
  std::vector<std::string> logs, said;
  std::vector<uint64_t> open;
  size_t window = 0;    // > 0: full once this many opened items are not released
  size_t released = 0;  // what the test says has left the window

 private:
  static Record Of(const RunDirectory::Finished& f) {
    return {f.index,
            std::string(f.item),
            f.attempts,
            f.worker,
            std::string(f.reason),
            f.start_ms,
            {f.history.begin(), f.history.end()},
            f.line_tag ? std::optional<std::string>(*f.line_tag) : std::nullopt};
  }
};

// Free memory and the load average as a test sets them; counts its reads.
class FakeHost final : public HostGauges {
 public:
  std::optional<uint64_t> MemAvailableBytes() const override {
    ++reads;
    return mem;
  }
  std::optional<double> LoadAverage1() const override {
    ++reads;
    return load;
  }
  int OnlineCores() const override { return cores; }
  std::optional<uint64_t> mem = 8ull << 30;
  std::optional<double> load = 0.5;
  int cores = 2;
  mutable int reads = 0;
};

class VectorSource final : public ItemSource {
 public:
  explicit VectorSource(std::vector<std::string> items) : items_(std::move(items)) {}
  // A stream (stdin) that has delivered only the first `n` items so far.
  void DeliveredSoFar(size_t n) { delivered_ = n; }
  bool WouldBlock() override { return next_ >= delivered_ && next_ < items_.size(); }
  bool Next(Item* item) override {
    if (next_ >= items_.size()) return false;
    item->index = next_ + 1;
    item->text = items_[next_];
    item->error = item->text == "bad" ? "line too long" : "";
    ++next_;
    return true;
  }
  Status status() const override { return Status::Ok(); }
  uint64_t seen() const override { return next_; }
  bool done() const override { return next_ >= items_.size(); }

 private:
  std::vector<std::string> items_;
  size_t next_ = 0;
  size_t delivered_ = SIZE_MAX;
};

std::vector<std::string> Items(int n) {
  std::vector<std::string> items;
  for (int i = 1; i <= n; ++i) items.push_back("item" + std::to_string(i));
  return items;
}

OutcomeRecord Ok(uint64_t seq, double ms = 1) {
  OutcomeRecord o;
  o.seq = seq;
  o.ok = true;
  o.exit_code = 0;
  o.ms = ms;
  return o;
}

OutcomeRecord Failed(uint64_t seq, std::string_view reason = "exit 1") {
  OutcomeRecord o;
  o.seq = seq;
  o.ok = false;
  o.exit_code = 1;
  o.ms = 1;
  o.reason = reason;
  return o;
}

class SchedulerTest : public ::testing::Test {
 protected:
  // Builds the scheduler over `n` items and starts its workers.
  void Start(int workers, std::vector<std::string> items, const DoneSet* done = nullptr) {
    source_ = std::make_unique<VectorSource>(std::move(items));
    sched_ = std::make_unique<Scheduler>(s_, workers, *source_, done, pool_, records_, clock_,
                                         limits_, &host_);
    ASSERT_TRUE(sched_->StartWorkers().ok());
  }
  // The last task offered to `slot`.
  TaskRecord Last(int slot) const {
    auto to = pool_.To(slot);
    EXPECT_FALSE(to.empty());
    return to.empty() ? TaskRecord{} : to.back().task;
  }
  // Fails the last task of `slot` as a service that says "slow down" does.
  void SlowDown(int slot, uint32_t retry_after_ms) {
    OutcomeRecord slow_down = Failed(Last(slot).seq, "http 429");
    slow_down.retry_after_ms = retry_after_ms;
    sched_->OnOutcome(slot, slow_down);
  }
  // The loop sleeps `ns` from now, nothing is fed a nanosecond before, and
  // something is fed then.
  void ExpectFedOnlyAfter(uint64_t ns) {
    EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + ns);
    clock_.Advance(ns - 1);
    EXPECT_FALSE(sched_->Feed());
    clock_.Advance(1);
    EXPECT_TRUE(sched_->Feed());
  }
  // Runs everything offered and not yet answered with `ok` outcomes until
  // the scheduler has nothing left, then stops it.
  void Finish() {
    size_t answered = answered_;
    for (int round = 0; round < 1000 && !sched_->WorkDone(); ++round) {
      sched_->Feed();
      for (; answered < pool_.offered.size(); ++answered) {
        sched_->OnOutcome(pool_.offered[answered].slot, Ok(pool_.offered[answered].task.seq));
      }
    }
    answered_ = answered;
  }
  void Exit(int slot, int wait_status, bool was_ready, uint64_t current_seq) {
    sched_->OnWorkerExit(slot, WorkerExit{wait_status, was_ready, current_seq});
  }

  // Liveness is off unless a test is about it.
  Settings s_ = [] {
    Settings s;
    s.job.worker_timeout = Millis(0);
    return s;
  }();
  SchedulerLimits limits_;
  FakeHost host_;
  FakeClock clock_;
  FakePool pool_;
  FakeRecorder records_;
  std::unique_ptr<VectorSource> source_;
  std::unique_ptr<Scheduler> sched_;
  size_t answered_ = 0;
};

TEST_F(SchedulerTest, SpreadsTheFirstItemsOverEveryWorkerOneEach) {
  Start(3, Items(10));
  EXPECT_EQ(pool_.starts, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(sched_->Feed());
  // Until durations are known, one each: slow items must not queue up.
  ASSERT_EQ(pool_.offered.size(), 3u);
  for (int slot = 0; slot < 3; ++slot) {
    EXPECT_EQ(Last(slot).index, static_cast<uint64_t>(slot + 1));
    EXPECT_EQ(pool_.published[slot], 1);
  }
  EXPECT_FALSE(sched_->Feed());  // every queue is at its depth
  EXPECT_EQ(sched_->in_flight(), 3u);
}

TEST_F(SchedulerTest, FastItemsDeepenTheQueuesUpToTheRing) {
  s_.queue.slots = 64;
  Start(2, Items(1000));
  sched_->Feed();
  sched_->OnOutcome(0, Ok(Last(0).seq, /*ms=*/0.001));
  // 5 ms of work at 1 µs an item is far more than 64 slots / 2 workers.
  EXPECT_EQ(sched_->Depth(), 32u);
  sched_->Feed();
  EXPECT_EQ(pool_.To(0).size(), 33u);  // the one done + 32 queued
  EXPECT_EQ(pool_.To(1).size(), 32u);
}

TEST_F(SchedulerTest, QueueBatchFixesTheDepth) {
  s_.queue.batch = 4;
  Start(2, Items(100));
  EXPECT_EQ(sched_->Depth(), 4u);
  sched_->Feed();
  EXPECT_EQ(pool_.To(0).size(), 4u);
  EXPECT_EQ(pool_.To(1).size(), 4u);
}

TEST_F(SchedulerTest, EveryItemIsRecordedOnceThenTheWorkIsDone) {
  Start(2, Items(25));
  Finish();
  EXPECT_TRUE(sched_->WorkDone());
  ASSERT_EQ(records_.ok.size(), 25u);
  std::set<uint64_t> indices;
  for (const auto& r : records_.ok) indices.insert(r.index);
  EXPECT_EQ(indices.size(), 25u);
  EXPECT_EQ(sched_->stats().ok, 25u);
  EXPECT_TRUE(records_.failed.empty());
  sched_->BeginStop();
  EXPECT_TRUE(pool_.shut_down);
  EXPECT_FALSE(sched_->Finished());  // workers still to exit
  Exit(0, 0, true, 0);
  Exit(1, 0, true, 0);
  EXPECT_TRUE(sched_->Finished());
  EXPECT_EQ(sched_->worker_deaths(), 0u);
}

TEST_F(SchedulerTest, ResumeSkipsTheItemsAlreadyRecorded) {
  DoneSet done;
  done.Add(2);
  done.Add(3);
  Start(1, Items(5), &done);
  Finish();
  std::vector<uint64_t> offered;
  for (const auto& o : pool_.offered) offered.push_back(o.task.index);
  EXPECT_EQ(offered, (std::vector<uint64_t>{1, 4, 5}));
  EXPECT_EQ(records_.ok.size(), 3u);
}

TEST_F(SchedulerTest, ABadInputItemFailsAloneWithoutReachingAWorker) {
  Start(1, {"a", "bad", "c"});
  Finish();
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].index, 2u);
  EXPECT_EQ(records_.failed[0].reason, "line too long");
  EXPECT_EQ(records_.failed[0].attempts, 0u);
  EXPECT_EQ(records_.failed[0].worker, 0);
  EXPECT_EQ(records_.ok.size(), 2u);
}

TEST_F(SchedulerTest, AnItemTooLongForTheRingFailsAndAFullRingIsOfferedAgain) {
  pool_.too_long_item = "item2";
  Start(1, Items(3));
  pool_.full_slots.insert(0);
  EXPECT_FALSE(sched_->Feed());
  EXPECT_TRUE(pool_.offered.empty());
  pool_.full_slots.clear();
  Finish();
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].reason, "item too long for the task ring");
  EXPECT_EQ(records_.ok.size(), 2u);
  EXPECT_EQ(pool_.offered.front().task.index, 1u);  // the one refused came first again
}

TEST_F(SchedulerTest, RetriesWaitOutADoublingBackoffCappedByRetryDelayMax) {
  s_.job.retries = 4;
  s_.job.retry_delay = Millis(1000);
  s_.job.retry_delay_max = Millis(3000);
  Start(1, Items(1));
  const uint64_t expected_waits[] = {1 * kSec, 2 * kSec, 3 * kSec, 3 * kSec};
  sched_->Feed();
  for (uint64_t wait : expected_waits) {
    TaskRecord t = Last(0);
    sched_->OnOutcome(0, Failed(t.seq));
    EXPECT_TRUE(records_.failed.empty());
    EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + wait);
    clock_.Advance(wait - 1);
    EXPECT_FALSE(sched_->Feed()) << "fed before its backoff ended";
    clock_.Advance(1);
    EXPECT_TRUE(sched_->Feed());
    EXPECT_EQ(Last(0).attempt, t.attempt + 1);
    EXPECT_EQ(Last(0).index, 1u);
  }
  sched_->OnOutcome(0, Failed(Last(0).seq, "exit 7"));
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].attempts, 5u);
  EXPECT_EQ(records_.failed[0].reason, "exit 7");
  EXPECT_EQ(sched_->stats().retried, 4u);
  EXPECT_TRUE(sched_->WorkDone());
}

TEST_F(SchedulerTest, ARecordHoldsItsStartAndTheAttemptsBeforeIt) {
  s_.job.retries = 2;
  Start(1, Items(1));
  sched_->Feed();
  const uint64_t t0 = clock_.NowNs();
  OutcomeRecord first = Failed(Last(0).seq, "exit 3");
  first.start_ns = t0 + 2 * kMs;  // the worker's own stamp
  first.ms = 5;
  clock_.Advance(10 * kMs);
  sched_->OnOutcome(0, first);
  ASSERT_TRUE(sched_->Feed());
  // The second attempt's worker dies: no stamp of its own, so the record
  // says when it was handed out.
  const uint64_t fed_second = clock_.NowNs();
  clock_.Advance(20 * kMs);
  Exit(0, SIGKILL, true, Last(0).seq);
  ASSERT_TRUE(sched_->Feed());
  OutcomeRecord third = Ok(Last(0).seq, 7);
  third.start_ns = clock_.NowNs() + kMs;
  sched_->OnOutcome(0, third);
  ASSERT_EQ(records_.ok.size(), 1u);
  const FakeRecorder::Record& r = records_.ok[0];
  EXPECT_EQ(r.attempts, 3u);
  EXPECT_EQ(r.start_ms, clock_.UnixMs(third.start_ns));
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.history[0].reason, "exit 3");
  EXPECT_EQ(r.history[0].ms, 5);
  EXPECT_EQ(r.history[0].start_ms, clock_.UnixMs(first.start_ns));
  EXPECT_EQ(r.history[1].reason, "worker died: signal 9");
  EXPECT_LT(r.history[1].ms, 0);  // no duration: its worker died
  EXPECT_EQ(r.history[1].start_ms, clock_.UnixMs(fed_second));
}

TEST_F(SchedulerTest, BusySharesCountFinishedAndRunningItems) {
  Start(2, Items(2));
  const uint64_t mark = clock_.NowNs();
  sched_->Feed();
  // Slot 0 ran an item for the first half second; slot 1 has been running
  // one for the last quarter.
  OutcomeRecord done = Ok(Last(0).seq, 500);
  done.start_ns = mark;
  clock_.Advance(kSec);
  sched_->OnOutcome(0, done);
  pool_.running[1] = WorkerState{true, Last(1).seq, mark + 3 * kSec / 4};
  std::vector<double> shares = sched_->TakeBusyShares(clock_.NowNs());
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_DOUBLE_EQ(shares[0], 0.5);
  EXPECT_DOUBLE_EQ(shares[1], 0.25);
  // The next second: slot 1's item ran through it, and only the part after
  // the last sample counts once it finishes.
  clock_.Advance(kSec);
  OutcomeRecord later = Ok(Last(1).seq, 1250);
  later.start_ns = mark + 3 * kSec / 4;
  sched_->OnOutcome(1, later);
  pool_.running.erase(1);
  shares = sched_->TakeBusyShares(clock_.NowNs());
  EXPECT_DOUBLE_EQ(shares[0], 0.0);
  EXPECT_DOUBLE_EQ(shares[1], 1.0);
}

TEST_F(SchedulerTest, ARetryWithoutDelayIsFedAtOnceAndASuccessEndsIt) {
  s_.job.retries = 1;
  s_.queue.batch = 1;
  Start(1, Items(2));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  sched_->Feed();
  EXPECT_EQ(Last(0).index, 1u);
  EXPECT_EQ(Last(0).attempt, 2u);
  sched_->OnOutcome(0, Ok(Last(0).seq));
  ASSERT_EQ(records_.ok.size(), 1u);
  EXPECT_EQ(records_.ok[0].attempts, 2u);
  EXPECT_TRUE(records_.Logged("item 1 attempt 1 failed (exit 1); retrying"));
}

TEST_F(SchedulerTest, MaxFailuresCountHaltsFeedingAndLetsFedItemsFinish) {
  s_.job.max_failures = 2;
  s_.queue.batch = 2;
  Start(1, Items(10));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 2u);
  sched_->OnOutcome(0, Failed(pool_.offered[0].task.seq));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 3u);
  sched_->OnOutcome(0, Failed(pool_.offered[1].task.seq));
  EXPECT_TRUE(sched_->halted());
  EXPECT_NE(sched_->halt_reason().find("2 failures reached job.max_failures = 2"),
            std::string::npos);
  // No new item starts, not even the ones queued: workers take nothing more.
  EXPECT_TRUE(sched_->stopping());
  EXPECT_TRUE(pool_.shut_down);
  EXPECT_FALSE(sched_->WorkDone());  // item 3 is still running
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 3u);
  sched_->OnOutcome(0, Ok(pool_.offered[2].task.seq));
  EXPECT_TRUE(sched_->WorkDone());
  EXPECT_EQ(records_.ok.size() + records_.failed.size(), 3u);  // the rest: resume's
  ASSERT_EQ(records_.said.size(), 1u);
  EXPECT_NE(records_.said[0].find("halting"), std::string::npos);
}

TEST_F(SchedulerTest, MaxFailuresPercentWaitsForItsSampleThenHalts) {
  s_.job.max_failures_percent = 50;
  limits_.halt_min_sample = 4;
  // One task fed per outcome below: a queue no deeper than 5 ms of work.
  limits_.queued_work_ms = 5.0;
  Start(1, Items(20));
  // fail, ok, fail: 67 % but only 3 finished; the 4th (fail) makes 75 % of 4.
  const bool outcome_ok[] = {false, true, false};
  for (bool ok : outcome_ok) {
    sched_->Feed();
    sched_->OnOutcome(0, ok ? Ok(Last(0).seq) : Failed(Last(0).seq));
    EXPECT_FALSE(sched_->halted());
  }
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_TRUE(sched_->halted());
  EXPECT_NE(sched_->halt_reason().find("3 of 4 finished items failed (75.0%)"), std::string::npos);
}

TEST_F(SchedulerTest, ARetryDueWhileHaltingIsLeftForResume) {
  s_.job.max_failures = 1;
  s_.job.retries = 3;
  s_.queue.batch = 2;
  Start(2, {"a", "b", "bad"});
  sched_->Feed();  // a -> 0, b -> 1; then "bad" fails on reading: halted
  EXPECT_TRUE(sched_->halted());
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_TRUE(records_.Logged("not retried while halting"));
  sched_->OnOutcome(1, Ok(Last(1).seq));
  EXPECT_TRUE(sched_->WorkDone());
  EXPECT_EQ(records_.failed.size(), 1u);  // only "bad": "a" has no record
}

TEST_F(SchedulerTest, ADeadWorkersRunningItemUsesAnAttemptTheQueuedOnesDoNot) {
  s_.job.retries = 1;
  s_.queue.batch = 3;
  Start(1, Items(3));
  sched_->Feed();
  auto fed = pool_.To(0);
  ASSERT_EQ(fed.size(), 3u);
  Exit(0, SIGKILL, true, fed[0].task.seq);
  EXPECT_EQ(sched_->worker_deaths(), 1u);
  EXPECT_EQ(pool_.starts, (std::vector<int>{0, 0}));  // replaced
  EXPECT_TRUE(records_.Logged("died: signal 9, holding 3 item(s)"));
  EXPECT_TRUE(sched_->Feed());
  auto again = pool_.To(0);
  ASSERT_EQ(again.size(), 6u);
  // The queued ones first, in their order, then the retry.
  std::vector<std::pair<uint64_t, uint32_t>> order;
  for (size_t i = 3; i < 6; ++i) order.push_back({again[i].task.index, again[i].task.attempt});
  EXPECT_EQ(order, (std::vector<std::pair<uint64_t, uint32_t>>{{2, 1}, {3, 1}, {1, 2}}));
  // Items 2 and 3 finish; its second death, on item 1, leaves no retry.
  sched_->OnOutcome(0, Ok(again[3].task.seq));
  sched_->OnOutcome(0, Ok(again[4].task.seq));
  Exit(0, SIGSEGV, true, again[5].task.seq);
  EXPECT_FALSE(sched_->Feed());  // finds the input's end
  EXPECT_TRUE(sched_->WorkDone());
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].index, 1u);
  EXPECT_EQ(records_.failed[0].reason, "worker died: signal 11");
  EXPECT_EQ(records_.failed[0].attempts, 2u);
  EXPECT_EQ(records_.ok.size(), 2u);
}

// A worker with many calls in flight (handler = "http") says how far it
// took: every unfinished task up to taken_seq had started and uses an
// attempt; the ones after it never started and do not.
TEST_F(SchedulerTest, ADeadWorkerWithManyInFlightChargesOnlyWhatItTook) {
  s_.job.retries = 1;
  s_.queue.batch = 4;
  Start(1, Items(4));
  sched_->Feed();
  auto fed = pool_.To(0);
  ASSERT_EQ(fed.size(), 4u);
  sched_->OnOutcome(0, Ok(fed[1].task.seq));  // item 2 finished before the death
  WorkerExit exit{SIGKILL, true, fed[0].task.seq};
  exit.taken_seq = fed[2].task.seq;  // items 1 and 3 were in flight, item 4 queued
  sched_->OnWorkerExit(0, exit);
  EXPECT_TRUE(sched_->Feed());
  auto again = pool_.To(0);
  ASSERT_EQ(again.size(), 7u);
  std::vector<std::pair<uint64_t, uint32_t>> order;
  for (size_t i = 4; i < 7; ++i) order.push_back({again[i].task.index, again[i].task.attempt});
  // The never-started one first, then the retries (in either order).
  std::sort(order.begin() + 1, order.end());
  EXPECT_EQ(order, (std::vector<std::pair<uint64_t, uint32_t>>{{4, 1}, {1, 2}, {3, 2}}));
}

TEST_F(SchedulerTest, OutcomesAlreadyPublishedByADeadWorkerCount) {
  s_.queue.batch = 2;
  Start(1, Items(2));
  sched_->Feed();
  auto fed = pool_.To(0);
  sched_->OnOutcome(0, Ok(fed[0].task.seq));  // drained from its rings after death
  Exit(0, SIGKILL, true, fed[1].task.seq);
  EXPECT_EQ(records_.ok.size(), 1u);
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].index, 2u);
  EXPECT_TRUE(records_.Logged("holding 1 item(s)"));
}

TEST_F(SchedulerTest, AnUnknownOrRepeatedOutcomeIsIgnored) {
  Start(1, Items(1));
  sched_->Feed();
  uint64_t seq = Last(0).seq;
  sched_->OnOutcome(0, Ok(seq + 100));
  sched_->OnOutcome(0, Ok(seq));
  sched_->OnOutcome(0, Ok(seq));
  EXPECT_EQ(records_.ok.size(), 1u);
  EXPECT_TRUE(records_.Logged("reported an unknown task; ignored"));
}

TEST_F(SchedulerTest, AWorkerThatCannotStartEndsTheRun) {
  Start(2, Items(4));
  sched_->Feed();
  Exit(1, W_EXITCODE(kWorkerStartFailed, 0), /*was_ready=*/false, 0);
  EXPECT_TRUE(sched_->fatal());
  EXPECT_NE(sched_->fatal_message().find("worker 2 could not start"), std::string::npos);
  EXPECT_TRUE(sched_->stopping());
  EXPECT_TRUE(pool_.shut_down);
  EXPECT_EQ(pool_.starts.size(), 2u);  // not replaced
}

TEST_F(SchedulerTest, WorkersDyingAtStartEndTheRunOnlyOnceNothingProgresses) {
  Start(1, Items(4));
  // Killed while starting, again and again, but the clock says items
  // finished recently: replaced each time.
  for (int i = 0; i < 5; ++i) Exit(0, SIGKILL, false, 0);
  EXPECT_FALSE(sched_->fatal());
  EXPECT_EQ(pool_.starts.size(), 6u);
  clock_.Advance(limits_.no_progress_ns + 1);
  Exit(0, SIGKILL, false, 0);
  EXPECT_TRUE(sched_->fatal());
  EXPECT_NE(sched_->fatal_message().find("workers keep dying at start (6 in a row"),
            std::string::npos);
}

TEST_F(SchedulerTest, TimeoutKillsAnInProcessItemsWorker) {
  s_.job.handler = HandlerKind::kSha256;
  s_.job.timeout = Millis(1000);
  Start(1, Items(2));
  sched_->Feed();
  uint64_t seq = Last(0).seq;
  pool_.running[0] = {true, seq, clock_.NowNs()};
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + limits_.timeout_check_ns);
  clock_.Advance(999 * kMs);
  sched_->Tick();
  EXPECT_TRUE(pool_.kills.empty());
  clock_.Advance(1 * kMs);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));
  sched_->Tick();  // killed once, not again
  EXPECT_EQ(pool_.kills.size(), 1u);
  pool_.running.clear();
  Exit(0, SIGKILL, true, seq);
  ASSERT_EQ(records_.failed.size(), 1u);
  EXPECT_EQ(records_.failed[0].reason, "timeout");
}

TEST_F(SchedulerTest, ACommandGetsTheSlackToEnforceItsOwnTimeout) {
  s_.job.timeout = Millis(1000);
  Start(1, Items(1));
  sched_->Feed();
  pool_.running[0] = {true, Last(0).seq, clock_.NowNs()};
  clock_.Advance(1 * kSec + limits_.command_timeout_slack_ns - 1);
  sched_->Tick();
  EXPECT_TRUE(pool_.kills.empty());
  clock_.Advance(1);
  sched_->Tick();
  EXPECT_EQ(pool_.kills.size(), 1u);
}

TEST_F(SchedulerTest, InterruptStopsFeedingThenForwardsAfterTheGraceThenKills) {
  s_.job.grace = Millis(3000);
  s_.queue.batch = 2;
  Start(2, Items(10));
  sched_->Feed();
  size_t fed = pool_.offered.size();
  sched_->OnSignal(SIGINT);
  EXPECT_TRUE(sched_->stopping());
  EXPECT_TRUE(pool_.shut_down);
  EXPECT_EQ(sched_->stop_signal(), SIGINT);
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), fed);
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 3 * kSec);
  // A running item finishes within the grace: recorded as usual.
  sched_->OnOutcome(0, Ok(pool_.To(0)[0].task.seq));
  EXPECT_EQ(records_.ok.size(), 1u);
  clock_.Advance(3 * kSec - 1);
  sched_->Tick();
  EXPECT_TRUE(pool_.signals.empty());
  clock_.Advance(1);
  sched_->Tick();
  EXPECT_EQ(pool_.signals, (std::vector<std::pair<int, int>>{{0, SIGINT}, {1, SIGINT}}));
  EXPECT_TRUE(records_.Logged("grace over"));
  // Killed by the forwarded signal: not the item's fault, no record.
  sched_->OnOutcome(1, Failed(pool_.To(1)[0].task.seq, "signal 2"));
  EXPECT_TRUE(records_.failed.empty());
  EXPECT_TRUE(pool_.kills.empty());
  clock_.Advance(limits_.kill_after_signal_ns);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0, 1}));
  Exit(0, SIGKILL, true, 0);
  Exit(1, SIGKILL, true, 0);
  EXPECT_TRUE(sched_->Finished());
  EXPECT_TRUE(records_.failed.empty());  // what did not finish is resume's
  EXPECT_EQ(pool_.starts.size(), 2u);    // nothing restarted while stopping
}

TEST_F(SchedulerTest, ASecondSignalKillsAtOnce) {
  Start(1, Items(3));
  sched_->Feed();
  sched_->OnSignal(SIGTERM);
  EXPECT_TRUE(pool_.kills.empty());
  sched_->OnSignal(SIGTERM);
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));
  EXPECT_TRUE(records_.Logged("second signal"));
}

TEST_F(SchedulerTest, SighupStopsLikeSigterm) {
  Start(1, Items(1));
  sched_->OnSignal(SIGHUP);
  EXPECT_EQ(sched_->stop_signal(), SIGTERM);
}

TEST_F(SchedulerTest, AFullInputOrderWindowStopsReadingTheInput) {
  records_.window = 3;
  s_.queue.batch = 10;
  Start(2, Items(20));
  sched_->Feed();
  EXPECT_EQ(records_.open.size(), 3u);
  EXPECT_EQ(pool_.offered.size(), 3u);
  EXPECT_EQ(source_->seen(), 3u);  // not read ahead of the window
  records_.released = 2;           // the first two records left the window
  sched_->Feed();
  EXPECT_EQ(records_.open.size(), 5u);
  EXPECT_EQ(source_->seen(), 5u);
}

TEST_F(SchedulerTest, AFatalErrorStopsTheRun) {
  Start(1, Items(3));
  sched_->Feed();
  sched_->Fatal("cannot write results.jsonl: No space left on device");
  sched_->Fatal("a second problem");
  EXPECT_TRUE(sched_->stopping());
  EXPECT_EQ(sched_->fatal_message(), "cannot write results.jsonl: No space left on device");
  EXPECT_FALSE(sched_->Feed());
}

TEST_F(SchedulerTest, WorkersThatDoNotExitAfterStoppingAreKilled) {
  Start(1, Items(1));
  Finish();
  sched_->BeginStop();
  clock_.Advance(limits_.shutdown_wait_ns);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));
  EXPECT_TRUE(records_.Logged("did not stop in time"));
}

TEST_F(SchedulerTest, HaltingGivesRunningItemsAllTheTimeTheyNeed) {
  s_.job.max_failures = 1;
  Start(2, Items(4));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  ASSERT_TRUE(sched_->halted());
  EXPECT_EQ(sched_->NextDeadlineNs(), UINT64_MAX / 2 + clock_.NowNs());
  clock_.Advance(3600 * kSec);
  sched_->Tick();
  EXPECT_TRUE(pool_.kills.empty());
  sched_->OnOutcome(1, Ok(Last(1).seq));
  EXPECT_EQ(records_.ok.size(), 1u);
}

TEST_F(SchedulerTest, AnInterruptWhileHaltedGivesRunningItemsTheGraceOnly) {
  s_.job.max_failures = 1;
  s_.job.grace = Millis(2000);
  Start(2, Items(4));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  ASSERT_TRUE(sched_->halted());
  clock_.Advance(3600 * kSec);
  sched_->OnSignal(SIGINT);
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 2 * kSec);
  clock_.Advance(2 * kSec);
  sched_->Tick();
  EXPECT_EQ(pool_.signals, (std::vector<std::pair<int, int>>{{0, SIGINT}, {1, SIGINT}}));
}

TEST_F(SchedulerTest, FailuresWaitingForARetryCountAgainstMaxFailures) {
  // Against a dead service: with 2 items failing and waiting out their
  // backoff, no third item starts; they fail for good and the run halts.
  s_.job.max_failures = 2;
  s_.job.retries = 1;
  s_.job.retry_delay = Millis(1000);
  s_.queue.batch = 1;
  Start(1, Items(10));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));  // item 1: one failure, retry in 1 s
  EXPECT_TRUE(sched_->Feed());                // item 2: still below the limit
  EXPECT_EQ(Last(0).index, 2u);
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_FALSE(sched_->Feed()) << "read a new item while two failures wait for a retry";
  clock_.Advance(1 * kSec);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(Last(0).index, 1u);
  sched_->OnOutcome(0, Failed(Last(0).seq));  // item 1 failed for good
  EXPECT_FALSE(sched_->halted());
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(Last(0).index, 2u);
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_TRUE(sched_->halted());
  std::set<uint64_t> offered;
  for (const auto& o : pool_.offered) offered.insert(o.task.index);
  EXPECT_EQ(offered, (std::set<uint64_t>{1, 2}));
}

TEST_F(SchedulerTest, PendingRetriesThatSucceedLetTheRunGoOn) {
  s_.job.max_failures = 1;
  s_.job.retries = 1;
  s_.queue.batch = 1;
  Start(1, Items(3));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_TRUE(sched_->Feed());  // the retry, at once (no delay)
  EXPECT_EQ(Last(0).attempt, 2u);
  sched_->OnOutcome(0, Ok(Last(0).seq));
  Finish();
  EXPECT_FALSE(sched_->halted());
  EXPECT_EQ(records_.ok.size(), 3u);
}

TEST_F(SchedulerTest, AFailureDuringTheInterruptIsNeverFinal) {
  s_.job.retries = 0;
  s_.queue.batch = 1;
  Start(2, Items(2));
  sched_->Feed();
  sched_->OnSignal(SIGINT);
  // Within the grace, before anything was forwarded: a command that got the
  // interrupt some other way (its own terminal group, a wrapper) fails.
  sched_->OnOutcome(0, Failed(Last(0).seq, "signal 2"));
  sched_->OnOutcome(1, Ok(Last(1).seq));
  EXPECT_TRUE(records_.failed.empty());
  EXPECT_EQ(records_.ok.size(), 1u);
  EXPECT_TRUE(records_.Logged("during the interrupt; no record, resume runs it again"));
}

TEST_F(SchedulerTest, AWorkerThatDoesNotFinishStartingIsKilledAndReplaced) {
  s_.job.worker_timeout = Millis(30'000);
  pool_.not_ready.insert(0);
  Start(1, Items(2));
  sched_->Feed();
  clock_.Advance(30 * kSec - 1);
  sched_->Tick();
  EXPECT_TRUE(pool_.kills.empty());
  clock_.Advance(1);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));
  EXPECT_TRUE(records_.Logged("worker 1 did not finish starting within job.worker_timeout (30s)"));
  sched_->Tick();
  EXPECT_EQ(pool_.kills.size(), 1u);  // once
  pool_.not_ready.clear();
  Exit(0, SIGKILL, /*was_ready=*/false, 0);
  EXPECT_EQ(pool_.starts.size(), 2u);
  sched_->Feed();
  EXPECT_EQ(pool_.offered.size(), 2u);
  EXPECT_EQ(pool_.offered[1].task.index, 1u);  // the same item again, no attempt used
  EXPECT_EQ(pool_.offered[1].task.attempt, 1u);
  EXPECT_TRUE(records_.failed.empty());
}

TEST_F(SchedulerTest, AWorkerHoldingQueuedTasksThatTakesNoneIsKilled) {
  s_.job.worker_timeout = Millis(10'000);
  s_.queue.batch = 2;
  Start(2, Items(4));
  clock_.Advance(60 * kSec);  // idle this long: it does not count
  sched_->Feed();
  clock_.Advance(10 * kSec - 1);
  sched_->Tick();
  EXPECT_TRUE(pool_.kills.empty());
  // Worker 2 takes a task (and runs it for long: job.timeout's business).
  pool_.running[1] = {true, pool_.To(1)[0].task.seq, clock_.NowNs()};
  clock_.Advance(1);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));
  EXPECT_TRUE(records_.Logged("worker 1 took none of its 2 queued item(s)"));
  clock_.Advance(100 * kSec);
  sched_->Tick();
  EXPECT_EQ(pool_.kills, (std::vector<int>{0}));  // worker 2 is busy, not stuck
  Exit(0, SIGKILL, true, 0);
  sched_->Feed();
  std::vector<uint64_t> again;
  for (const auto& o : pool_.To(0)) again.push_back(o.task.index);
  EXPECT_EQ(again, (std::vector<uint64_t>{1, 3, 1, 3}));  // re-queued to its replacement
  EXPECT_TRUE(records_.failed.empty());
}

TEST_F(SchedulerTest, AWorkerThatExitsZeroOnAnInterruptIsNoDeathWhateverItHolds) {
  s_.queue.batch = 3;
  Start(1, Items(10));
  sched_->Feed();
  ASSERT_EQ(pool_.To(0).size(), 3u);
  sched_->OnOutcome(0, Ok(pool_.To(0)[0].task.seq));
  sched_->OnSignal(SIGINT);
  // It finished the item it was running and took no more: the two queued
  // ones never started and are left for resume.
  Exit(0, 0, true, 0);
  EXPECT_TRUE(sched_->Finished());
  EXPECT_EQ(sched_->worker_deaths(), 0u);
  EXPECT_FALSE(records_.Logged("died"));
  EXPECT_TRUE(records_.Logged("2 unstarted item(s) left for resume"));
  EXPECT_TRUE(records_.failed.empty());
  EXPECT_EQ(pool_.starts.size(), 1u);
}

// job.rate: hand-outs, over every worker together, at most one per interval.

// Answers every task offered so far that has no outcome yet.
void AnswerAll(Scheduler& sched, const FakePool& pool, size_t* answered) {
  for (; *answered < pool.offered.size(); ++*answered) {
    sched.OnOutcome(pool.offered[*answered].slot, Ok(pool.offered[*answered].task.seq, 0.01));
  }
}

TEST_F(SchedulerTest, RateSpacesHandOutsOverAllWorkersAndTheLoopSleepsUntilTheNextTurn) {
  s_.job.rate = "10/s";  // one every 100 ms
  Start(2, Items(1000));
  EXPECT_TRUE(records_.Logged("job.rate = 10/s: at most one item starts every 100"));
  const uint64_t t0 = clock_.NowNs();
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 1u);  // not one per worker: one per turn
  EXPECT_FALSE(sched_->Feed());
  // The master's loop sleeps until the next turn, not less. (The schedule
  // starts 5 ms back, the catch-up: the second turn is 95 ms after the first.)
  const uint64_t second = t0 - 5 * kMs + 100 * kMs;
  EXPECT_EQ(sched_->NextDeadlineNs(), second);
  clock_.Advance(second - t0 - 1);
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(sched_->NextDeadlineNs(), second);
  clock_.Advance(1);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 2u);
  EXPECT_EQ(pool_.offered[1].slot, 1);  // the idle worker gets it
  // Then for 10 s more, woken each millisecond with every item done at
  // once: the turns at second + 100 ms, 200 ms, ... 9.9 s, whatever the room.
  size_t answered = 0;
  for (int ms = 0; ms < 10'000; ++ms) {
    AnswerAll(*sched_, pool_, &answered);
    sched_->Feed();
    clock_.Advance(kMs);
  }
  EXPECT_EQ(pool_.offered.size(), 2u + 99u);
}

TEST_F(SchedulerTest, RateLosesTurnsMissedWhileNothingCouldBeFed) {
  s_.job.rate = "1000/s";  // one every 1 ms; catch-up of 5 ms
  Start(1, Items(100));
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 1u);
  // The one worker is busy for a second: no room, so no deadline either
  // (its outcome wakes the loop), and the loop does not spin on a turn
  // that is due.
  clock_.Advance(kSec);
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(sched_->NextDeadlineNs(), UINT64_MAX);
  // Not the thousand turns of that second in a burst: those of the last
  // 5 ms and the one due now, however fast the worker gets through them.
  for (int i = 0; i < 20; ++i) {
    sched_->OnOutcome(0, Ok(Last(0).seq));
    if (!sched_->Feed()) break;
  }
  EXPECT_EQ(pool_.offered.size(), 1u + 6u);
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + kMs);
}

TEST_F(SchedulerTest, RateLimitsAnHttpWorkerThatTakesManyAtOnce) {
  s_.job.handler = HandlerKind::kHttp;
  s_.http.concurrency = 64;
  s_.job.rate = "600/m";  // one every 100 ms
  Start(2, Items(1000));
  // Without a rate each worker would get its 64 at once.
  EXPECT_EQ(sched_->Depth(), 64u);
  sched_->Feed();
  EXPECT_EQ(pool_.offered.size(), 1u);
  for (int i = 0; i < 50; ++i) {
    clock_.Advance(10 * kMs);
    sched_->Feed();
  }
  // 500 ms: the first, then one every 100 ms.
  EXPECT_EQ(pool_.offered.size(), 6u);
  // Fast calls do not deepen the queues: a task queued behind 64 calls in
  // flight would start later, in a burst with the others.
  sched_->OnOutcome(0, Ok(pool_.offered[0].task.seq, 0.01));
  EXPECT_EQ(sched_->Depth(), 64u);
}

TEST_F(SchedulerTest, PacedWorkerStillStartingIsGivenOneTask) {
  // Tasks handed to a worker before it is ready would all start when it
  // is: a burst at the service in spite of the rate.
  s_.job.handler = HandlerKind::kHttp;
  s_.http.concurrency = 16;
  s_.job.rate = "400/s";  // one every 2.5 ms
  pool_.not_ready.insert(0);
  Start(1, Items(100));
  for (int i = 0; i < 20; ++i) {
    sched_->Feed();
    clock_.Advance(5 * kMs);
  }
  EXPECT_EQ(pool_.offered.size(), 1u);
  pool_.not_ready.clear();  // ready, and its first outcome wakes the master
  sched_->OnOutcome(0, Ok(pool_.offered[0].task.seq, 0.01));
  for (int i = 0; i < 8; ++i) {
    sched_->Feed();
    clock_.Advance(5 * kMs);
  }
  // Then turn by turn: 40 ms of 2.5 ms turns, plus the 5 ms catch-up.
  EXPECT_GE(pool_.offered.size(), 9u);
  EXPECT_LE(pool_.offered.size(), 1u + 19u);
}

TEST_F(SchedulerTest, RetriesUseTurnsOfTheRate) {
  s_.job.rate = "10/s";
  s_.job.retries = 1;
  Start(1, Items(10));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_FALSE(sched_->Feed());  // the retry waits for its turn like any item
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 95 * kMs);  // 5 ms catch-up
  clock_.Advance(95 * kMs);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(Last(0).index, 1u);
  EXPECT_EQ(Last(0).attempt, 2u);
}

TEST_F(SchedulerTest, RetryAfterHoldsBackEveryNewItemUntilItHasPassed) {
  s_.job.retries = 1;
  s_.queue.batch = 1;
  Start(3, Items(20));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 3u);
  SlowDown(0, 2000);
  EXPECT_TRUE(records_.Logged("item 1: the service asked to wait 2.00s (http 429, Retry-After)"));
  // Another call in flight gets a shorter wait: it neither shortens the
  // pause nor logs it again.
  SlowDown(1, 500);
  EXPECT_FALSE(records_.Logged("item 2: the service asked"));
  sched_->OnOutcome(2, Ok(Last(2).seq));
  // Neither the retries nor a new item, on any worker, before 2 s; and the
  // loop sleeps until then.
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 2 * kSec);
  clock_.Advance(2 * kSec - 1);
  EXPECT_FALSE(sched_->Feed());
  clock_.Advance(1);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 6u);
  std::set<uint64_t> fed;
  for (size_t i = 3; i < pool_.offered.size(); ++i) fed.insert(pool_.offered[i].task.index);
  EXPECT_EQ(fed, (std::set<uint64_t>{1, 2, 4}));  // the two retries first, then the input
}

// A command line of many items: the worker's tag for it reaches what prints
// its output, with the first item's record and with each piece it forwards.
TEST_F(SchedulerTest, ALineTagReachesThePrinting) {
  s_.queue.batch = 2;
  Start(1, Items(2));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 2u);
  OutputRecord piece;
  piece.seq = pool_.offered[0].task.seq;
  piece.index = 1;
  piece.item = "item1";
  piece.bytes = "x\n";
  piece.line_tagged = true;
  piece.line_tag = "item1 item2";
  sched_->OnOutput(0, piece);
  OutcomeRecord first = Ok(pool_.offered[0].task.seq);
  first.line_tagged = true;
  first.line_tag = "item1 item2";
  sched_->OnOutcome(0, first);
  sched_->OnOutcome(0, Ok(pool_.offered[1].task.seq));
  ASSERT_EQ(records_.printed.size(), 1u);
  EXPECT_EQ(records_.printed[0].line_tag, "item1 item2");
  ASSERT_EQ(records_.ok.size(), 2u);
  EXPECT_EQ(records_.ok[0].line_tag, "item1 item2");
  EXPECT_EQ(records_.ok[1].line_tag, std::nullopt);  // by its own item, if it printed
}

// The indices offered to `slot`, in order.
std::vector<uint64_t> Indices(const std::vector<FakePool::Offered>& offered) {
  std::vector<uint64_t> out;
  for (const FakePool::Offered& o : offered) out.push_back(o.task.index);
  return out;
}

class SchedulerLinesTest : public SchedulerTest {
 protected:
  void SetUp() override {
    s_.job.handler = HandlerKind::kCommand;
    s_.command.argv = {"echo"};
  }
};

// -n 2: each worker's next line is two consecutive items, worker by worker,
// as parallel's lines; the last line has what is left.
TEST_F(SchedulerLinesTest, MaxArgsHandsALinesConsecutiveItemsToOneWorker) {
  s_.command.max_args = 2;
  Start(2, Items(7));
  EXPECT_EQ(sched_->Depth(), 4u);  // the line it runs and the next one
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 5, 6}));
  EXPECT_EQ(Indices(pool_.To(1)), (std::vector<uint64_t>{3, 4, 7}));
  EXPECT_EQ(pool_.published[0], 1);  // a line's items reach the worker together
  Finish();
  EXPECT_EQ(records_.ok.size(), 7u);
}

// -X: the room of every queue, split evenly in one run a worker.
TEST_F(SchedulerLinesTest, WithoutMaxArgsTheRoomIsSplitEvenlyInConsecutiveRuns) {
  s_.command.batch = BatchMode::kJoin;
  s_.queue.slots = 8;
  Start(2, Items(7));
  sched_->Feed();
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(Indices(pool_.To(1)), (std::vector<uint64_t>{5, 6, 7}));
  Finish();
  EXPECT_EQ(records_.ok.size(), 7u);

  Start(2, Items(20));  // more than the queues hold: 4 each
  sched_->Feed();
  pool_.offered.clear();
  answered_ = 0;
  for (uint64_t seq = 1; seq <= 4; ++seq) sched_->OnOutcome(0, Ok(seq));
  sched_->Feed();  // only worker 1 has room: all of it
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{9, 10, 11, 12}));
  EXPECT_TRUE(pool_.To(1).empty());
}

// Rooms of 10 and 1: the even shares (6 and 5) do not fit the second;
// what it cannot take goes to the first, and nothing is lost.
TEST_F(SchedulerLinesTest, WhatAShareCannotHoldGoesToAnotherWorker) {
  s_.command.batch = BatchMode::kJoin;
  s_.queue.slots = 20;
  s_.queue.batch = 10;
  Start(2, Items(100));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 20u);
  std::set<uint64_t> first;  // all of worker 1's, the first of worker 2's
  for (const FakePool::Offered& o : pool_.To(0)) first.insert(o.task.seq);
  first.insert(pool_.To(1).front().task.seq);
  auto answer = [&](bool of_first) {
    for (const FakePool::Offered& o : pool_.offered) {
      if ((first.count(o.task.seq) != 0) == of_first) sched_->OnOutcome(o.slot, Ok(o.task.seq));
    }
  };
  answer(true);
  sched_->Feed();
  EXPECT_EQ(pool_.To(0).size(), 20u);
  EXPECT_EQ(pool_.To(1).size(), 11u);
  EXPECT_EQ(Indices(pool_.To(1)).back(), 27u);  // 21-26 to the first, 27, then 28-31
  EXPECT_EQ(Indices(pool_.To(0)).back(), 31u);
  answer(false);
  answered_ = pool_.offered.size();
  Finish();
  EXPECT_EQ(records_.ok.size(), 100u);
  EXPECT_TRUE(sched_->WorkDone());
}

// -X: a retry goes out alone, and the room left is filled in the same round.
TEST_F(SchedulerLinesTest, WithoutMaxArgsARetryAloneLeavesNoWorkerIdle) {
  s_.command.batch = BatchMode::kJoin;
  s_.job.retries = 1;
  s_.queue.batch = 4;
  Start(2, Items(20));
  sched_->Feed();
  ASSERT_EQ(Indices(pool_.To(1)), (std::vector<uint64_t>{5, 6, 7, 8}));
  const std::vector<FakePool::Offered> first = pool_.offered;
  sched_->OnOutcome(first[0].slot, Failed(first[0].task.seq));
  for (size_t k = 1; k < first.size(); ++k) sched_->OnOutcome(first[k].slot, Ok(first[k].task.seq));
  sched_->Feed();
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4, 1, 9, 10, 11}));
  EXPECT_EQ(Indices(pool_.To(1)), (std::vector<uint64_t>{5, 6, 7, 8, 12, 13, 14, 15}));
}

// Paced (job.delay), -X hands one item a turn, as any paced run.
TEST_F(SchedulerLinesTest, WithoutMaxArgsAPacedRunHandsOneItemATurn) {
  s_.command.batch = BatchMode::kJoin;
  s_.job.delay = Millis(100);
  Start(2, Items(10));
  sched_->Feed();
  EXPECT_EQ(pool_.offered.size(), 1u);
  clock_.Advance(100 * kMs);
  sched_->Feed();
  EXPECT_EQ(pool_.offered.size(), 2u);
}

// A retry goes out alone (the worker runs it on a line of its own), and the
// lines of new items stay whole around it.
TEST_F(SchedulerLinesTest, ARetryIsALineOfItsOwnAndTheOthersStayWhole) {
  s_.command.max_args = 2;
  s_.job.retries = 1;
  s_.queue.batch = 4;  // two lines, whatever the durations
  Start(1, Items(6));
  sched_->Feed();
  ASSERT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4}));
  sched_->OnOutcome(0, Failed(pool_.offered[0].task.seq));
  sched_->OnOutcome(0, Ok(pool_.offered[1].task.seq));
  sched_->Feed();
  // Room for two: the retry, then no whole line fits until 3 and 4 finish.
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4, 1}));
  EXPECT_EQ(Last(0).attempt, 2u);
  sched_->OnOutcome(0, Ok(pool_.offered[2].task.seq));
  sched_->OnOutcome(0, Ok(pool_.offered[3].task.seq));
  sched_->Feed();
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4, 1, 5, 6}));
  Finish();
  EXPECT_EQ(records_.ok.size(), 6u);
}

// Paced, a worker still starting gets one task, or here one line: its
// items start together whenever it starts.
TEST_F(SchedulerLinesTest, APacedWorkerStillStartingGetsOneWholeLine) {
  s_.command.max_args = 2;
  s_.job.delay = Millis(100);
  pool_.not_ready.insert(0);
  Start(1, Items(6));
  sched_->Feed();
  clock_.Advance(500 * kMs);
  sched_->Feed();
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2}));
  pool_.not_ready.clear();
  for (int round = 0; round < 10 && !sched_->WorkDone(); ++round) {
    clock_.Advance(500 * kMs);
    Finish();
  }
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(sched_->WorkDone());
}

// From a stream, a line's first items wait for the rest of it (or for the
// end of the input), as parallel -n waits for its arguments.
TEST_F(SchedulerLinesTest, AStreamedLineWaitsForItsLastItem) {
  s_.command.max_args = 2;
  Start(1, Items(5));
  source_->DeliveredSoFar(3);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(sched_->input_would_block());
  source_->DeliveredSoFar(4);
  sched_->OnOutcome(0, Ok(pool_.offered[0].task.seq));
  sched_->OnOutcome(0, Ok(pool_.offered[1].task.seq));
  sched_->Feed();
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4}));
  source_->DeliveredSoFar(5);
  sched_->Feed();  // the end of the input: the last line is what is left
  EXPECT_EQ(Indices(pool_.To(0)), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  Finish();
  EXPECT_EQ(records_.ok.size(), 5u);
  EXPECT_TRUE(sched_->WorkDone());
}

// The retry's own delay is the longer of its backoff and the service's
// Retry-After; job.retry_delay_max caps the backoff, never the service's wait
// (that is capped at a day where the header is read: ParseRetryAfter).
TEST_F(SchedulerTest, RetryWaitsAtLeastTheRetryAfterPastTheBackoffCap) {
  s_.job.retries = 2;
  s_.job.retry_delay = Millis(100);
  s_.job.retry_delay_max = Millis(200);
  s_.queue.batch = 1;
  Start(1, Items(3));
  sched_->Feed();
  SlowDown(0, 1500);
  EXPECT_TRUE(records_.Logged("item 1 attempt 1 failed (http 429); attempt 2 in 1.50s"));
  ExpectFedOnlyAfter(1500 * kMs);
  EXPECT_EQ(Last(0).index, 1u);
  EXPECT_EQ(Last(0).attempt, 2u);
  // Without a Retry-After, the backoff alone: 100 ms doubled, at its cap.
  sched_->OnOutcome(0, Failed(Last(0).seq, "http 503"));
  EXPECT_TRUE(records_.Logged("item 1 attempt 2 failed (http 503); attempt 3 in 200.0ms"));
}

// A Retry-After shorter than the backoff ends the pause of new items, not
// the retry's wait.
TEST_F(SchedulerTest, RetryAfterShorterThanTheBackoffFreesOnlyNewItems) {
  s_.job.retries = 1;
  s_.job.retry_delay = Millis(3000);
  s_.queue.batch = 1;
  Start(1, Items(3));
  sched_->Feed();
  SlowDown(0, 1000);
  EXPECT_TRUE(records_.Logged("item 1 attempt 1 failed (http 429); attempt 2 in 3.00s"));
  ExpectFedOnlyAfter(1000 * kMs);
  EXPECT_EQ(Last(0).index, 2u);  // a new item: the retry still waits
  sched_->OnOutcome(0, Ok(Last(0).seq));
  clock_.Advance(2000 * kMs - 1);
  sched_->Feed();
  EXPECT_EQ(Last(0).index, 3u);
  sched_->OnOutcome(0, Ok(Last(0).seq));
  EXPECT_FALSE(sched_->Feed());
  clock_.Advance(1);
  ASSERT_TRUE(sched_->Feed());
  EXPECT_EQ(Last(0).index, 1u);
  EXPECT_EQ(Last(0).attempt, 2u);
}

TEST_F(SchedulerTest, HaltNowKillsTheRunningItemsAndLeavesThemWithoutARecord) {
  s_.job.halt = "now,fail=1";
  s_.job.retries = 2;
  s_.queue.batch = 1;
  Start(3, Items(10));
  EXPECT_TRUE(records_.Logged("halt: job.halt = now,fail=1 (now: running items are killed"));
  sched_->Feed();
  ASSERT_EQ(pool_.offered.size(), 3u);
  pool_.running[1] = WorkerState{true, pool_.To(1)[0].task.seq, clock_.NowNs()};
  pool_.running[2] = WorkerState{true, pool_.To(2)[0].task.seq, clock_.NowNs()};
  // Halting is about items that failed for good: a retry first.
  sched_->OnOutcome(0, Failed(Last(0).seq));
  EXPECT_FALSE(sched_->halted());
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  ASSERT_TRUE(sched_->halted());
  EXPECT_TRUE(sched_->halted_now());
  EXPECT_EQ(sched_->halt_reason(), "1 failure reached job.halt = now,fail=1");
  EXPECT_EQ(pool_.kills, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(records_.said.size(), 1u);
  EXPECT_EQ(records_.said[0],
            "shoal: halting now: 1 failure reached job.halt = now,fail=1; killing 2 running "
            "item(s)");
  // What a dying command's worker still says is no outcome: no record, no retry.
  sched_->OnOutcome(1, Failed(pool_.To(1)[0].task.seq, "signal 9"));
  EXPECT_TRUE(records_.Logged("item 2 failed (signal 9) during the halt; no record"));
  pool_.running.clear();
  Exit(0, SIGKILL, true, 0);
  Exit(1, SIGKILL, true, 0);
  Exit(2, SIGKILL, true, pool_.To(2)[0].task.seq);
  EXPECT_TRUE(sched_->Finished());
  EXPECT_EQ(sched_->worker_deaths(), 0u);  // the halt killed them
  EXPECT_EQ(records_.failed.size(), 1u);
  EXPECT_TRUE(records_.ok.empty());
  EXPECT_EQ(pool_.starts.size(), 3u);  // no replacement
}

TEST_F(SchedulerTest, HaltSoonOnSuccessesLetsTheRunningItemsFinish) {
  s_.job.halt = "soon,success=2";
  s_.queue.batch = 1;
  Start(2, Items(10));
  sched_->Feed();
  sched_->OnOutcome(0, Ok(Last(0).seq));
  EXPECT_FALSE(sched_->halted());
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));  // failures do not count
  sched_->Feed();
  sched_->OnOutcome(0, Ok(Last(0).seq));
  ASSERT_TRUE(sched_->halted());
  EXPECT_FALSE(sched_->halted_now());
  EXPECT_EQ(sched_->halt_reason(), "2 successes reached job.halt = soon,success=2");
  EXPECT_TRUE(pool_.kills.empty());
  EXPECT_FALSE(sched_->Feed());
  sched_->OnOutcome(1, Ok(Last(1).seq));  // the running one is recorded
  EXPECT_TRUE(sched_->WorkDone());
  EXPECT_EQ(records_.ok.size(), 3u);
}

TEST_F(SchedulerTest, HaltOnDoneCountsEveryFinishedItem) {
  s_.job.halt = "soon,done=3";
  s_.queue.batch = 1;
  Start(1, Items(10));
  for (bool ok : {true, false, true}) {
    EXPECT_FALSE(sched_->halted());
    sched_->Feed();
    sched_->OnOutcome(0, ok ? Ok(Last(0).seq) : Failed(Last(0).seq));
  }
  ASSERT_TRUE(sched_->halted());
  EXPECT_EQ(sched_->halt_reason(), "3 finished items reached job.halt = soon,done=3");
  EXPECT_EQ(pool_.offered.size(), 3u);
}

TEST_F(SchedulerTest, HaltOnAShareOfFailuresWaitsForItsSample) {
  s_.job.halt = "soon,fail=20%";
  s_.queue.batch = 1;
  limits_.halt_min_sample = 10;
  Start(1, Items(30));
  // Two failures first: 2 of 9 is 22 % but too few to judge; 2 of 10 is 20 %.
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(sched_->halted()) << i;
    sched_->Feed();
    sched_->OnOutcome(0, i < 2 ? Failed(Last(0).seq) : Ok(Last(0).seq));
  }
  ASSERT_TRUE(sched_->halted());
  EXPECT_EQ(sched_->halt_reason(),
            "2 of 10 finished items failed (20.0%), job.halt = soon,fail=20%");
}

TEST_F(SchedulerTest, MaxFailuresIsHaltSoonOnFailures) {
  s_.job.max_failures = 1;
  Start(2, Items(4));
  sched_->Feed();
  sched_->OnOutcome(0, Failed(Last(0).seq));
  ASSERT_TRUE(sched_->halted());
  EXPECT_FALSE(sched_->halted_now());
  EXPECT_TRUE(pool_.kills.empty());
  EXPECT_EQ(sched_->halt_reason(), "1 failure reached job.max_failures = 1");
}

TEST_F(SchedulerTest, DelayIsALeastTimeBetweenTwoStartsWithoutCatchingUp) {
  s_.job.delay = Millis(200);
  Start(3, Items(10));
  EXPECT_TRUE(records_.Logged("job.delay = 200ms: at least 200ms between two starts"));
  const uint64_t t0 = clock_.NowNs();
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 1u);                  // not one per worker
  EXPECT_EQ(sched_->NextDeadlineNs(), t0 + 200 * kMs);  // the loop sleeps until then
  clock_.Advance(200 * kMs - 1);
  EXPECT_FALSE(sched_->Feed());
  clock_.Advance(1);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 2u);
  // Woken late: one start, and the next a whole delay after it (a rate
  // would catch up on the turn it missed).
  clock_.Advance(450 * kMs);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 3u);
  sched_->OnOutcome(0, Ok(pool_.offered[0].task.seq));  // room for the next
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 200 * kMs);
  // Each start was at least 200 ms after the one before.
  size_t answered = 1;
  std::vector<uint64_t> starts{t0, t0 + 200 * kMs, clock_.NowNs()};
  for (int ms = 0; ms < 2000; ++ms) {
    clock_.Advance(kMs);
    for (; answered < pool_.offered.size(); ++answered) {
      sched_->OnOutcome(pool_.offered[answered].slot, Ok(pool_.offered[answered].task.seq));
    }
    const size_t before = pool_.offered.size();
    sched_->Feed();
    if (pool_.offered.size() > before) starts.push_back(clock_.NowNs());
    EXPECT_LE(pool_.offered.size(), before + 1);
  }
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], 200 * kMs);
  EXPECT_EQ(pool_.offered.size(), 10u);
}

TEST_F(SchedulerTest, DelayAndRateTheWiderSpacingHolds) {
  s_.job.delay = Millis(300);
  s_.job.rate = "10/s";
  Start(2, Items(10));
  sched_->Feed();
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + 300 * kMs);
}

TEST_F(SchedulerTest, AShorterDelayLeavesTheRateAsItIs) {
  s_.job.delay = Millis(50);
  s_.job.rate = "1/s";
  Start(2, Items(10));
  EXPECT_TRUE(records_.Logged("job.rate = 1/s"));
  sched_->Feed();
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() - 5 * kMs + kSec);  // the rate's catch-up
}

TEST_F(SchedulerTest, MemfreeHoldsBackStartsAndLooksAgainOnATimer) {
  s_.job.memfree = "2G";
  host_.mem = 1ull << 30;
  Start(2, Items(5));
  EXPECT_TRUE(records_.Logged("no item starts while free memory is below job.memfree = 2G"));
  EXPECT_FALSE(sched_->Feed());
  EXPECT_TRUE(pool_.offered.empty());
  EXPECT_TRUE(records_.Logged("free memory 1024 MiB is below job.memfree = 2G: no item starts"));
  // No busy loop: the next look is on a timer, and feeding again before
  // it reads nothing.
  EXPECT_EQ(sched_->NextDeadlineNs(), clock_.NowNs() + limits_.host_check_ns);
  const int reads = host_.reads;
  EXPECT_FALSE(sched_->Feed());
  EXPECT_EQ(host_.reads, reads);
  host_.mem = 3ull << 30;
  clock_.Advance(limits_.host_check_ns - 1);
  EXPECT_FALSE(sched_->Feed());
  clock_.Advance(1);
  EXPECT_TRUE(sched_->Feed());
  EXPECT_EQ(pool_.offered.size(), 2u);  // one each: what a worker starts at once
  EXPECT_TRUE(records_.Logged("the host has room again"));
  // Fast items do not deepen the queues past what starts under the limit.
  for (int i = 0; i < 2; ++i) sched_->OnOutcome(i, Ok(pool_.To(i)[0].task.seq, 0.01));
  EXPECT_EQ(sched_->Depth(), 1u);
}

TEST_F(SchedulerTest, LoadHoldsBackStartsWhileAtOrAboveTheLimit) {
  s_.job.load = "4";
  host_.load = 4.0;
  Start(1, Items(3));
  EXPECT_FALSE(sched_->Feed());
  EXPECT_TRUE(records_.Logged("the load average 4.00 is at or above job.load = 4"));
  host_.load = 3.9;
  clock_.Advance(limits_.host_check_ns);
  EXPECT_TRUE(sched_->Feed());
}

// As parallel's --load 100%: a load of one per online core.
TEST_F(SchedulerTest, LoadAsAShareOfTheCores) {
  s_.job.load = "50%";
  host_.cores = 8;
  host_.load = 4.0;
  Start(1, Items(3));
  EXPECT_FALSE(sched_->Feed());
  EXPECT_TRUE(records_.Logged(
      "the load average 4.00 is at or above job.load = 50% (4.00 on 8 cores): no item starts"));
  host_.load = 3.99;
  clock_.Advance(limits_.host_check_ns);
  EXPECT_TRUE(sched_->Feed());
}

TEST_F(SchedulerTest, AHostGaugeThatCannotBeReadHoldsNothingBack) {
  s_.job.memfree = "2G";
  s_.job.load = "1";
  host_.mem = std::nullopt;
  host_.load = std::nullopt;
  Start(1, Items(3));
  EXPECT_TRUE(sched_->Feed());
}

TEST_F(SchedulerTest, WithoutHostLimitsTheHostIsNeverRead) {
  Start(2, Items(3));
  sched_->Feed();
  EXPECT_EQ(host_.reads, 0);
}

}  // namespace
}  // namespace shoal
