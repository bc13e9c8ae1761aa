// The per-item path of the scheduler: reading the input, feeding workers,
// taking outcomes, retries with backoff, halting. Workers' lives (starts,
// deaths, timeouts, signals, stopping) are in scheduler_workers.cc.
#include "master/scheduler.h"

#include <algorithm>
#include <cstdio>

#include "config/capacity.h"
#include "config/load.h"
#include "config/rate.h"
#include "master/resume.h"

namespace shoal {

namespace {

// A record's tag of a command line of many items, if it has one.
std::optional<std::string_view> LineTagOf(bool tagged, std::string_view tag) {
  if (!tagged) return std::nullopt;
  return tag;
}

// output.order = "input": records held back, per task-ring slot (the
// reorder window's size is the master's; this bounds the delayed retries).
constexpr size_t kDelayedPerSlot = 4;

}  // namespace

Scheduler::Scheduler(const Settings& settings, int workers, ItemSource& source, const DoneSet* done,
                     WorkerPool& pool, RunRecorder& records, const Clock& clock,
                     SchedulerLimits limits, const HostGauges* host)
    : s_(settings),
      workers_(std::max(workers, 1)),
      source_(source),
      done_(done),
      pool_(pool),
      records_(records),
      clock_(clock),
      limits_(limits),
      host_(host),
      slots_(static_cast<size_t>(workers_)),
      halt_rule_(HaltRuleOf(settings.job)) {
  last_progress_ns_ = clock_.NowNs();
  busy_mark_ns_ = last_progress_ns_;
  // Checked when the settings were loaded: a value that does not parse here
  // was not loaded from a file, and means none.
  Result<uint64_t> interval = ParseRateInterval(s_.job.rate);
  rate_interval_ns_ = interval.ok() ? *interval : 0;
  catch_up_ns_ = limits_.rate_catch_up_ns;
  // job.delay and job.rate are one schedule of starts: the wider spacing
  // holds. A delay is a least time between two starts, so it never catches up.
  const auto delay_ns =
      static_cast<uint64_t>(std::max<int64_t>(s_.job.delay.count(), 0)) * 1'000'000ULL;
  if (delay_ns > 0 && delay_ns >= rate_interval_ns_) {
    rate_interval_ns_ = delay_ns;
    catch_up_ns_ = 0;
  }
  Result<uint64_t> memfree = ParseMemfree(s_.job.memfree);
  memfree_ = memfree.ok() ? *memfree : 0;
  // "N%" is of the cores online now: the load is the machine's, as it is.
  const int cores = host_ != nullptr ? host_->OnlineCores() : 1;
  Result<double> load = ParseLoad(s_.job.load, cores);
  max_load_ = load.ok() ? *load : 0;
  load_limit_ = s_.job.load;
  if (max_load_ > 0 && load_limit_.ends_with('%')) {
    char text[64];
    std::snprintf(text, sizeof text, " (%.2f on %d cores)", max_load_, cores);
    load_limit_ += text;
  }
}

size_t Scheduler::Depth() const {
  // A worker that runs `parallel` items at once needs that many to be busy,
  // and queued work in proportion to how fast it gets through them.
  // So does one that runs many per command line (command.batch): a line is
  // made of what its queue holds when it starts one, so the queue holds the
  // next full line while one runs (and lines of -n N have N items each,
  // until the input runs out, as parallel's).
  size_t parallel = 1;
  if (s_.job.handler == HandlerKind::kHttp) {
    parallel = static_cast<size_t>(std::max(s_.http.concurrency, 1));
  } else if (s_.job.handler == HandlerKind::kCommand && BatchOf(s_.command) != BatchMode::kNone) {
    parallel = s_.command.max_args > 0
                   ? 2 * static_cast<size_t>(s_.command.max_args)
                   : std::max<size_t>(1, static_cast<size_t>(s_.queue.slots) / workers_);
  }
  // Paced, a worker is given only what it starts at once: a task queued
  // behind busy ones would start later in a burst with the others, and the
  // spacing the service sees, or the memory a start finds, is at the start.
  if (Paced()) return parallel;
  size_t max_depth = std::max<size_t>(parallel, static_cast<size_t>(s_.queue.slots) / workers_);
  if (s_.queue.batch > 0) return std::min<size_t>(max_depth, static_cast<size_t>(s_.queue.batch));
  // Until durations are known, one each: slow items must not queue up.
  if (avg_item_ms_ < 0) return parallel;
  double want = limits_.queued_work_ms / std::max(avg_item_ms_, 1e-4);
  return std::clamp<size_t>(parallel + static_cast<size_t>(want * static_cast<double>(parallel)), 1,
                            max_depth);
}

size_t Scheduler::in_flight() const {
  size_t n = 0;
  for (const Slot& w : slots_) n += w.outstanding;
  return n;
}

bool Scheduler::CanReadInput() const {
  size_t delayed_cap = std::max(limits_.min_delayed_cap,
                                static_cast<size_t>(std::max(s_.queue.slots, 1)) * kDelayedPerSlot);
  return !halted_ && !records_.Full() && delayed_.size() < delayed_cap && !FailuresCouldHalt();
}

bool Scheduler::FailuresCouldHalt() const {
  if (retrying_ == 0 || halt_rule_.when == HaltWhen::kNever || halt_rule_.on != HaltOn::kFail) {
    return false;
  }
  const uint64_t failing = stats_.failed + retrying_;
  if (halt_rule_.percent == 0) return failing >= halt_rule_.count;
  const uint64_t judged = stats_.finished() + retrying_;
  return judged >= limits_.halt_min_sample &&
         static_cast<double>(failing) * 100.0 >= halt_rule_.percent * static_cast<double>(judged);
}

bool Scheduler::NextPending(Pending* p) {
  if (halted_) return false;  // not even retries: what has no record, resume runs
  if (!retry_.empty()) {
    *p = std::move(retry_.front());
    retry_.pop_front();
    return true;
  }
  if (!delayed_.empty() && delayed_.front().ready_ns <= clock_.NowNs()) {
    std::pop_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
    *p = std::move(delayed_.back().pending);
    delayed_.pop_back();
    return true;
  }
  while (!source_done_ && CanReadInput()) {
    if (source_.WouldBlock()) {
      input_would_block_ = true;
      return false;
    }
    Item item;
    if (!source_.Next(&item)) {
      source_done_ = true;
      if (!source_.status().ok()) Fatal(source_.status().message());
      break;
    }
    if (done_ != nullptr && done_->Contains(item.index)) continue;
    records_.Opened(item.index);
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

size_t Scheduler::SlotDepth(size_t slot, size_t depth) const {
  // Paced, a worker still starting is given one task: what it is handed
  // before it runs would start at once when it is ready, a burst of a
  // whole queue at the service. Its first outcome wakes the master, which
  // then gives it the full depth, turn by turn.
  if (depth > 1 && Paced() && !pool_.State(static_cast<int>(slot)).ready) return 1;
  return depth;
}

bool Scheduler::RoomToFeed() const {
  size_t depth = Depth();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].running && slots_[i].outstanding < SlotDepth(i, depth)) return true;
  }
  return false;
}

