#include "worker/worker_loop.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/channel.h"
#include "common/fault.h"
#include "common/json.h"
#include "common/shm_segment.h"
#include "common/wire.h"
#include "config/load.h"
#include "job/fields.h"
#include "job/settings_digest.h"
#include "job/template.h"
#include "worker/handler.h"
#include "worker/orphans.h"

namespace shoal {

namespace {

// How long a worker sleeps at most before looking again (master alive?
// work arrived without a wake-up?): bounds the cost of a lost wake-up.
constexpr int kIdleWaitMs = 200;
// A worker with finished items wakes a sleeping master at least this often.
constexpr uint64_t kWakeMasterEveryNs = 5'000'000;
// An item or a line's tag, as sent for the master's tag of printed output.
constexpr size_t kTagBytes = 16 * 1024;

// The master announces new tasks on a futex word (common/channel.h), which
// no poll can wait on, while an http worker with calls in flight waits in
// its handler's Poll (curl_multi_poll). The bell is a thread that waits on
// that word and turns each bump into AsyncHandler::Wake. A thread rather than
// an eventfd the master writes: the master's side and the protocol every
// other worker uses stay as they are, and only a worker that has calls in
// flight pays for it (one futex wake-up and one write per wake).
class TaskBell {
 public:
  TaskBell(WorkerControl* control, AsyncHandler& handler)
      : control_(control),
        handler_(handler),
        // Read here, before the worker can next set `sleeping`: any bump
        // that wake-up may cause comes after, and is seen.
        seen_(control->wake.load(std::memory_order_acquire)),
        thread_([this] { Listen(); }) {}
  ~TaskBell() {
    stop_.store(true, std::memory_order_seq_cst);
    control_->wake.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&control_->wake);
    thread_.join();
  }
  TaskBell(const TaskBell&) = delete;
  TaskBell& operator=(const TaskBell&) = delete;

 private:
  void Listen() {
    while (!stop_.load(std::memory_order_acquire)) {
      FutexWait(&control_->wake, seen_, -1);
      // Read before Wake: a bump after this read leaves the word unlike
      // seen_, so the next FutexWait returns at once.
      const uint32_t now = control_->wake.load(std::memory_order_acquire);
      if (now == seen_) continue;  // a spurious return
      seen_ = now;
      handler_.Wake();
    }
  }

  WorkerControl* control_;
  AsyncHandler& handler_;
  uint32_t seen_;  // the bell thread's, once it runs
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the rest is set
};

class Worker : public LogSink {
 public:
  Worker(const WorkerArgs& args, SegmentHeader* header, Channel channel)
      : args_(args), header_(header), ch_(channel) {}

  int Loop(Handler& handler, const Settings& settings, InputKind kind,
           const FieldSplitter& splitter) {
    std::string item;
    while (true) {
      TaskRecord task;
      if (!NextTask(&task, &item)) return master_gone_ ? kWorkerMasterGone : 0;
      // One clock read serves both the master's timeout watch and `ms`.
      const uint64_t start = MonotonicNanos();
      ch_.control->current_start_ns.store(start, std::memory_order_relaxed);
      ch_.control->current_seq.store(task.seq, std::memory_order_release);
      current_seq_ = task.seq;
      current_index_ = task.index;
      FillItemPaths(settings, kind, item, task.index, args_.slot + 1, args_.run_dir, &paths_,
                    handler.fields(), &splitter);
      Outcome outcome = handler.Run(paths_, *this);
      double ms = static_cast<double>(MonotonicNanos() - start) / 1e6;
      PublishOutcome(task.seq, outcome, ms, start);
      ch_.control->current_seq.store(0, std::memory_order_release);
      current_seq_ = 0;
      current_index_ = 0;
      if (master_gone_) return kWorkerMasterGone;
    }
  }

