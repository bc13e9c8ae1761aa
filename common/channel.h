// The layout of a run's shared segment and the wake-up protocol.
//
//   SegmentHeader | per worker slot: WorkerControl, task ring, results ring,
//                                    logs ring, errors ring
//
// Every ring has exactly one producer and one consumer: the master produces
// tasks for a slot's worker; the worker produces results, log lines and
// exceptions (failed items) for the master. Nothing in the segment is a lock,
// so a worker killed at any instruction cannot block the master or the other
// workers (see byte_ring.h). When a worker dies, the master drains what it
// published, then re-formats the slot's rings for the replacement.
//
// Sleeping without busy-waiting and without per-item wake-ups:
//  - A worker with nothing to do sets `sleeping`, re-checks its task ring and
//    waits on the futex word `wake` (shared, not FUTEX_PRIVATE) with a
//    timeout, so a lost wake-up costs a bounded delay, never a hang. The
//    master bumps `wake` and calls FUTEX_WAKE only when `sleeping` is set.
//    An http worker with calls in flight and room for more sets `sleeping`
//    while it waits in curl_multi_poll; a thread of its own waits on `wake`
//    and wakes that poll (worker/worker_loop.cc, TaskBell).
//  - The master sleeps in epoll. It sets `master_sleeping`, re-checks every
//    ring, then waits; a worker that publishes while `master_sleeping` is set
//    writes the run's eventfd. seq_cst on both flags orders the
//    "set flag, re-check" against "publish, check flag" (no lost wake-up).
//    A worker wakes it for outcomes only when it would take them (the
//    refill point, a half-full ring, `takes_all`), else the master would
//    look and sleep again: see MasterWouldTake in worker/worker_loop.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/byte_ring.h"

namespace shoal {

inline constexpr uint64_t kSegmentMagic = 0x73686f616c303031ULL;  // "shoal001"

struct RingSizes {
  uint64_t task = 256 * 1024;
  // The master allocates (fallocate) and frees the whole segment at every
  // start and end: 1 MiB of results a slot made the 2-worker segment 3.7 MB,
  // a fifth of a one-file run's master CPU. 256 KiB still holds ~15,000
  // no-op outcomes, and the master drains a ring once it is half full.
  uint64_t results = 256 * 1024;
  uint64_t logs = 256 * 1024;
  uint64_t errors = 256 * 1024;
};

// The sizes for a run of `workers`: the defaults above while every slot's
// rings fit in kSlotsBudget together, else each ring halved (never below its
// floor) until they do. Many workers each produce slowly, so small rings
// cost them nothing, and records longer than a small ring cross in pieces
// (byte_ring.h). The task ring's floor keeps items of up to ~64 KiB at any
// -j (a longer one fails, "item too long for the task ring"); 1.8 MB a slot
// at -j 200 was 358 MB of shared memory, all of it in the master's RSS.
inline constexpr uint64_t kSlotsBudget = uint64_t{48} << 20;
inline constexpr RingSizes kRingFloors{64 * 1024, 16 * 1024, 16 * 1024, 16 * 1024};
RingSizes RingSizesFor(uint32_t workers);

struct SegmentHeader {
  uint64_t magic;
  uint32_t slots;  // worker slots
  uint32_t reserved;
  RingSizes sizes;
  uint64_t slot_bytes;  // bytes per slot, 64-aligned
  uint64_t master_pid;
  alignas(64) std::atomic<uint32_t> master_sleeping;
  std::atomic<uint32_t> shutdown;  // workers exit once their task ring is empty
  // Set while the master feeds nothing more (end of input, stopping, halted):
  // then it takes every outcome at once, not only at a worker's refill.
  std::atomic<uint32_t> takes_all;
};

struct alignas(64) WorkerControl {
  std::atomic<uint32_t> wake;        // futex word: bumped by the master
  std::atomic<uint32_t> sleeping;    // the worker waits (or is about to) on `wake`
  std::atomic<uint32_t> pid;         // set by the worker when it starts
  std::atomic<uint32_t> ready;       // the worker finished its start-up
  std::atomic<uint32_t> needs_room;  // the worker waits for room in a ring it writes
  // Written by the worker for every item and read by the master only to watch
  // timeouts and signal commands: a cache line of their own, so that the
  // master's look at `sleeping` does not pull them back and forth.
  alignas(64) std::atomic<uint64_t> current_seq;  // task being run now; 0 = none
  std::atomic<uint64_t> current_start_ns;         // CLOCK_MONOTONIC start of current_seq
  std::atomic<uint64_t> done;                     // items finished (for stats)
  std::atomic<int32_t> child_pgid;                // process group of the running command; 0 = none
  // A worker that runs several items at once (handler = "http") takes tasks
  // in order and stores here the seq of the last one it took, before it
  // starts it; current_seq is then its oldest unfinished item. 0 = only one
  // item at a time (current_seq says it all).
  std::atomic<uint64_t> taken_seq;
};

// A worker slot's view of the segment: its control block and four rings.
struct Channel {
  WorkerControl* control = nullptr;
  ByteRing tasks;
  ByteRing results;
  ByteRing logs;
  ByteRing errors;
};

class SegmentLayout {
 public:
  static size_t BytesFor(uint32_t slots, const RingSizes& sizes);
  // Formats a zeroed segment: header, controls and empty rings.
  static SegmentHeader* Init(void* memory, size_t size, uint32_t slots, const RingSizes& sizes,
                             uint64_t master_pid);
  // Checks the header of an existing segment (magic, sizes); nullptr if wrong.
  static SegmentHeader* Attach(void* memory, size_t size);
  // Views of a slot. Construct a fresh Channel after ResetSlot.
  static Channel ChannelOf(SegmentHeader* header, uint32_t slot);
  // Re-formats a slot for a new worker. Only while no worker uses the slot.
  static void ResetSlot(SegmentHeader* header, uint32_t slot);
};

// Futex on a shared-memory word. Wait returns on wake, on timeout (none when
// timeout_ms < 0), or at once if *word != expected. Wake wakes every waiter.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int timeout_ms);
void FutexWake(std::atomic<uint32_t>* word);

// The master's side: wakes the worker if it sleeps. Cheap when it doesn't.
// Call after publishing tasks or freeing ring space. The fence orders that
// publish before the load of `sleeping` (StoreLoad), the worker's mirror image
// being "set sleeping, fence, re-check its rings".
inline void WakeWorker(WorkerControl* control) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (control->sleeping.load(std::memory_order_relaxed) != 0) {
    control->wake.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&control->wake);
  }
}

uint64_t MonotonicNanos();

}  // namespace shoal