bool Scheduler::Feed() {
  if (stopping_) return false;
  input_would_block_ = false;
  // One clock read per call: job.rate's turns are counted from it.
  const uint64_t now = clock_.NowNs();
  const size_t depth = Depth();
  if (HandOutAllowed(now) && HostAllows(now)) {
    if (s_.job.handler == HandlerKind::kCommand && BatchOf(s_.command) != BatchMode::kNone) {
      FeedLines(now, depth);
    } else {
      FeedLevels(now, depth);
    }
  }
  bool any = false;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].unpublished) continue;
    slots_[i].unpublished = false;
    pool_.Publish(static_cast<int>(i));
    any = true;
  }
  return any;
}

bool Scheduler::FeedsBetweenDrains() const {
  return !stopping_ &&
         !(s_.job.handler == HandlerKind::kCommand && BatchOf(s_.command) != BatchMode::kNone);
}

// Inlined: FeedLevels calls it for every item. Out of line, the master took
// 4 % more CPU in a no-op plugin run (bench/ab.sh, 7 of 8 pairs); inlined,
// within the noise.
[[gnu::always_inline]] inline bool Scheduler::Hand(size_t slot, Pending& p, uint64_t now) {
  Slot& w = slots_[slot];
  TaskRecord task{next_seq_ + 1, p.index, p.attempt, p.item};
  switch (pool_.Offer(static_cast<int>(slot), task)) {
    case OfferResult::kTooLong:
      Fail(p.index, p.item, p.attempt - 1, 0, "item too long for the task ring", nullptr, 0,
           p.history);
      return true;
    case OfferResult::kFull:
      return false;
    case OfferResult::kQueued:
      break;
  }
  ++next_seq_;
  TookTurn(now);
  if (w.outstanding == 0) w.active_ns = now;  // idle until now: not stuck
  w.inflight.push_back(
      {next_seq_, p.index, p.attempt, std::move(p.item), false, now, std::move(p.history)});
  ++w.outstanding;
  w.unpublished = true;
  return true;
}