  // A handler that runs many items per command line (command.batch): take
  // what the ring holds, up to max_batch, and run it in command lines of
  // what Fit allows. Accounting stays per item: a command line that
  // succeeds publishes an outcome for each of its items (the first carries
  // its output); one that fails is split in halves, each run again, until
  // the failing items stand alone, so each failure is an item's own. What
  // the master watches: taken_seq, stored before anything runs (a death
  // charges every unfinished task up to it an attempt, as with LoopAsync),
  // and current_seq with its start, the first item of the running line.
  int LoopBatches(Handler& handler, const Settings& settings, InputKind kind,
                  const FieldSplitter& splitter) {
    const size_t most = handler.max_batch();
    // The tag of a line's output (output.tag, output.tagstring) is made
    // here, where the line's items are known; the master tags the output
    // of a line of one item by its item, as any other.
    Template tag;
    bool tags = TagsPrintedLines(settings.output);
    if (tags) {
      const std::string& text = settings.output.tagstring;
      Result<Template> t =
          Template::Parse(text.empty() ? "{item}" : text, FieldContextOf(settings));
      tags = t.ok();  // checked before the run
      if (tags) tag = std::move(t).value();
    }
    const unsigned fields = handler.fields() | tag.fields();
    const BatchMode mode = BatchOf(settings.command);
    std::string item, next_item;
    std::vector<uint64_t> seqs;
    // A retry runs on a line of its own (its line failed and was split until
    // it stood alone): one taken while a line was being made starts the
    // next line. It counts as not taken (taken_seq) until that line starts.
    TaskRecord next;
    bool have_next = false;
    while (true) {
      TaskRecord task;
      if (have_next) {
        if (header_->shutdown.load(std::memory_order_acquire) != 0) return 0;
        item.swap(next_item);
        task = next;
        task.item = item;
        have_next = false;
      } else if (!NextTask(&task, &item)) {
        return master_gone_ ? kWorkerMasterGone : 0;
      }
      seqs.clear();
      const bool alone = task.attempt > 1;
      while (true) {
        if (batch_paths_.size() <= seqs.size()) batch_paths_.emplace_back();
        FillItemPaths(settings, kind, task.item, task.index, args_.slot + 1, args_.run_dir,
                      &batch_paths_[seqs.size()], fields, &splitter);
        seqs.push_back(task.seq);
        if (alone || seqs.size() >= most ||
            header_->shutdown.load(std::memory_order_acquire) != 0 ||
            TryTake(&task, &item) != ByteRing::ReadStatus::kRecord) {
          break;
        }
        if (task.attempt > 1) {
          next_item.assign(task.item);
          next = task;
          have_next = true;
          break;
        }
      }
      ch_.control->taken_seq.store(seqs.back(), std::memory_order_release);
      RunTaken(handler, seqs, tags ? &tag : nullptr, mode);
      ch_.control->current_seq.store(0, std::memory_order_release);
      current_seq_ = 0;
      current_index_ = 0;
      if (master_gone_) return kWorkerMasterGone;
    }
  }

