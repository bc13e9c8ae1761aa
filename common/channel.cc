#include "common/channel.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace shoal {

namespace {

size_t Align64(size_t n) {
  return (n + 63) & ~size_t{63};
}

size_t SlotBytes(const RingSizes& s) {
  return Align64(sizeof(WorkerControl)) + Align64(ByteRing::BytesFor(s.task)) +
         Align64(ByteRing::BytesFor(s.results)) + Align64(ByteRing::BytesFor(s.logs)) +
         Align64(ByteRing::BytesFor(s.errors));
}

char* SlotBase(SegmentHeader* header, uint32_t slot) {
  return reinterpret_cast<char*>(header) + Align64(sizeof(SegmentHeader)) +
         slot * header->slot_bytes;
}

// Offsets of the four rings inside a slot, in order.
struct RingOffsets {
  size_t task, results, logs, errors;
};

RingOffsets OffsetsOf(const RingSizes& s) {
  RingOffsets o;
  o.task = Align64(sizeof(WorkerControl));
  o.results = o.task + Align64(ByteRing::BytesFor(s.task));
  o.logs = o.results + Align64(ByteRing::BytesFor(s.results));
  o.errors = o.logs + Align64(ByteRing::BytesFor(s.logs));
  return o;
}

bool PowerOfTwo(uint64_t n) {
  return n >= 64 && (n & (n - 1)) == 0;
}

}  // namespace

RingSizes RingSizesFor(uint32_t workers) {
  RingSizes s;
  auto halve = [](uint64_t* size, uint64_t floor) {
    if (*size / 2 < floor) return false;
    *size /= 2;
    return true;
  };
  while (uint64_t{workers} * SlotBytes(s) > kSlotsBudget) {
    bool any = halve(&s.task, kRingFloors.task);
    any |= halve(&s.results, kRingFloors.results);
    any |= halve(&s.logs, kRingFloors.logs);
    any |= halve(&s.errors, kRingFloors.errors);
    if (!any) break;  // at the floors: past ~430 workers the segment grows again
  }
  return s;
}

size_t SegmentLayout::BytesFor(uint32_t slots, const RingSizes& sizes) {
  return Align64(sizeof(SegmentHeader)) + slots * SlotBytes(sizes);
}

SegmentHeader* SegmentLayout::Init(void* memory, size_t size, uint32_t slots,
                                   const RingSizes& sizes, uint64_t master_pid) {
  if (size < BytesFor(slots, sizes)) return nullptr;
  auto* h = new (memory) SegmentHeader();
  h->slots = slots;
  h->sizes = sizes;
  h->slot_bytes = SlotBytes(sizes);
  h->master_pid = master_pid;
  for (uint32_t i = 0; i < slots; ++i) ResetSlot(h, i);
  // Magic last: a reader that sees it sees a formatted segment.
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kSegmentMagic;
  return h;
}

SegmentHeader* SegmentLayout::Attach(void* memory, size_t size) {
  if (size < sizeof(SegmentHeader)) return nullptr;
  auto* h = static_cast<SegmentHeader*>(memory);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (h->magic != kSegmentMagic) return nullptr;
  const RingSizes& s = h->sizes;
  if (!PowerOfTwo(s.task) || !PowerOfTwo(s.results) || !PowerOfTwo(s.logs) ||
      !PowerOfTwo(s.errors) || h->slot_bytes != SlotBytes(s) || size < BytesFor(h->slots, s)) {
    return nullptr;
  }
  return h;
}

Channel SegmentLayout::ChannelOf(SegmentHeader* header, uint32_t slot) {
  char* base = SlotBase(header, slot);
  RingOffsets o = OffsetsOf(header->sizes);
  Channel c;
  c.control = reinterpret_cast<WorkerControl*>(base);
  c.tasks = ByteRing(base + o.task);
  c.results = ByteRing(base + o.results);
  c.logs = ByteRing(base + o.logs);
  c.errors = ByteRing(base + o.errors);
  return c;
}

void SegmentLayout::ResetSlot(SegmentHeader* header, uint32_t slot) {
  char* base = SlotBase(header, slot);
  RingOffsets o = OffsetsOf(header->sizes);
  auto* control = new (base) WorkerControl();
  control->wake.store(0);
  control->sleeping.store(0);
  control->pid.store(0);
  control->ready.store(0);
  control->needs_room.store(0);
  control->current_seq.store(0);
  control->current_start_ns.store(0);
  control->child_pgid.store(0);
  control->taken_seq.store(0);
  ByteRing::Init(base + o.task, header->sizes.task);
  ByteRing::Init(base + o.results, header->sizes.results);
  ByteRing::Init(base + o.logs, header->sizes.logs);
  ByteRing::Init(base + o.errors, header->sizes.errors);
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int timeout_ms) {
  struct timespec ts;
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
  // Shared futex (no FUTEX_PRIVATE_FLAG): the word lives in shared memory.
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected,
            timeout_ms < 0 ? nullptr : &ts, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word) {
  // Every waiter: an http worker's task bell waits on the word beside the
  // worker's own thread, and waking only the bell would leave that thread
  // asleep until its timeout.
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr,
            0);
}

uint64_t MonotonicNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace shoal