void Scheduler::FeedLevels(uint64_t now, size_t depth) {
  // Level by level: a short input or slow items spread over every worker
  // instead of queueing behind one while another idles. Levels every worker
  // already fills are skipped: with many workers and a deep queue, walking
  // them all on each call would cost depth x workers steps per round.
  size_t first = depth + 1;
  for (const Slot& w : slots_) {
    if (w.running) first = std::min(first, w.outstanding + 1);
  }
  bool more = true;
  for (size_t level = first; level <= depth && more; ++level) {
    for (size_t i = 0; i < slots_.size() && more; ++i) {
      Slot& w = slots_[i];
      if (!w.running || w.outstanding >= level || w.outstanding >= SlotDepth(i, depth)) continue;
      Pending p;
      if (!NextPending(&p)) {
        more = false;
        break;
      }
      if (!Hand(i, p, now)) {
        retry_.push_front(std::move(p));
        continue;
      }
      more = HandOutAllowed(now);
    }
  }
}

// A worker makes its command lines of what its queue holds when it starts
// one (up to command.max_args), so it is handed consecutive items, as
// parallel's lines are: with max_args (-n N) a line's N at a time, worker
// by worker, and the start of a line waits for the rest of it while the
// input has not delivered it; without (-X, -m) what the queues have room
// for, split evenly into one run a worker, as parallel "distributes the
// arguments evenly among the jobs".
void Scheduler::FeedLines(uint64_t now, size_t depth) {
  const auto line = static_cast<size_t>(std::max(s_.command.max_args, 0));
  if (line == 0) {
    // Paced, items go out one per turn as in any run (a line holds what
    // has come); a run at once would start the lot together.
    if (Paced()) return FeedLevels(now, depth);
    // Again after a run cut short by a retry (handed alone) while room is left.
    for (bool full = false; !full;) {
      size_t room = 0, open = 0;
      for (size_t i = 0; i < slots_.size(); ++i) {
        const size_t cap = SlotDepth(i, depth);
        if (!slots_[i].running || slots_[i].outstanding >= cap) continue;
        room += cap - slots_[i].outstanding;
        ++open;
      }
      TakeRun(room);
      if (run_.empty()) return;
      size_t from = 0;
      for (size_t i = 0; i < slots_.size() && from < run_.size() && !full; ++i) {
        const size_t cap = SlotDepth(i, depth);
        if (!slots_[i].running || slots_[i].outstanding >= cap) continue;
        const size_t left = run_.size() - from;
        const size_t share = std::min(cap - slots_[i].outstanding, (left + open - 1) / open);
        --open;
        const size_t handed = HandRun(i, from, from + share, now);
        full = handed < share;  // that ring is full: the rest waits for the next round
        from += handed;
      }
      // What the shares left (a worker with less room than its share): to
      // the next round, first.
      for (size_t k = run_.size(); k > from; --k) retry_.push_front(std::move(run_[k - 1]));
    }
    return;
  }
  for (bool handed = true; handed && HandOutAllowed(now);) {
    handed = false;
    for (size_t i = 0; i < slots_.size() && HandOutAllowed(now); ++i) {
      // A paced worker still starting holds one line, which starts at once
      // anyway; a queue.batch below the line's length makes shorter lines.
      const size_t cap = std::max(SlotDepth(i, depth), std::min(line, depth));
      const size_t want = std::min(line, cap);
      if (!slots_[i].running || slots_[i].outstanding + want > cap) continue;
      TakeRun(want);
      if (run_.empty()) return;
      if (run_.size() < want && run_.back().attempt == 1 && input_would_block_) {
        held_ = std::move(run_);  // the rest of the line is still to come
        run_.clear();
        return;
      }
      if (HandRun(i, 0, run_.size(), now) < run_.size()) return;
      handed = true;
    }
  }
}