  // A handler with many items in flight: take tasks while it has room,
  // start each at once, publish outcomes as they come, in any order. What
  // the master watches: taken_seq (every unfinished task up to it has
  // started: a death re-queues them all) and current_seq, the oldest
  // unfinished one (its start is what a stuck worker is judged by).
  int LoopAsync(AsyncHandler& handler, const Settings& settings, InputKind kind, unsigned fields,
                const FieldSplitter& splitter) {
    std::string item;
    std::vector<Completion> done;
    TaskBell bell(ch_.control, handler);
    while (true) {
      const bool stop = header_->shutdown.load(std::memory_order_acquire) != 0;
      while (!stop && handler.in_flight() < handler.capacity()) {
        TaskRecord task;
        ByteRing::ReadStatus st = TryTake(&task, &item);
        if (st != ByteRing::ReadStatus::kRecord) break;
        StartAsync(handler, task, settings, kind, fields, splitter);
      }
      if (running_.empty()) {
        if (stop) return 0;
        // Nothing in flight: sleep on the ring as the one-at-a-time loop does.
        TaskRecord task;
        if (!NextTask(&task, &item)) return master_gone_ ? kWorkerMasterGone : 0;
        StartAsync(handler, task, settings, kind, fields, splitter);
        continue;
      }
      // About to wait: a master asleep must see what was published, within
      // kWakeMasterEveryNs rather than at once: calls finish one by one,
      // and a wake-up per finished call is what the master's time went to.
      int wait_ms = kIdleWaitMs;
      if (unannounced_ && MasterWouldTake()) {
        WakeMaster(/*force=*/false);
        if (unannounced_) wait_ms = MillisUntilWakeDue();
      }
      // With room for more, wait as asleep on the ring too (the mirror of
      // NextTask's "set sleeping, fence, re-check"): the master's wake-up
      // reaches the poll through the bell, so a new task starts at once.
      const bool room = !stop && handler.in_flight() < handler.capacity();
      if (room) {
        ch_.control->sleeping.store(1, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (ch_.tasks.HasData()) {
          ch_.control->sleeping.store(0, std::memory_order_relaxed);
          continue;
        }
      }
      done.clear();
      handler.Poll(wait_ms, &done);
      ch_.control->sleeping.store(0, std::memory_order_relaxed);
      for (Completion& c : done) FinishAsync(c);
      if (MasterGone()) return kWorkerMasterGone;
    }
  }

  void Log(std::string_view line) override {
    LogRecord rec{current_seq_, current_index_, line.substr(0, 16 * 1024)};
    EncodeLog(rec, &buffer_);
    Push(ch_.logs, kLogRecord, buffer_);
  }

  // Printed while the item runs: the master prints it as soon as it looks,
  // so a sleeping master is woken for it.
  void Forward(OutputStream stream, std::string_view bytes) override {
    const ItemPaths& running = line_.empty() ? paths_ : line_.front();
    OutputRecord rec{current_seq_,
                     current_index_,
                     stream,
                     Utf8Prefix(running.item, kTagBytes),
                     bytes.substr(0, kOutputPiece),
                     line_tagged_,
                     line_tag_};
    EncodeOutput(rec, &buffer_);
    Push(ch_.logs, kOutputRecord, buffer_);
    WakeMaster(/*force=*/true);
  }

 private:
  struct Running {
    uint64_t seq;
    uint64_t index;
    uint64_t start_ns;
    bool done;
  };

  // Runs the taken items (batch_paths_[i] is the task of seqs[i]) in order,
  // halving each command line that fails until its failures are isolated.
  // With `tag`, the output of a line of many items carries the line's tag.
  void RunTaken(Handler& handler, const std::vector<uint64_t>& seqs, const Template* tag,
                BatchMode mode) {
    std::vector<std::pair<size_t, size_t>> todo{{0, seqs.size()}};  // [begin, end), last first
    while (!todo.empty()) {
      auto [begin, end] = todo.back();
      todo.pop_back();
      std::span<const ItemPaths> items(&batch_paths_[begin], end - begin);
      const size_t fit = std::max<size_t>(handler.Fit(items), 1);
      if (fit < items.size()) {
        todo.push_back({begin + fit, end});
        end = begin + fit;
        items = items.first(fit);
      }
      const uint64_t start = MonotonicNanos();
      ch_.control->current_start_ns.store(start, std::memory_order_relaxed);
      ch_.control->current_seq.store(seqs[begin], std::memory_order_release);
      current_seq_ = seqs[begin];
      current_index_ = items.front().index;
      line_ = items;
      line_tagged_ = tag != nullptr && items.size() > 1;
      if (line_tagged_) {
        line_tag_.clear();
        // A value that cannot be had ({2} of a one-field item) leaves its part empty.
        (void)tag->AppendLine(items, mode, &line_tag_);
        line_tag_.resize(Utf8Prefix(line_tag_, kTagBytes).size());
      }
      Outcome outcome = handler.RunBatch(items, *this);
      line_ = {};
      // The line's time, shared by its items: `ms` stays an item's cost.
      const double ms =
          static_cast<double>(MonotonicNanos() - start) / 1e6 / static_cast<double>(items.size());
      if (outcome.ok || items.size() == 1 || outcome.reason == "interrupted") {
        PublishOutcome(seqs[begin], outcome, ms, start);
        line_tagged_ = false;  // the first record carries the line's output and tag
        Outcome rest;
        rest.ok = outcome.ok;
        rest.exit_code = outcome.exit_code;
        rest.signal = outcome.signal;
        rest.reason = outcome.reason;
        for (size_t i = begin + 1; i < end; ++i) PublishOutcome(seqs[i], rest, ms, start);
        continue;
      }
      line_tagged_ = false;
      if (header_->shutdown.load(std::memory_order_acquire) != 0) {
        // Stopping: splitting would start new commands. The unfinished
        // items are left to resume, as unstarted ones are.
        return;
      }
      Log("items " + std::to_string(items.front().index) + ".." +
          std::to_string(items.back().index) + ": a command line of " +
          std::to_string(items.size()) + " items failed (" + outcome.reason +
          "); running it again in halves to find the items that fail");
      const size_t mid = begin + items.size() / 2;
      todo.push_back({mid, end});
      todo.push_back({begin, mid});
      if (MasterGone()) return;
    }
  }

  void StartAsync(AsyncHandler& handler, const TaskRecord& task, const Settings& settings,
                  InputKind kind, unsigned fields, const FieldSplitter& splitter) {
    const uint64_t start = MonotonicNanos();
    running_.push_back({task.seq, task.index, start, false});
    // Before the call starts: a death from here on charges it an attempt.
    ch_.control->taken_seq.store(task.seq, std::memory_order_release);
    if (running_.size() == 1) {
      ch_.control->current_start_ns.store(start, std::memory_order_relaxed);
      ch_.control->current_seq.store(task.seq, std::memory_order_release);
    }
    current_seq_ = task.seq;
    current_index_ = task.index;
    FillItemPaths(settings, kind, task.item, task.index, args_.slot + 1, args_.run_dir, &paths_,
                  fields, &splitter);
    handler.Start(task.seq, paths_, *this);
    current_seq_ = 0;
    current_index_ = 0;
  }

  void FinishAsync(const Completion& c) {
    // running_ holds at most http.concurrency entries, oldest first.
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const Running& r) { return r.seq == c.tag && !r.done; });
    if (it == running_.end()) return;  // cannot happen: every tag was started here
    it->done = true;
    unannounced_ = true;  // before: the publish may announce it
    PublishOutcome(c.tag, c.outcome, static_cast<double>(MonotonicNanos() - it->start_ns) / 1e6,
                   it->start_ns);
    if (it != running_.begin()) return;
    while (!running_.empty() && running_.front().done) running_.pop_front();
    if (running_.empty()) {
      ch_.control->current_seq.store(0, std::memory_order_release);
    } else {
      ch_.control->current_start_ns.store(running_.front().start_ns, std::memory_order_relaxed);
      ch_.control->current_seq.store(running_.front().seq, std::memory_order_release);
    }
  }

