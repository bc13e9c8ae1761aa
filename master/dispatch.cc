// Feeding tasks to workers and taking their outcomes: the per-item path.
#include "master/master_loop.h"

namespace shoal::master_detail {

namespace {

// job.retry_delay x 2^(attempt - 2) before attempt 2, 3, ...; capped.
uint64_t BackoffMs(Millis delay, uint32_t next_attempt) {
  if (delay.count() <= 0) return 0;
  uint32_t doublings = std::min<uint32_t>(next_attempt >= 2 ? next_attempt - 2 : 0, 30);
  uint64_t ms = static_cast<uint64_t>(delay.count()) << doublings;
  return std::min(ms, std::max(kMaxRetryDelayMs, static_cast<uint64_t>(delay.count())));
}

}  // namespace

size_t Master::Depth() const {
  size_t max_depth = std::max<size_t>(1, static_cast<size_t>(s_.queue.slots) / workers_);
  if (s_.queue.batch > 0) return std::min<size_t>(max_depth, static_cast<size_t>(s_.queue.batch));
  // Until durations are known, one each: slow items must not queue up.
  if (avg_item_ms_ < 0) return 1;
  double want = kQueuedWorkMs / std::max(avg_item_ms_, 1e-4);
  return std::clamp<size_t>(static_cast<size_t>(want), 1, max_depth);
}

bool Master::CanReadInput() const {
  size_t delayed_cap =
      std::max(kMinDelayedCap, static_cast<size_t>(std::max(s_.queue.slots, 1)) * kWindowPerSlot);
  return !halted_ && (!window_ || !window_->full()) && delayed_.size() < delayed_cap;
}

bool Master::NextPending(Pending* p) {
  if (halted_) return false;  // not even retries: what has no record, resume runs
  if (!retry_.empty()) {
    *p = std::move(retry_.front());
    retry_.pop_front();
    return true;
  }
  if (!delayed_.empty() && delayed_.front().ready_ns <= MonotonicNanos()) {
    std::pop_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
    *p = std::move(delayed_.back().pending);
    delayed_.pop_back();
    return true;
  }
  while (!source_done_ && CanReadInput()) {
    if (source_->WouldBlock()) {
      WatchInput();
      return false;
    }
    Item item;
    if (!source_->Next(&item)) {
      source_done_ = true;
      if (!source_->status().ok()) {
        fatal_ = true;
        fatal_message_ = source_->status().message();
      }
      break;
    }
    if (options_.resume && options_.resume->done.Contains(item.index)) continue;
    if (window_) window_->Open(item.index);
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

// The input would make read() wait: sleep in epoll until it is readable.
// One-shot, so a readable input the rings have no room for never wakes the
// loop again and again.
void Master::WatchInput() {
  if (input_watched_) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kTagInput;
  int op = input_registered_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (::epoll_ctl(epoll_.get(), op, source_->WaitFd(), &ev) == 0) {
    input_watched_ = input_registered_ = true;
  }
}

bool Master::Feed() {
  size_t depth = Depth();
  bool more = true;
  // Level by level: a short input or slow items spread over every worker
  // instead of queueing behind one while another idles. Levels every worker
  // already fills are skipped: with many workers and a deep queue, walking
  // them all on each call would cost depth x workers steps per round.
  size_t first = depth + 1;
  for (const WorkerSlot& w : slots_) {
    if (w.running) first = std::min(first, w.outstanding + 1);
  }
  for (size_t level = first; level <= depth && more; ++level) {
    for (WorkerSlot& w : slots_) {
      if (!w.running || w.outstanding >= level) continue;
      Pending p;
      if (!NextPending(&p)) {
        more = false;
        break;
      }
      TaskRecord task{next_seq_ + 1, p.index, p.attempt, p.item};
      EncodeTask(task, &buffer_);
      if (buffer_.size() > w.ch.tasks.max_record()) {
        Fail(p.index, p.item, p.attempt - 1, 0, "item too long for the task ring", nullptr);
        continue;
      }
      if (!w.ch.tasks.TryWrite(kTaskRecord, buffer_)) {
        retry_.push_front(std::move(p));
        continue;
      }
      ++next_seq_;
      w.inflight.push_back({next_seq_, p.index, p.attempt, std::move(p.item)});
      ++w.outstanding;
      w.unpublished = true;
    }
  }
  bool any = false;
  for (WorkerSlot& w : slots_) {
    if (!w.unpublished) continue;
    w.unpublished = false;
    w.ch.tasks.Publish();
    w.fed_backlog = w.ch.tasks.Backlog();
    WakeWorker(w.ch.control);
    any = true;
  }
  return any;
}

bool Master::Drain(WorkerSlot& w) {
  if (w.ch.control == nullptr) return false;  // never started (start-up failed)
  bool any = false;
  uint32_t type = 0;
  std::string_view payload;
  bool corrupt = false;
  ByteRing::ReadStatus st;

  while ((st = w.ch.logs.Read(&type, &payload, &scratch_)) == ByteRing::ReadStatus::kRecord) {
    LogRecord log;
    if (type != kLogRecord || !DecodeLog(payload, &log)) {
      corrupt = true;
      break;
    }
    std::string line = "worker " + std::to_string(w.slot + 1);
    if (log.index != 0) line += " item " + std::to_string(log.index);
    line += ": ";
    line.append(log.text);
    run_.Log(line);
    any = true;
  }
  corrupt |= st == ByteRing::ReadStatus::kCorrupt;
  w.ch.logs.Release();

  for (ByteRing* ring : {&w.ch.results, &w.ch.errors}) {
    while ((st = ring->Read(&type, &payload, &scratch_)) == ByteRing::ReadStatus::kRecord) {
      OutcomeRecord o;
      if (type != kOutcomeRecord || !DecodeOutcome(payload, &o)) {
        corrupt = true;
        break;
      }
      OnOutcome(w, o);
      FaultPoint("master-drain");
      any = true;
    }
    corrupt |= st == ByteRing::ReadStatus::kCorrupt;
    ring->Release();
  }
  if (corrupt && w.running) {
    // Only a worker writing wild into shared memory gets here; it is killed
    // and handled as a dead worker, its items retried.
    run_.Log("worker " + std::to_string(w.slot + 1) + " wrote a malformed record; killing it");
    ::kill(w.pid, SIGKILL);
  }
  if (any) WakeWorker(w.ch.control);  // it may be waiting for room
  return any;
}

bool Master::AnyOutputPending() {
  for (WorkerSlot& w : slots_) {
    if (w.ch.control == nullptr) continue;
    if (w.ch.results.HasData() || w.ch.errors.HasData() || w.ch.logs.HasData()) return true;
  }
  return false;
}

bool Master::NeedsRefill(WorkerSlot& w) {
  return w.running && w.ch.tasks.Backlog() * 2 <= w.fed_backlog;
}

bool Master::FeedingOver() const {
  return stopping_ || halted_ || (source_done_ && retry_.empty() && delayed_.empty());
}

// Rounds are what the master pays for, more than items: each one reads and
// writes every ring's shared head and tail, checks who sleeps and polls its
// events. A round is due when a worker has taken half of what it was given
// (it says so, see the worker's AskForMoreEarly), when a ring it writes to is
// half full or lacks room for a record, or when nothing is left to feed; not
// for every few outcomes.
bool Master::RoundDue() {
  if (!AnyOutputPending()) return false;  // a round would find nothing to take
  if (FeedingOver()) return true;
  for (WorkerSlot& w : slots_) {
    if (w.ch.control == nullptr) continue;
    if (NeedsRefill(w)) return true;
    if (w.ch.control->needs_room.load(std::memory_order_acquire) != 0) return true;
    for (ByteRing* ring : {&w.ch.results, &w.ch.errors, &w.ch.logs}) {
      if (ring->UsedBytes() * 2 >= ring->capacity()) return true;
    }
  }
  return false;
}

void Master::OnOutcome(WorkerSlot& w, const OutcomeRecord& o) {
  progressed_ = true;  // the loop stamps last_progress_ns_ once per round
  auto it = std::find_if(w.inflight.begin(), w.inflight.end(),
                         [&](const InFlight& f) { return f.seq == o.seq && !f.done; });
  if (it == w.inflight.end()) {
    run_.Log("worker " + std::to_string(w.slot + 1) + " reported an unknown task; ignored");
    return;
  }
  it->done = true;
  --w.outstanding;
  avg_item_ms_ = avg_item_ms_ < 0 ? o.ms : 0.9 * avg_item_ms_ + 0.1 * o.ms;
  if (o.ok) {
    Record(true,
           {it->index, it->item, it->attempt, w.slot + 1, o.ms, o.exit_code, o.signal, o.reason,
            o.output, o.output_file, o.stderr_tail},
           o.ms);
  } else if (forwarded_) {
    // Killed by our own forwarded interrupt: not the item's fault. Left
    // without a record, so resume runs it again.
  } else if (it->attempt <= static_cast<uint32_t>(s_.job.retries) && !stopping_) {
    Retry(it->index, it->attempt, std::move(it->item), o.reason);
  } else {
    Fail(it->index, it->item, it->attempt, w.slot + 1, o.reason, &o);
  }
  while (!w.inflight.empty() && w.inflight.front().done) w.inflight.pop_front();
}

void Master::Fail(uint64_t index, std::string_view item, uint32_t attempts, int worker,
                  std::string_view reason, const OutcomeRecord* o) {
  RunDirectory::Finished f{index, item, attempts, worker, 0, -1, 0, reason, {}, {}, {}};
  if (o != nullptr) {
    f.ms = o->ms;
    f.exit_code = o->exit_code;
    f.signal = o->signal;
    f.output = o->output;
    f.output_file = o->output_file;
    f.stderr_tail = o->stderr_tail;
  }
  Record(false, f, o != nullptr ? o->ms : -1);
}

void Master::Record(bool ok, const RunDirectory::Finished& f, double ms) {
  if (ok) {
    stats_.Succeeded(f.index, f.item, ms);
    window_ ? window_->Success(run_, f) : run_.RecordSuccess(f);
  } else {
    stats_.Failed(f.index, f.item, ms, f.reason);
    window_ ? window_->Failure(run_, f) : run_.RecordFailure(f);
    CheckHalt();
  }
}

void Master::Retry(uint64_t index, uint32_t failed_attempt, std::string item,
                   std::string_view reason) {
  std::string what = "item " + std::to_string(index) + " attempt " +
                     std::to_string(failed_attempt) + " failed (" + std::string(reason) + ")";
  if (halted_) {
    run_.Log(what + "; not retried while halting: no record, resume runs it again");
    return;
  }
  ++stats_.retried;
  uint64_t delay_ms = BackoffMs(s_.job.retry_delay, failed_attempt + 1);
  Pending p{index, failed_attempt + 1, std::move(item)};
  if (delay_ms == 0) {
    run_.Log(what + "; retrying");
    retry_.push_back(std::move(p));
    return;
  }
  run_.Log(what + "; attempt " + std::to_string(failed_attempt + 1) + " in " +
           FormatMillis(static_cast<double>(delay_ms)));
  delayed_.push_back({MonotonicNanos() + delay_ms * 1'000'000ULL, ++delayed_order_, std::move(p)});
  std::push_heap(delayed_.begin(), delayed_.end(), LaterFirst{});
}

void Master::CheckHalt() {
  if (halted_ || stopping_) return;
  const JobSettings& job = s_.job;
  uint64_t failed = stats_.failed, finished = stats_.finished();
  char why[256];
  if (job.max_failures > 0 && failed >= static_cast<uint64_t>(job.max_failures)) {
    std::snprintf(why, sizeof why, "%llu failures reached job.max_failures = %lld",
                  static_cast<unsigned long long>(failed),
                  static_cast<long long>(job.max_failures));
  } else if (job.max_failures_percent > 0 && finished >= kHaltMinSample &&
             static_cast<double>(failed) * 100.0 >=
                 job.max_failures_percent * static_cast<double>(finished)) {
    std::snprintf(
        why, sizeof why, "%llu of %llu finished items failed (%.1f%%), job.max_failures = %g%%",
        static_cast<unsigned long long>(failed), static_cast<unsigned long long>(finished),
        100.0 * static_cast<double>(failed) / static_cast<double>(finished),
        job.max_failures_percent);
  } else {
    return;
  }
  halted_ = true;
  halt_reason_ = why;
  size_t running = 0;
  for (const WorkerSlot& w : slots_) running += w.outstanding;
  run_.Log("halting: " + halt_reason_ + "; no new items, " + std::to_string(running) +
           " fed item(s) finish; 'shoal resume " + run_.path() + "' runs the rest");
  Say("shoal: halting: " + halt_reason_ + "; letting " + std::to_string(running) +
      " fed item(s) finish");
}

}  // namespace shoal::master_detail