void Scheduler::TakeRun(size_t n) {
  run_.clear();
  if (!halted_) run_.swap(held_);  // a line's start, new items: the rest follows
  while (run_.size() < n && !halted_) {
    Pending p;
    if (!NextPending(&p)) break;
    if (p.attempt > 1 && !run_.empty()) {
      retry_.push_front(std::move(p));
      break;
    }
    run_.push_back(std::move(p));
    if (run_.back().attempt > 1) break;
  }
}

size_t Scheduler::HandRun(size_t slot, size_t from, size_t to, uint64_t now) {
  for (size_t j = from; j < to; ++j) {
    if (Hand(slot, run_[j], now)) continue;
    for (size_t k = run_.size(); k > j; --k) retry_.push_front(std::move(run_[k - 1]));
    run_.resize(j);
    return j - from;
  }
  return to - from;
}

void Scheduler::TookTurn(uint64_t now) {
  if (rate_interval_ns_ == 0) return;
  // Turns keep a fixed schedule, so that a master that wakes late (its
  // epoll sleeps in whole milliseconds, a loaded machine schedules it late)
  // does not lower the rate: it may catch up on turns due in the last
  // rate_catch_up_ns. Older turns (no room in any queue, nothing to feed,
  // a long sleep) are lost rather than made up for in a burst. So in any
  // span T at most rate x (T + rate_catch_up_ns) + 1 items start.
  const uint64_t earliest = now - std::min(now, catch_up_ns_);
  next_hand_out_ns_ = std::max(next_hand_out_ns_, earliest) + rate_interval_ns_;
}

void Scheduler::PauseHandOut(uint64_t index, uint32_t ms, std::string_view reason) {
  const uint64_t now = clock_.NowNs();
  const uint64_t until = now + static_cast<uint64_t>(ms) * 1'000'000ULL;
  if (until <= next_hand_out_ns_) return;
  // Once per pause, not for each of the many calls in flight that get the
  // same answer.
  if (next_hand_out_ns_ <= now) {
    records_.Log("item " + std::to_string(index) + ": the service asked to wait " +
                 FormatMillis(static_cast<double>(ms)) + " (" + std::string(reason) +
                 ", Retry-After): no item starts before then");
  }
  next_hand_out_ns_ = until;
}

bool Scheduler::FeedingOver() const {
  return stopping_ || halted_ || (source_done_ && retry_.empty() && delayed_.empty());
}

bool Scheduler::WorkDone() const {
  // Halted: what was fed finishes; retries and the rest of the input wait for resume.
  if (!halted_ && (!source_done_ || !retry_.empty() || !delayed_.empty())) return false;
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const Slot& w) { return w.outstanding == 0; });
}

void Scheduler::OnOutcome(int slot, const OutcomeRecord& o) {
  Slot& w = slots_[slot];
  progressed_ = true;  // EndRound stamps last_progress_ns_ once per round
  auto it = std::find_if(w.inflight.begin(), w.inflight.end(),
                         [&](const InFlight& f) { return f.seq == o.seq && !f.done; });
  if (it == w.inflight.end()) {
    records_.Log(WorkerName(slot) + " reported an unknown task; ignored");
    return;
  }
  it->done = true;
  --w.outstanding;
  ++w.outcomes;
  avg_item_ms_ = avg_item_ms_ < 0 ? o.ms : 0.9 * avg_item_ms_ + 0.1 * o.ms;
  if (o.start_ns != 0) {  // the part of it after the last busy sample
    const uint64_t end = o.start_ns + static_cast<uint64_t>(std::max(o.ms, 0.0) * 1e6);
    const uint64_t from = std::max(o.start_ns, busy_mark_ns_);
    if (end > from) w.busy_ns += end - from;
  }
  // A service that says when to come back (a 429 or 503 with Retry-After)
  // means every call, not only this one: the other items wait too.
  if (!o.ok && o.retry_after_ms > 0 && stop_signal_ == 0) {
    PauseHandOut(it->index, o.retry_after_ms, o.reason);
  }
  if (o.ok) {
    Record(
        true,
        {it->index, it->item, it->attempt, slot + 1, o.ms, o.exit_code, o.signal, o.reason,
         o.output, o.output_file, o.stderr_tail, o.output_json, o.http_status, o.bytes,
         o.stderr_file, StartMs(&o, it->fed_ns), it->history, LineTagOf(o.line_tagged, o.line_tag)},
        o.ms);
  } else if (stop_signal_ != 0 || halt_now_) {
    // Ended during an interrupt or a halt "now", most likely by it
    // (forwarded, killed, or reaching the command some other way): never a
    // final outcome. Left without a record, so resume runs it again.
    if (it->attempt > 1) --retrying_;
    records_.Log("item " + std::to_string(it->index) + " failed (" + std::string(o.reason) +
                 ") during the " + (halt_now_ ? "halt" : "interrupt") +
                 "; no record, resume runs it again");
  } else if (!o.final && it->attempt <= static_cast<uint32_t>(s_.job.retries) &&
             (!stopping_ || halted_)) {
    Retry(*it, {std::string(o.reason), o.ms, StartMs(&o, it->fed_ns)}, o.retry_after_ms);
  } else {
    Fail(it->index, it->item, it->attempt, slot + 1, o.reason, &o, it->fed_ns, it->history);
  }
  while (!w.inflight.empty() && w.inflight.front().done) w.inflight.pop_front();
}