  // One look at the task ring: kRecord with *task filled, or kEmpty.
  ByteRing::ReadStatus TryTake(TaskRecord* task, std::string* item) {
    std::string_view payload;
    uint32_t type = 0;
    ByteRing::ReadStatus st = ch_.tasks.Read(&type, &payload, &scratch_);
    if (st == ByteRing::ReadStatus::kRecord) {
      if (type != kTaskRecord || !DecodeTask(payload, task)) {
        std::fprintf(stderr, "shoal-worker %d: malformed task record\n", args_.slot + 1);
        _exit(kWorkerStartFailed);
      }
      item->assign(task->item);
      task->item = *item;
      ch_.tasks.Release();
      AskForMoreEarly();
      FaultPoint("worker-after-take");
      return st;
    }
    if (st == ByteRing::ReadStatus::kCorrupt) {
      std::fprintf(stderr, "shoal-worker %d: corrupt task ring\n", args_.slot + 1);
      _exit(kWorkerStartFailed);
    }
    return st;
  }

  // Takes the next task, sleeping while there is none. False at shutdown.
  bool NextTask(TaskRecord* task, std::string* item) {
    while (true) {
      // Shutdown means "take nothing more": at the end of a run the rings are
      // empty anyway; on an interrupt, queued tasks stay unstarted.
      if (header_->shutdown.load(std::memory_order_acquire) != 0) return false;
      if (TryTake(task, item) == ByteRing::ReadStatus::kRecord) return true;
      // Nothing to do: make sure the master has seen everything, then sleep.
      FaultPoint("worker-idle");
      WakeMaster(/*force=*/true);
      unannounced_ = false;
      uint32_t seen = ch_.control->wake.load(std::memory_order_acquire);
      ch_.control->sleeping.store(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!ch_.tasks.HasData() && header_->shutdown.load(std::memory_order_acquire) == 0) {
        FutexWait(&ch_.control->wake, seen, kIdleWaitMs);
      }
      ch_.control->sleeping.store(0, std::memory_order_relaxed);
      if (MasterGone()) return false;
    }
  }

