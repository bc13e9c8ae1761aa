// The scheduler and the workers' lives: starts, deaths and what the dead
// worker's items become, timeouts, interrupts with their grace, stopping.
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "common/worker_exit.h"
#include "config/load.h"
#include "master/scheduler.h"
#include "master/supervisor.h"

namespace shoal {

Status Scheduler::StartWorkers() {
  if (rate_interval_ns_ > 0 && catch_up_ns_ == 0) {
    records_.Log("job.delay = " + FormatDuration(s_.job.delay) + ": at least " +
                 FormatDuration(s_.job.delay) + " between two starts, all workers together");
  } else if (rate_interval_ns_ > 0) {
    records_.Log("job.rate = " + s_.job.rate + ": at most one item starts every " +
                 FormatMillis(static_cast<double>(rate_interval_ns_) / 1e6) +
                 ", all workers together");
  }
  if (HostLimited()) {
    records_.Log(
        "no item starts while" +
        (memfree_ > 0 ? " free memory is below job.memfree = " + s_.job.memfree : "") +
        (memfree_ > 0 && max_load_ > 0 ? " or" : "") +
        (max_load_ > 0 ? " the load average is at or above job.load = " + s_.job.load : "") +
        "; running items are never killed for it");
  }
  if (halt_rule_.when != HaltWhen::kNever) {
    records_.Log("halt: " + halt_rule_.source +
                 (halt_rule_.when == HaltWhen::kNow
                      ? " (now: running items are killed, left for resume)"
                      : " (soon: running items finish)"));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Status st = StartSlot(static_cast<int>(i));
    if (!st.ok()) {
      Fatal(st.message());
      return st;
    }
  }
  return Status::Ok();
}

Status Scheduler::StartSlot(int slot) {
  Slot& w = slots_[slot];
  auto pid = pool_.Start(slot);
  if (!pid.ok()) return pid.status();
  w.pid = *pid;
  w.running = true;
  w.killed_as_stuck = false;
  w.started_ns = w.active_ns = clock_.NowNs();
  w.seen_seq = 0;
  w.outcomes = w.seen_outcomes = 0;
  records_.Log(WorkerName(slot) + " started, pid " + std::to_string(w.pid));
  return Status::Ok();
}

bool Scheduler::AllWorkersGone() const {
  return std::none_of(slots_.begin(), slots_.end(), [](const Slot& w) { return w.running; });
}

void Scheduler::OnMalformed(int slot) {
  if (!slots_[slot].running) return;
  // Only a worker writing wild into shared memory gets here; it is killed
  // and handled as a dead worker, its items retried.
  records_.Log(WorkerName(slot) + " wrote a malformed record; killing it");
  pool_.Kill(slot);
}

void Scheduler::OnWorkerExit(int slot, const WorkerExit& exit) {
  Slot& w = slots_[slot];
  w.running = false;
  std::string how = DescribeWaitStatus(exit.wait_status);
  // Exit 0 while stopping is the worker doing as asked, even holding items:
  // on an interrupt it takes no more tasks, and its unstarted ones are resume's.
  // Killed by a halt "now": no death either, the halt killed it.
  bool orderly = stopping_ && (exit.wait_status == 0 || halt_now_);
  std::string who = WorkerName(slot) + " (pid " + std::to_string(w.pid) + ")";
  if (!orderly) {
    ++worker_deaths_;
    records_.Log(who + " died: " + how + ", holding " + std::to_string(w.outstanding) + " item(s)");
  } else if (w.outstanding > 0) {
    records_.Log(who + (halt_now_ ? " killed by the halt, " : " finished, ") +
                 std::to_string(w.outstanding) + (halt_now_ ? " item(s)" : " unstarted item(s)") +
                 " left for resume");
  } else {
    records_.Log(who + " finished");
  }
  // Its unfinished items: the ones it was running used up an attempt (one
  // of them may be what killed it: a poison item must not kill worker after
  // worker); the ones still queued never started and go first again, in
  // their order. (Backwards, so that pushing each to the front keeps that
  // order.) A worker with many calls in flight ran every unfinished task up
  // to the last it took.
  for (auto f = w.inflight.rbegin(); f != w.inflight.rend(); ++f) {
    if (f->done || stopping_) continue;
    const bool started =
        f->seq == exit.current_seq || (exit.taken_seq != 0 && f->seq <= exit.taken_seq);
    if (started) {
      std::string reason = f->seq == w.killed_for_timeout ? "timeout" : "worker died: " + how;
      if (f->attempt <= static_cast<uint32_t>(s_.job.retries)) {
        Retry(*f, {reason, -1, StartMs(nullptr, f->fed_ns)});
      } else {
        Fail(f->index, f->item, f->attempt, slot + 1, reason, nullptr, f->fed_ns, f->history);
      }
    } else {
      retry_.push_front({f->index, f->attempt, std::move(f->item), std::move(f->history)});
    }
  }
  w.inflight.clear();
  w.outstanding = 0;
  w.killed_for_timeout = 0;
  if (stopping_) return;

  if (!exit.was_ready && WIFEXITED(exit.wait_status) &&
      WEXITSTATUS(exit.wait_status) == kWorkerStartFailed) {
    // It said why on stderr (a handler that cannot be built): every
    // replacement would fail the same way.
    Fatal(WorkerName(slot) + " could not start (see the message above); nothing more will run");
    return;
  }
  // Workers killed while starting are normal under an outside killer (the
  // OOM killer, a chaos test); they are a dead end only while nothing else
  // gets done. So the run stops when starts keep failing and no item has
  // finished for a while.
  start_failures_ = exit.was_ready ? 0 : start_failures_ + 1;
  bool stuck = clock_.NowNs() - last_progress_ns_ > limits_.no_progress_ns;
  if (start_failures_ > std::max(3, 2 * workers_) && stuck) {
    Fatal("workers keep dying at start (" + std::to_string(start_failures_) +
          " in a row, last: " + how + "); see the messages above and log.txt");
    return;
  }
  Status st = StartSlot(slot);
  if (!st.ok()) Fatal(st.message());
}

void Scheduler::Fatal(const std::string& message) {
  if (!fatal_) {
    fatal_ = true;
    fatal_message_ = message;
  }
  BeginStop();
}

void Scheduler::BeginStop(uint64_t wait_ns) {
  if (stopping_) return;
  stopping_ = true;
  pool_.Shutdown();
  if (wait_ns == 0) {
    wait_ns = stop_signal_ != 0
                  ? static_cast<uint64_t>(std::max<int64_t>(s_.job.grace.count(), 0)) * 1'000'000ULL
                  : limits_.shutdown_wait_ns;
  }
  stop_deadline_ns_ = clock_.NowNs() + wait_ns;
}

void Scheduler::Tick() {
  const uint64_t now = clock_.NowNs();
  if (stopping_ && !AllWorkersGone() && now >= stop_deadline_ns_) OnStopDeadline(now);
  CheckTimeouts(now);
  CheckLiveness(now);
}

void Scheduler::CheckLiveness(uint64_t now) {
  const auto limit_ms = s_.job.worker_timeout.count();
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& w = slots_[i];
    if (!w.running) continue;
    const int slot = static_cast<int>(i);
    WorkerState state = pool_.State(slot);
    if (state.seq != w.seen_seq || w.outcomes != w.seen_outcomes) {
      w.seen_seq = state.seq;
      w.seen_outcomes = w.outcomes;
      w.active_ns = now;
    }
    if (limit_ms <= 0 || w.killed_as_stuck || w.killed_for_timeout != 0) continue;
    const uint64_t limit = static_cast<uint64_t>(limit_ms) * 1'000'000ULL;
    std::string why;
    if (!state.ready && now - std::min(now, w.started_ns) >= limit) {
      why = " did not finish starting";
    } else if (state.ready && state.seq == 0 && w.outstanding > 0 && !stopping_ &&
               now - std::min(now, w.active_ns) >= limit) {
      // A running item is job.timeout's business; a worker that holds
      // queued tasks and takes none is stopped or stuck.
      why = " took none of its " + std::to_string(w.outstanding) + " queued item(s)";
    } else {
      continue;
    }
    records_.Log(WorkerName(slot) + why + " within job.worker_timeout (" +
                 FormatDuration(s_.job.worker_timeout) + "); killing it, its items go on");
    w.killed_as_stuck = true;
    pool_.Kill(slot);
  }
}