void Scheduler::OnLog(int slot, const LogRecord& log) {
  std::string line = WorkerName(slot);
  if (log.index != 0) line += " item " + std::to_string(log.index);
  line += ": ";
  line.append(log.text);
  records_.Log(line);
}

std::vector<double> Scheduler::TakeBusyShares(uint64_t now_ns) {
  const uint64_t span = now_ns - std::min(now_ns, busy_mark_ns_);
  std::vector<double> shares(slots_.size(), 0.0);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& w = slots_[i];
    uint64_t busy = w.busy_ns;
    if (w.running) {
      const WorkerState st = pool_.State(static_cast<int>(i));
      const uint64_t from = std::max(st.start_ns, busy_mark_ns_);
      if (st.seq != 0 && st.start_ns != 0 && now_ns > from) busy += now_ns - from;
    }
    if (span > 0) shares[i] = std::min(1.0, static_cast<double>(busy) / static_cast<double>(span));
    w.busy_ns = 0;
  }
  busy_mark_ns_ = now_ns;
  return shares;
}

void Scheduler::OnOutput(int slot, const OutputRecord& output) {
  records_.Printed(output.index, output.item, slot + 1, static_cast<OutputStream>(output.stream),
                   output.bytes, LineTagOf(output.line_tagged, output.line_tag));
}

void Scheduler::EndRound() {
  if (!progressed_) return;
  last_progress_ns_ = clock_.NowNs();
  progressed_ = false;
}

int64_t Scheduler::StartMs(const OutcomeRecord* o, uint64_t fed_ns) const {
  if (o != nullptr && o->start_ns != 0) return clock_.UnixMs(o->start_ns);
  return clock_.UnixMs(fed_ns != 0 ? fed_ns : clock_.NowNs());
}

void Scheduler::Fail(uint64_t index, std::string_view item, uint32_t attempts, int worker,
                     std::string_view reason, const OutcomeRecord* o, uint64_t start_ns,
                     std::span<const AttemptRecord> history) {
  RunDirectory::Finished f{index, item, attempts, worker, 0, -1, 0, reason, {}, {}, {}};
  f.start_ms = StartMs(o, start_ns);
  f.history = history;
  if (o != nullptr) {
    f.ms = o->ms;
    f.exit_code = o->exit_code;
    f.signal = o->signal;
    f.output = o->output;
    f.output_file = o->output_file;
    f.stderr_tail = o->stderr_tail;
    f.stderr_file = o->stderr_file;
    f.http_status = o->http_status;
    f.bytes = o->bytes;
    f.line_tag = LineTagOf(o->line_tagged, o->line_tag);
  }
  Record(false, f, o != nullptr ? o->ms : -1);
}

void Scheduler::Record(bool ok, const RunDirectory::Finished& f, double ms) {
  if (f.attempts > 1) --retrying_;
  if (ok) {
    stats_.Succeeded(f.index, f.item, ms);
    records_.Succeeded(f);
  } else {
    stats_.Failed(f.index, f.item, ms, f.reason);
    if (!CanRunAgain(f.item, f.attempts)) ++stats_.never_ran;
    records_.Failed(f);
  }
  CheckHalt();
}