  void PublishOutcome(uint64_t seq, const Outcome& o, double ms, uint64_t start_ns) {
    OutcomeRecord rec;
    rec.seq = seq;
    rec.start_ns = start_ns;
    rec.ok = o.ok;
    rec.exit_code = o.exit_code;
    rec.signal = o.signal;
    rec.ms = ms;
    rec.reason = o.reason;
    rec.output = std::string_view(o.output).substr(0, kInlineOutput);
    rec.output_file = o.output_file;
    rec.stderr_tail = std::string_view(o.stderr_tail).substr(0, kStderrTail);
    rec.stderr_file = o.stderr_file;
    rec.http_status = o.http_status;
    rec.bytes = o.bytes;
    rec.retry_after_ms = o.retry_after_ms;
    rec.final = o.final;
    // A cut JSON value is no JSON: then it is a string like any other.
    rec.output_json = o.output_json && o.output.size() <= kInlineOutput;
    rec.line_tagged = line_tagged_;
    rec.line_tag = line_tag_;
    EncodeOutcome(rec, &buffer_);
    Push(o.ok ? ch_.results : ch_.errors, kOutcomeRecord, buffer_);
    if (MasterWouldTake()) WakeMaster(/*force=*/false);
  }

  // Appends and publishes one record, waiting for room if the ring is full
  // (the master drains it; it is woken so that it does). A record longer
  // than a quarter of the ring goes in pieces (byte_ring.h), so that it never
  // waits for the ring to empty and gets through a ring smaller than itself.
  void Push(ByteRing& ring, uint32_t type, std::string_view payload) {
    if (payload.size() > ByteRing::kMaxPiecedRecord) {
      // Cannot happen with the size caps above; never wait for the impossible.
      std::fprintf(stderr, "shoal-worker %d: record of %zu bytes dropped\n", args_.slot + 1,
                   payload.size());
      return;
    }
    if (payload.size() <= ring.max_piece()) {
      while (!ring.TryWrite(type, payload)) {
        if (!WaitForRoom(ring, ByteRing::RecordBytes(payload.size()))) return;
      }
    } else {
      size_t offset = 0;
      while (true) {
        while (!ring.TryWritePiece(type, payload, &offset)) {
          if (!WaitForRoom(ring, ByteRing::RecordBytes(ring.max_piece()))) return;
        }
        if (offset == payload.size()) break;
        ring.Publish();  // the master takes this piece while the next is written
      }
    }
    ch_.control->needs_room.store(0, std::memory_order_relaxed);
    FaultPoint(type == kOutcomeRecord ? "worker-before-publish" : "worker-mid-log");
    ring.Publish();
  }