void Scheduler::CheckTimeouts(uint64_t now) {
  if (s_.job.timeout.count() <= 0) return;
  uint64_t limit = static_cast<uint64_t>(s_.job.timeout.count()) * 1'000'000ULL;
  // The command and http handlers enforce job.timeout themselves (the http
  // one per call, with many in flight): the master steps in only when a
  // worker is stuck past it, never for one slow call among many.
  if (s_.job.handler == HandlerKind::kCommand || s_.job.handler == HandlerKind::kHttp) {
    limit += limits_.command_timeout_slack_ns;
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& w = slots_[i];
    if (!w.running || w.killed_for_timeout != 0) continue;
    WorkerState task = pool_.State(static_cast<int>(i));
    if (task.seq == 0 || task.start_ns == 0 || now - std::min(now, task.start_ns) < limit) continue;
    // An in-process handler cannot be interrupted safely: replace the worker.
    records_.Log(WorkerName(static_cast<int>(i)) + " exceeded job.timeout on its item; killing it");
    w.killed_for_timeout = task.seq;
    pool_.Kill(static_cast<int>(i));
  }
}

void Scheduler::OnStopDeadline(uint64_t now) {
  if (stop_signal_ != 0 && !forwarded_) {
    // The grace is over: pass the interrupt on to the running commands, as
    // a shell would, and give them a moment before the hard kill.
    forwarded_ = true;
    records_.Log("grace over: sending " + std::string(strsignal(stop_signal_)) +
                 " to running commands");
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].running) pool_.SignalCommand(static_cast<int>(i), stop_signal_);
    }
    stop_deadline_ns_ = now + limits_.kill_after_signal_ns;
    return;
  }
  records_.Log("workers did not stop in time; killing them");
  KillWorkers();
  stop_deadline_ns_ = now + limits_.shutdown_wait_ns;
}

void Scheduler::KillWorkers() {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].running) pool_.Kill(static_cast<int>(i));
  }
}

void Scheduler::OnSignal(int sig) {
  if (stop_signal_ != 0) {
    records_.Log("second signal " + std::to_string(sig) + ": stopping at once");
    forwarded_ = true;
    KillWorkers();
    return;
  }
  stop_signal_ = sig == SIGINT ? SIGINT : SIGTERM;  // SIGHUP is handled like SIGTERM
  records_.Log(std::string("received ") + strsignal(sig) + ": no new items; running ones get " +
               FormatDuration(s_.job.grace) + " to finish");
  records_.Notice(std::string("shoal: ") + strsignal(sig) + ": finishing running items (up to " +
                  FormatDuration(s_.job.grace) + "); again to stop now");
  if (stopping_) {
    // Already winding down (halted: running items had all the time they
    // needed; finished): from now on they have the grace, like any other.
    const uint64_t grace_ns =
        static_cast<uint64_t>(std::max<int64_t>(s_.job.grace.count(), 0)) * 1'000'000ULL;
    stop_deadline_ns_ = std::min(stop_deadline_ns_, clock_.NowNs() + grace_ns);
    return;
  }
  BeginStop();
}

}  // namespace shoal