// job.retry_delay x 2^(attempt - 2) before attempt 2, 3, ...; capped at
// job.retry_delay_max (or at retry_delay itself when that is larger).
uint64_t Scheduler::BackoffMs(uint32_t next_attempt) const {
  const auto delay = static_cast<uint64_t>(std::max<int64_t>(s_.job.retry_delay.count(), 0));
  if (delay == 0) return 0;
  uint32_t doublings = std::min<uint32_t>(next_attempt >= 2 ? next_attempt - 2 : 0, 30);
  uint64_t ms = delay << doublings;
  const auto cap = static_cast<uint64_t>(std::max<int64_t>(s_.job.retry_delay_max.count(), 0));
  return std::min(ms, std::max(cap, delay));
}

void Scheduler::Retry(InFlight& f, AttemptRecord failed, uint32_t at_least_ms) {
  const uint64_t index = f.index;
  const uint32_t failed_attempt = f.attempt;
  const std::string_view reason = failed.reason;
  std::string what = "item " + std::to_string(index) + " attempt " +
                     std::to_string(failed_attempt) + " failed (" + std::string(reason) + ")";
  if (halted_) {
    if (failed_attempt > 1) --retrying_;
    records_.Log(what + "; not retried while halting: no record, resume runs it again");
    return;
  }
  if (failed_attempt == 1) ++retrying_;
  ++stats_.retried;
  // A service that said when to come back (Retry-After) is not called sooner.
  uint64_t delay_ms = std::max<uint64_t>(BackoffMs(failed_attempt + 1), at_least_ms);
  Pending p{index, failed_attempt + 1, std::move(f.item), std::move(f.history)};
  p.history.push_back(std::move(failed));
  if (delay_ms == 0) {
    records_.Log(what + "; retrying");
    retry_.push_back(std::move(p));
    return;
  }
  records_.Log(what + "; attempt " + std::to_string(failed_attempt + 1) + " in " +
               FormatMillis(static_cast<double>(delay_ms)));
  delayed_.push_back({clock_.NowNs() + delay_ms * 1'000'000ULL, ++delayed_order_, std::move(p)});
  std::push_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
}

bool Scheduler::HaltDue(std::string* why) const {
  const HaltRule& rule = halt_rule_;
  if (rule.when == HaltWhen::kNever) return false;
  const uint64_t finished = stats_.finished();
  const uint64_t counted = rule.on == HaltOn::kFail      ? stats_.failed
                           : rule.on == HaltOn::kSuccess ? stats_.ok
                                                         : finished;
  const char* what = rule.on == HaltOn::kFail      ? "failed"
                     : rule.on == HaltOn::kSuccess ? "succeeded"
                                                   : "finished";
  char text[256];
  if (rule.percent == 0) {
    if (counted < rule.count) return false;
    std::snprintf(text, sizeof text, "%llu %s reached %s", static_cast<unsigned long long>(counted),
                  rule.on == HaltOn::kFail ? (counted == 1 ? "failure" : "failures")
                  : rule.on == HaltOn::kSuccess
                      ? (counted == 1 ? "success" : "successes")
                      : (counted == 1 ? "finished item" : "finished items"),
                  rule.source.c_str());
  } else {
    if (finished < limits_.halt_min_sample ||
        static_cast<double>(counted) * 100.0 < rule.percent * static_cast<double>(finished)) {
      return false;
    }
    std::snprintf(
        text, sizeof text, "%llu of %llu finished items %s (%.1f%%), %s",
        static_cast<unsigned long long>(counted), static_cast<unsigned long long>(finished), what,
        100.0 * static_cast<double>(counted) / static_cast<double>(finished), rule.source.c_str());
  }
  *why = text;
  return true;
}