  // Waits until the master frees `need` bytes of `ring` (or a timeout: the
  // caller tries again). False when the master is gone: nobody will read it.
  bool WaitForRoom(ByteRing& ring, uint64_t need) {
    ch_.control->needs_room.store(1, std::memory_order_seq_cst);
    WakeMaster(/*force=*/true);
    uint32_t seen = ch_.control->wake.load(std::memory_order_acquire);
    ch_.control->sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ring.FreeBytes() < need) FutexWait(&ch_.control->wake, seen, kIdleWaitMs);
    ch_.control->sleeping.store(0, std::memory_order_relaxed);
    return !MasterGone();
  }

  // The master refills a worker once half of what it queued is taken (see
  // Master::NeedsRefill) and sleeps until then: wake it at that point, while
  // the other half keeps this worker busy, rather than when nothing is left.
  void AskForMoreEarly() {
    const uint64_t backlog = ch_.tasks.KnownBacklog();
    if (backlog > last_backlog_) {  // tasks the master added since: a new batch
      refill_mark_ = backlog / 2;
      refill_armed_ = true;
    }
    last_backlog_ = backlog;
    if (refill_armed_ && backlog <= refill_mark_) {
      refill_armed_ = false;
      WakeMaster(/*force=*/true);
    }
  }

  // Whether a master woken now would take this worker's outcomes. It takes
  // them in rounds (ProcessPool::RoundDue): once a worker's queue is down to
  // the half it asks more for, a ring it writes is half full, or at the end.
  // Before that, a wake-up for outcomes costs the master a wake-up and a
  // look for nothing (a fifth to a third of its wake-ups in the http run):
  // the take that reaches the half wakes it (AskForMoreEarly), and outcomes
  // published after that wake it as before. Reads the task ring's tail, so
  // that tasks added since the last take count.
  bool MasterWouldTake() {
    // After the publish: a master that turns to taking all (takes_all) and
    // then sleeps either saw the publish or is seen to take all here.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (header_->takes_all.load(std::memory_order_relaxed) != 0) return true;
    if (header_->shutdown.load(std::memory_order_relaxed) != 0) return true;
    if (ch_.tasks.UsedBytes() <= refill_mark_) return true;
    for (ByteRing* ring : {&ch_.results, &ch_.errors}) {
      if (ring->Backlog() * 2 >= ring->capacity()) return true;
    }
    return false;
  }

  // Wakes the master if it sleeps, at most every kWakeMasterEveryNs unless
  // forced (the worker is about to wait on the master).
  void WakeMaster(bool force) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (header_->master_sleeping.load(std::memory_order_relaxed) == 0) {
      // Awake, the master re-checks every ring before it sleeps again
      // (common/channel.h): what was published is seen.
      unannounced_ = false;
      return;
    }
    uint64_t now = MonotonicNanos();
    if (!force && now - last_wake_ns_ < kWakeMasterEveryNs) return;
    last_wake_ns_ = now;
    unannounced_ = false;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(args_.wake_fd, &one, sizeof one);
  }

  // How long until WakeMaster(false) would wake the master again: 1 ms at least.
  int MillisUntilWakeDue() const {
    const uint64_t due = last_wake_ns_ + kWakeMasterEveryNs;
    const uint64_t now = MonotonicNanos();
    if (due <= now) return 1;
    return static_cast<int>(std::min<uint64_t>((due - now + 999'999) / 1'000'000, kIdleWaitMs));
  }

  bool MasterGone() {
    if (::getppid() != args_.master_pid) master_gone_ = true;
    return master_gone_;
  }

  const WorkerArgs& args_;
  SegmentHeader* header_;
  Channel ch_;
  std::string buffer_;
  std::string scratch_;
  ItemPaths paths_;                     // reused for every item
  std::vector<ItemPaths> batch_paths_;  // LoopBatches: the taken items, reused
  std::span<const ItemPaths> line_;     // RunTaken: the command line running
  bool line_tagged_ = false;            // records of it carry line_tag_ (the first only)
  std::string line_tag_;
  uint64_t current_seq_ = 0;
  uint64_t current_index_ = 0;
  uint64_t last_wake_ns_ = 0;
  uint64_t last_backlog_ = 0;  // task bytes known unread, after the last take
  uint64_t refill_mark_ = 0;   // wake the master once the backlog falls to this
  bool refill_armed_ = false;
  bool master_gone_ = false;
  bool unannounced_ = false;     // outcomes published since the master was last woken
  std::deque<Running> running_;  // LoopAsync: started items, in task order
};

// The run's settings.toml, if it is still what the master wrote and runs by.
Result<Settings> ReadMastersSettings(const WorkerArgs& args) {
  const std::string path = args.run_dir + "/settings.toml";
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Status::FromErrno("cannot read " + path, errno);
  if (SettingsDigest(text) != args.settings_digest) {
    return Status::Error(path +
                         " is not the settings this run started with (changed since, or "
                         "rewritten by another shoal on the same run directory); nothing more "
                         "runs: start a new run, or resume this one once nothing else uses it");
  }
  return ParseSettings(text, path, args.run_dir, {});
}

// The running command's process group, for the SIGTERM handler.
std::atomic<int32_t>* g_child_pgid = nullptr;

// SIGTERM (also what a dying master sends, through PDEATHSIG): the command
// runs in its own process group, out of reach of signals to ours, so take
// it down with us. Only async-signal-safe calls here.
void OnTerminate(int) {
  if (g_child_pgid != nullptr) {
    int32_t pgid = g_child_pgid->load(std::memory_order_relaxed);
    if (pgid > 0) ::kill(-pgid, SIGKILL);
  }
  EndOrphans();  // and what commands left outside their group
  _exit(kWorkerMasterGone);
}

}  // namespace

int RunWorker(const WorkerArgs& args) {
  struct sigaction sa {};
  sa.sa_handler = OnTerminate;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  // A dead master must leave no orphans: the kernel signals us when it exits,
  // and the getppid() check covers a master that died before prctl ran.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != args.master_pid) return kWorkerMasterGone;
  // Processes a command starts outside its process group (setsid, daemons)
  // become ours when their parent exits, not init's, so that they end with
  // the item and with this worker (worker/orphans.h says why not a cgroup).
  const bool subreaper = BecomeSubreaper();
  // Ctrl-C reaches the whole foreground process group; the master decides
  // what an interrupt means for running items, so workers ignore it.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "shoal-worker %d: %s\n", args.slot + 1, message.c_str());
    return kWorkerStartFailed;
  };
  auto segment = SharedSegment::Open(args.segment);
  if (!segment.ok()) return fail(segment.status().message());
  SegmentHeader* header = SegmentLayout::Attach((*segment)->data(), (*segment)->size());
  if (header == nullptr) return fail("shared memory " + args.segment + " is not a shoal segment");
  if (args.slot < 0 || static_cast<uint32_t>(args.slot) >= header->slots) {
    return fail("slot " + std::to_string(args.slot) + " out of range");
  }
  Channel channel = SegmentLayout::ChannelOf(header, static_cast<uint32_t>(args.slot));

  auto settings = ReadMastersSettings(args);
  if (!settings.ok()) return fail(settings.status().message());
  InputKind kind = settings->input.kind == InputKind::kTree ? InputKind::kTree : InputKind::kList;
  g_child_pgid = &channel.control->child_pgid;
  HandlerContext context{*settings, kind, args.run_dir, args.slot + 1};
  context.child_pgid = &channel.control->child_pgid;
  context.end_orphans = subreaper;
  auto handler = MakeHandler(context);
  if (!handler.ok()) return fail(handler.status().message());
  // Each item's {1} {2} ... come from its record, split here as the master
  // read it (job/fields.h).
  auto splitter = FieldSplitter::Make(settings->input);
  if (!splitter.ok()) return fail(splitter.status().message());

  FaultPoint("worker-start");
  channel.control->pid.store(static_cast<uint32_t>(::getpid()), std::memory_order_relaxed);
  channel.control->ready.store(1, std::memory_order_release);
  Worker worker(args, header, channel);
  AsyncHandler* async = (*handler)->async();
  int code =
      async != nullptr ? worker.LoopAsync(*async, *settings, kind, (*handler)->fields(), *splitter)
      : (*handler)->max_batch() > 1 ? worker.LoopBatches(**handler, *settings, kind, *splitter)
                                    : worker.Loop(**handler, *settings, kind, *splitter);
  EndOrphans();  // nothing a command started outlives its worker
  return code;
}

int WorkerMain(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: shoal-worker SEGMENT SLOT RUN_DIR WAKE_FD MASTER_PID SETTINGS_SHA256\n"
                 "(started by 'shoal run'; not meant to be run by hand)\n");
    return 2;
  }
  WorkerArgs args;
  args.segment = argv[1];
  args.slot = std::atoi(argv[2]);
  args.run_dir = argv[3];
  args.wake_fd = std::atoi(argv[4]);
  args.master_pid = std::atoi(argv[5]);
  args.settings_digest = argv[6];
  return RunWorker(args);
}

}  // namespace shoal