void Scheduler::CheckHalt() {
  if (halted_ || stopping_) return;
  std::string why;
  if (!HaltDue(&why)) return;
  halted_ = true;
  halt_reason_ = why;
  // A worker that has just delivered its last item may not have said yet
  // that it runs nothing: only workers holding unfinished items count.
  size_t running = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& w = slots_[i];
    if (w.running && w.outstanding > 0 && pool_.State(static_cast<int>(i)).seq != 0) ++running;
  }
  if (halt_rule_.when == HaltWhen::kNow) {
    // The running items are killed with their workers: no record for them,
    // and none for what they would have said while dying (OnOutcome), so
    // resume runs them again.
    halt_now_ = true;
    records_.Log("halting now: " + halt_reason_ + "; killing " + std::to_string(running) +
                 " running item(s); they have no record, resume runs them and the rest");
    records_.Say("shoal: halting now: " + halt_reason_ + "; killing " + std::to_string(running) +
                 " running item(s)");
    BeginStop(limits_.shutdown_wait_ns);
    KillWorkers();
    return;
  }
  records_.Log("halting: " + halt_reason_ + "; no new items start, " + std::to_string(running) +
               " running item(s) finish; resume runs the rest");
  records_.Say("shoal: halting: " + halt_reason_ + "; letting " + std::to_string(running) +
               " running item(s) finish");
  // Workers take nothing more, queued tasks included: what has not started
  // is left for resume. Running items get all the time they need.
  BeginStop(/*wait_ns=*/UINT64_MAX / 2);
}

bool Scheduler::HostAllows(uint64_t now) {
  if (!HostLimited()) return true;
  if (host_looked_ && now - host_checked_ns_ < limits_.host_check_ns) return host_room_;
  host_looked_ = true;
  host_checked_ns_ = now;
  // What cannot be read holds nothing back: a limit that cannot be judged
  // must not stop the run for good.
  std::string short_of;
  if (memfree_ > 0) {
    std::optional<uint64_t> free = host_->MemAvailableBytes();
    if (free && *free < memfree_) {
      short_of = "free memory " + std::to_string(*free >> 20) +
                 " MiB is below job.memfree = " + s_.job.memfree;
    }
  }
  if (max_load_ > 0 && short_of.empty()) {
    std::optional<double> load = host_->LoadAverage1();
    if (load && *load >= max_load_) {
      char text[160];
      std::snprintf(text, sizeof text, "the load average %.2f is at or above job.load = %s", *load,
                    load_limit_.c_str());
      short_of = text;
    }
  }
  const bool room = short_of.empty();
  if (room != host_room_) {
    records_.Log(room ? std::string("the host has room again: items start")
                      : short_of + ": no item starts until it has room (looked at every " +
                            FormatDuration(Millis(limits_.host_check_ns / 1'000'000)) + ")");
  }
  host_room_ = room;
  return room;
}

uint64_t Scheduler::NextDeadlineNs() const {
  uint64_t due = UINT64_MAX;
  const uint64_t now = clock_.NowNs();
  if (stopping_) due = stop_deadline_ns_;
  // Timeouts are looked at now and then, not to the nanosecond. Liveness
  // (job.worker_timeout, seconds at least) needs no deadline of its own: the
  // owner's loop ticks at least every flush interval.
  if (s_.job.timeout.count() > 0) due = std::min(due, now + limits_.timeout_check_ns);
  // When Feed next has something to hand out, if a worker has room for it
  // (else a finishing worker wakes the loop anyway): a retry whose backoff
  // ends, or job.rate's next turn (or the end of a Retry-After pause) for a
  // retry or the input. Not the input while it would block: its fd wakes
  // the loop.
  if (!stopping_ && !halted_ && RoomToFeed()) {
    uint64_t ready = UINT64_MAX;
    // Work at hand waits only for a turn or for the host to have room; with
    // neither (no rate, no pause, no host limit), Feed has taken it already.
    const bool at_hand =
        !retry_.empty() || (!source_done_ && !input_would_block_ && CanReadInput());
    if (at_hand && (next_hand_out_ns_ != 0 || !host_room_)) ready = now;
    if (!delayed_.empty()) ready = std::min(ready, delayed_.front().ready_ns);
    if (ready != UINT64_MAX) {
      // Already due (it came between Feed and now): the next round feeds
      // it. Not at once, so that a task ring that is full cannot make the
      // loop spin; a millisecond is within job.rate's catch-up. The host is
      // looked at again on its own timer, never in a busy loop.
      uint64_t at = std::max(ready, next_hand_out_ns_);
      if (!host_room_) at = std::max(at, host_checked_ns_ + limits_.host_check_ns);
      due = std::min<uint64_t>(due, at > now ? at : now + 1'000'000ULL);
    }
  }
  return due;
}

}  // namespace shoal
