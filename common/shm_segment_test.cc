#include "common/shm_segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "common/channel.h"
#include "common/test_util.h"

namespace shoal {
namespace {

bool ShmExists(const std::string& name) {
  struct stat st;
  return ::stat(("/dev/shm/" + name).c_str(), &st) == 0;
}

// Runs `body` in a forked child and returns its exit code (-1 if it did not
// exit normally). The child never returns into gtest.
template <typename Body>
int RunInChild(Body body) {
  const pid_t pid = test::ForkChild(body);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A pid that no process has: a child's, after it is reaped.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid < 0) std::abort();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(SharedSegmentTest, CreateMakesOwnerOnlySegmentWithPidName) {
  auto segment = SharedSegment::Create(10000);
  ASSERT_TRUE(segment.ok()) << segment.status().message();
  const std::string& name = (*segment)->name();
  const std::string prefix = "shoal-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(name.rfind(prefix, 0), 0u) << name;
  EXPECT_GT(name.size(), prefix.size());
  EXPECT_EQ(name.find('/'), std::string::npos);

  struct stat st;
  ASSERT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0) << name;
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(static_cast<size_t>(st.st_size), 10000u);

  EXPECT_GE((*segment)->size(), 10000u);
  const char* bytes = static_cast<const char*>((*segment)->data());
  for (size_t i = 0; i < 10000; ++i) ASSERT_EQ(bytes[i], 0) << i;  // zeroed
}

TEST(SharedSegmentTest, CreateIgnoresUmaskForMode) {
  mode_t old = ::umask(0);  // a permissive umask must not widen the mode
  auto segment = SharedSegment::Create(4096);
  ::umask(old);
  ASSERT_TRUE(segment.ok()) << segment.status().message();
  struct stat st;
  ASSERT_EQ(::stat(("/dev/shm/" + (*segment)->name()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(SharedSegmentTest, TwoCreatesHaveDifferentNames) {
  auto a = SharedSegment::Create(4096);
  auto b = SharedSegment::Create(4096);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->name(), (*b)->name());
  EXPECT_NE((*a)->data(), (*b)->data());
}

TEST(SharedSegmentTest, OpenInChildSharesTheBytes) {
  auto owner = SharedSegment::Create(8192);
  ASSERT_TRUE(owner.ok()) << owner.status().message();
  char* bytes = static_cast<char*>((*owner)->data());
  std::strcpy(bytes, "from the master");
  const std::string name = (*owner)->name();

  int code = RunInChild([&] {
    auto opened = SharedSegment::Open(name);
    if (!opened.ok()) return 2;
    if ((*opened)->size() < 8192) return 3;
    char* seen = static_cast<char*>((*opened)->data());
    if (std::strcmp(seen, "from the master") != 0) return 4;
    std::strcpy(seen + 4096, "from the worker");
    return 0;  // the non-owner's destructor runs here and must not unlink
  });
  ASSERT_EQ(code, 0);
  EXPECT_STREQ(bytes + 4096, "from the worker");
  EXPECT_TRUE(ShmExists(name));
}

TEST(SharedSegmentTest, DestroyingOwnerRemovesName) {
  std::string name;
  {
    auto segment = SharedSegment::Create(4096);
    ASSERT_TRUE(segment.ok());
    name = (*segment)->name();
    ASSERT_TRUE(ShmExists(name));
  }
  EXPECT_FALSE(ShmExists(name));
  auto reopened = SharedSegment::Open(name);
  EXPECT_FALSE(reopened.ok());
  if (!reopened.ok()) {
    EXPECT_NE(reopened.status().message().find(name), std::string::npos);
  }
}

TEST(SharedSegmentTest, DestroyingNonOwnerKeepsName) {
  auto owner = SharedSegment::Create(4096);
  ASSERT_TRUE(owner.ok());
  const std::string name = (*owner)->name();
  {
    auto opened = SharedSegment::Open(name);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    static_cast<char*>((*opened)->data())[0] = 'x';
  }
  EXPECT_TRUE(ShmExists(name));
  EXPECT_EQ(static_cast<char*>((*owner)->data())[0], 'x');  // mapping of the owner intact
}

TEST(SharedSegmentTest, OpenMissingNameFails) {
  auto opened = SharedSegment::Open("shoal-0-does-not-exist");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("shoal-0-does-not-exist"), std::string::npos);
}

// Creates /dev/shm/<name> the way a crashed master would have left it.
void LeaveSegment(const std::string& name) {
  int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0) << name << ": " << std::strerror(errno);
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  ::close(fd);
}

TEST(SharedSegmentTest, RemoveStaleSegmentsRemovesDeadPidsOnly) {
  const std::string dead = "shoal-" + std::to_string(DeadPid()) + "-test";
  const std::string live = "shoal-" + std::to_string(::getpid()) + "-test";
  const std::string other = "shoalx-" + std::to_string(DeadPid()) + "-test";  // not ours
  const std::string no_pid = "shoal-test-" + std::to_string(::getpid());      // not a pid
  for (const std::string& name : {dead, live, other, no_pid}) {
    ::shm_unlink(("/" + name).c_str());
    ASSERT_NO_FATAL_FAILURE(LeaveSegment(name));
  }
  auto owned = SharedSegment::Create(4096);  // a live segment made the normal way
  ASSERT_TRUE(owned.ok());

  EXPECT_GE(RemoveStaleSegments(), 1);
  EXPECT_FALSE(ShmExists(dead));
  EXPECT_TRUE(ShmExists(live));
  EXPECT_TRUE(ShmExists(other));
  EXPECT_TRUE(ShmExists(no_pid));
  EXPECT_TRUE(ShmExists((*owned)->name()));
  for (const std::string& name : {dead, live, other, no_pid}) ::shm_unlink(("/" + name).c_str());
}

// ---- SegmentLayout ----

// Zeroed, 64-aligned memory of exactly `bytes`, so that ASan catches a slot
// that reaches past the end.
class SegmentMemory {
 public:
  explicit SegmentMemory(size_t bytes)
      : bytes_(bytes), memory_(static_cast<char*>(std::aligned_alloc(64, bytes))) {
    std::memset(memory_, 0, bytes);
  }
  ~SegmentMemory() { std::free(memory_); }
  SegmentMemory(const SegmentMemory&) = delete;
  SegmentMemory& operator=(const SegmentMemory&) = delete;
  char* get() const { return memory_; }
  size_t size() const { return bytes_; }

 private:
  size_t bytes_;
  char* memory_;
};

RingSizes SmallSizes() {
  RingSizes s;
  s.task = 256;
  s.results = 1024;
  s.logs = 512;
  s.errors = 128;
  return s;
}

ByteRing* RingOf(Channel* c, int which) {
  ByteRing* rings[] = {&c->tasks, &c->results, &c->logs, &c->errors};
  return rings[which];
}

bool RingIsEmpty(ByteRing* ring) {
  uint32_t type;
  std::string_view payload;
  std::string scratch;
  return ring->Read(&type, &payload, &scratch) == ByteRing::ReadStatus::kEmpty &&
         ring->FreeBytes() == ring->capacity();
}

bool ControlIsZero(const WorkerControl* c) {
  return c->wake == 0 && c->sleeping == 0 && c->pid == 0 && c->ready == 0 && c->needs_room == 0 &&
         c->current_seq == 0 && c->current_start_ns == 0 && c->child_pgid == 0;
}

void SetControl(WorkerControl* c, uint32_t v) {
  c->wake = v;
  c->sleeping = v;
  c->pid = v;
  c->ready = v;
  c->needs_room = v;
  c->current_seq = v;
  c->current_start_ns = v;
  c->child_pgid = static_cast<int32_t>(v);
}

// Fills every ring of a slot to the last byte with records tagged by slot.
void FillSlot(Channel* c, uint32_t slot) {
  for (int r = 0; r < 4; ++r) {
    ByteRing* ring = RingOf(c, r);
    std::string payload(8, static_cast<char>('a' + slot * 4 + r));  // 16-byte records
    while (ring->TryWrite(slot, payload)) {
    }
    ring->Publish();
    ASSERT_EQ(ring->FreeBytes(), 0u);
  }
}

TEST(SegmentLayoutTest, InitThenAttachRoundTrip) {
  const RingSizes sizes = SmallSizes();
  SegmentMemory mem(SegmentLayout::BytesFor(3, sizes));
  SegmentHeader* h = SegmentLayout::Init(mem.get(), mem.size(), 3, sizes, 4242);
  ASSERT_NE(h, nullptr);
  SegmentHeader* a = SegmentLayout::Attach(mem.get(), mem.size());
  ASSERT_EQ(a, h);
  EXPECT_EQ(a->magic, kSegmentMagic);
  EXPECT_EQ(a->slots, 3u);
  EXPECT_EQ(a->master_pid, 4242u);
  EXPECT_EQ(a->sizes.task, 256u);
  EXPECT_EQ(a->sizes.results, 1024u);
  EXPECT_EQ(a->sizes.logs, 512u);
  EXPECT_EQ(a->sizes.errors, 128u);
  EXPECT_EQ(a->slot_bytes % 64, 0u);
  EXPECT_EQ(a->master_sleeping, 0u);
  EXPECT_EQ(a->shutdown, 0u);
  for (uint32_t slot = 0; slot < 3; ++slot) {
    Channel c = SegmentLayout::ChannelOf(a, slot);
    EXPECT_TRUE(ControlIsZero(c.control));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(c.control) % 64, 0u);
    EXPECT_EQ(c.tasks.capacity(), 256u);
    EXPECT_EQ(c.results.capacity(), 1024u);
    EXPECT_EQ(c.logs.capacity(), 512u);
    EXPECT_EQ(c.errors.capacity(), 128u);
    for (int r = 0; r < 4; ++r) EXPECT_TRUE(RingIsEmpty(RingOf(&c, r))) << slot << "/" << r;
  }
}

TEST(SegmentLayoutTest, InitRefusesTooSmallMemory) {
  const RingSizes sizes = SmallSizes();
  SegmentMemory mem(SegmentLayout::BytesFor(2, sizes));
  EXPECT_EQ(SegmentLayout::Init(mem.get(), mem.size() - 1, 2, sizes, 1), nullptr);
}

TEST(SegmentLayoutTest, AttachRejectsWrongMagicAndSizes) {
  const RingSizes sizes = SmallSizes();
  SegmentMemory mem(SegmentLayout::BytesFor(2, sizes));
  ASSERT_NE(SegmentLayout::Init(mem.get(), mem.size(), 2, sizes, 1), nullptr);
  auto* h = reinterpret_cast<SegmentHeader*>(mem.get());

  EXPECT_EQ(SegmentLayout::Attach(mem.get(), mem.size() - 1), nullptr);
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), sizeof(SegmentHeader) - 1), nullptr);
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), 0), nullptr);

  h->magic ^= 1;
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);
  h->magic ^= 1;
  ASSERT_NE(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);

  h->sizes.logs = 500;  // not a power of two
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);
  h->sizes.logs = 512;
  h->slot_bytes += 64;  // disagrees with the ring sizes
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);
  h->slot_bytes -= 64;
  h->slots = 3;  // more slots than the memory holds
  EXPECT_EQ(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);
  h->slots = 2;
  EXPECT_NE(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);

  SegmentMemory zeroed(SegmentLayout::BytesFor(2, sizes));  // never formatted
  EXPECT_EQ(SegmentLayout::Attach(zeroed.get(), zeroed.size()), nullptr);
}

// Writing through one slot's control and rings, to the last byte of each
// ring, leaves the other slots untouched.
TEST(SegmentLayoutTest, SlotsDoNotOverlap) {
  const RingSizes sizes = SmallSizes();
  constexpr uint32_t kSlots = 3;
  SegmentMemory mem(SegmentLayout::BytesFor(kSlots, sizes));
  SegmentHeader* h = SegmentLayout::Init(mem.get(), mem.size(), kSlots, sizes, 1);
  ASSERT_NE(h, nullptr);

  for (uint32_t written = 0; written < kSlots; ++written) {
    for (uint32_t slot = 0; slot < kSlots; ++slot) SegmentLayout::ResetSlot(h, slot);
    Channel w = SegmentLayout::ChannelOf(h, written);
    SetControl(w.control, 0xFFFFFFFFu);
    ASSERT_NO_FATAL_FAILURE(FillSlot(&w, written));

    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      Channel c = SegmentLayout::ChannelOf(h, slot);
      if (slot != written) {
        EXPECT_TRUE(ControlIsZero(c.control)) << "slot " << slot << " after " << written;
        for (int r = 0; r < 4; ++r) {
          EXPECT_TRUE(RingIsEmpty(RingOf(&c, r))) << "slot " << slot << " ring " << r;
        }
        continue;
      }
      // The written slot reads back intact.
      for (int r = 0; r < 4; ++r) {
        ByteRing* ring = RingOf(&c, r);
        const std::string expected(8, static_cast<char>('a' + slot * 4 + r));
        size_t count = 0;
        for (;;) {
          uint32_t type;
          std::string_view payload;
          std::string scratch;
          auto status = ring->Read(&type, &payload, &scratch);
          if (status == ByteRing::ReadStatus::kEmpty) break;
          ASSERT_EQ(status, ByteRing::ReadStatus::kRecord);
          EXPECT_EQ(type, slot);
          EXPECT_EQ(payload, expected);
          ++count;
        }
        EXPECT_EQ(count, ring->capacity() / ByteRing::RecordBytes(8));
      }
    }
    EXPECT_EQ(h->magic, kSegmentMagic);
    EXPECT_EQ(h->slots, kSlots);
    EXPECT_EQ(h->master_pid, 1u);
  }
}

TEST(SegmentLayoutTest, ResetSlotEmptiesRingsAndControl) {
  const RingSizes sizes = SmallSizes();
  SegmentMemory mem(SegmentLayout::BytesFor(2, sizes));
  SegmentHeader* h = SegmentLayout::Init(mem.get(), mem.size(), 2, sizes, 1);
  ASSERT_NE(h, nullptr);
  for (uint32_t slot = 0; slot < 2; ++slot) {
    Channel c = SegmentLayout::ChannelOf(h, slot);
    SetControl(c.control, 7);
    ASSERT_NO_FATAL_FAILURE(FillSlot(&c, slot));
    // Half-consumed, so that head and tail are both away from zero.
    std::string scratch;
    uint32_t type;
    std::string_view payload;
    ASSERT_EQ(c.results.Read(&type, &payload, &scratch), ByteRing::ReadStatus::kRecord);
    c.results.Release();
  }

  SegmentLayout::ResetSlot(h, 1);
  Channel fresh = SegmentLayout::ChannelOf(h, 1);
  EXPECT_TRUE(ControlIsZero(fresh.control));
  for (int r = 0; r < 4; ++r) EXPECT_TRUE(RingIsEmpty(RingOf(&fresh, r))) << r;
  EXPECT_TRUE(fresh.tasks.TryWrite(1, "after reset"));
  fresh.tasks.Publish();
  Channel reader = SegmentLayout::ChannelOf(h, 1);
  std::string scratch;
  uint32_t type;
  std::string_view payload;
  ASSERT_EQ(reader.tasks.Read(&type, &payload, &scratch), ByteRing::ReadStatus::kRecord);
  EXPECT_EQ(payload, "after reset");

  // Slot 0 is untouched.
  Channel other = SegmentLayout::ChannelOf(h, 0);
  EXPECT_EQ(other.control->pid, 7u);
  EXPECT_EQ(other.tasks.FreeBytes(), 0u);
  EXPECT_TRUE(other.tasks.HasData());
  ASSERT_NE(SegmentLayout::Attach(mem.get(), mem.size()), nullptr);
}

// The layout works the same over a real segment opened by another process.
TEST(SegmentLayoutTest, WorkerInChildSeesMasterRings) {
  const RingSizes sizes = SmallSizes();
  auto segment = SharedSegment::Create(SegmentLayout::BytesFor(2, sizes));
  ASSERT_TRUE(segment.ok());
  SegmentHeader* h =
      SegmentLayout::Init((*segment)->data(), (*segment)->size(), 2, sizes, ::getpid());
  ASSERT_NE(h, nullptr);
  Channel master = SegmentLayout::ChannelOf(h, 1);
  ASSERT_TRUE(master.tasks.TryWrite(1, "task for slot 1"));
  master.tasks.Publish();
  const std::string name = (*segment)->name();

  int code = RunInChild([&] {
    auto opened = SharedSegment::Open(name);
    if (!opened.ok()) return 2;
    SegmentHeader* wh = SegmentLayout::Attach((*opened)->data(), (*opened)->size());
    if (wh == nullptr) return 3;
    Channel worker = SegmentLayout::ChannelOf(wh, 1);
    uint32_t type;
    std::string_view payload;
    std::string scratch;
    if (worker.tasks.Read(&type, &payload, &scratch) != ByteRing::ReadStatus::kRecord) return 4;
    if (payload != "task for slot 1") return 5;
    worker.tasks.Release();
    if (!worker.results.TryWrite(2, "result from slot 1")) return 6;
    worker.results.Publish();
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(master.tasks.Drained());
  uint32_t type;
  std::string_view payload;
  std::string scratch;
  ASSERT_EQ(master.results.Read(&type, &payload, &scratch), ByteRing::ReadStatus::kRecord);
  EXPECT_EQ(type, 2u);
  EXPECT_EQ(payload, "result from slot 1");
}

// ---- Futex ----

// How often this thread gave up the processor of its own accord: a wait that
// blocks counts one, a syscall that returns at once none.
long VoluntarySwitches() {
  struct rusage usage {};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

// Whether the process is asleep in the kernel (state S in /proc/<pid>/stat).
bool Sleeping(pid_t pid) {
  std::string stat = test::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

bool IsPowerOfTwo(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

TEST(RingSizesForTest, FewWorkersKeepTheDefaults) {
  const RingSizes d;
  for (uint32_t workers : {1u, 2u, 8u, 16u}) {
    RingSizes s = RingSizesFor(workers);
    EXPECT_EQ(s.task, d.task) << workers;
    EXPECT_EQ(s.results, d.results) << workers;
    EXPECT_EQ(s.logs, d.logs) << workers;
    EXPECT_EQ(s.errors, d.errors) << workers;
  }
}

TEST(RingSizesForTest, ManyWorkersStayInTheBudget) {
  // -j 200 was 358 MB of shared memory with the defaults.
  EXPECT_LE(SegmentLayout::BytesFor(200, RingSizesFor(200)), kSlotsBudget + 4096);
  EXPECT_LT(SegmentLayout::BytesFor(200, RingSizesFor(200)), size_t{64} << 20);
  EXPECT_LE(SegmentLayout::BytesFor(75, RingSizesFor(75)), kSlotsBudget + 4096);
}

TEST(RingSizesForTest, SizesArePowersOfTwoAtOrAboveTheFloorsAndShrinkWithWorkers) {
  RingSizes last = RingSizesFor(1);
  for (uint32_t workers = 1; workers <= 2000; ++workers) {
    RingSizes s = RingSizesFor(workers);
    for (auto [size, floor] :
         {std::pair{s.task, kRingFloors.task}, std::pair{s.results, kRingFloors.results},
          std::pair{s.logs, kRingFloors.logs}, std::pair{s.errors, kRingFloors.errors}}) {
      ASSERT_TRUE(IsPowerOfTwo(size)) << workers;
      ASSERT_GE(size, floor) << workers;
    }
    ASSERT_LE(s.task, last.task) << workers;
    ASSERT_LE(s.results, last.results) << workers;
    ASSERT_LE(s.logs, last.logs) << workers;
    ASSERT_LE(s.errors, last.errors) << workers;
    const bool at_floors = s.task == kRingFloors.task && s.results == kRingFloors.results &&
                           s.logs == kRingFloors.logs && s.errors == kRingFloors.errors;
    // Over the budget only once nothing can shrink any more.
    if (!at_floors) {
      ASSERT_LE(SegmentLayout::BytesFor(workers, s), kSlotsBudget + 4096) << workers;
    }
    last = s;
  }
  // Items of 64 KiB still fit the task ring at any -j.
  EXPECT_GE(RingSizesFor(2000).task, 64u * 1024);
}

TEST(FutexTest, WaitReturnsAtOnceWhenWordDiffers) {
  std::atomic<uint32_t> word{5};
  long before = VoluntarySwitches();
  FutexWait(&word, 4, 2000);
  EXPECT_EQ(VoluntarySwitches(), before) << "it blocked instead of returning";
}

// Nobody wakes it, so only the timeout can end the wait; it did block.
TEST(FutexTest, WaitTimesOut) {
  std::atomic<uint32_t> word{0};
  long before = VoluntarySwitches();
  FutexWait(&word, 0, 50);
  EXPECT_GT(VoluntarySwitches(), before) << "it returned without waiting";
}

// A worker process asleep on its control block's futex is woken by the
// master's WakeWorker long before its timeout.
TEST(FutexTest, WakeWorkerWakesSleeperInAnotherProcess) {
  void* memory = ::mmap(nullptr, sizeof(WorkerControl), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  auto* control = new (memory) WorkerControl();

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    uint32_t seen = control->wake.load();
    control->sleeping.store(1);
    // A timeout no test waits for: only the wake ends this wait.
    while (control->wake.load() == seen) FutexWait(&control->wake, seen, 600'000);
    control->sleeping.store(0);
    ::_exit(0);
  }
  // Asleep after saying so: it is in the futex wait.
  ASSERT_TRUE(test::WaitFor([&] { return control->sleeping.load() != 0 && Sleeping(pid); },
                            std::chrono::seconds(30)));
  WakeWorker(control);
  int status = 0;
  bool woke = test::WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; },
                            std::chrono::seconds(30));
  if (!woke) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(woke) << "the wake did not end the wait";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ::munmap(memory, sizeof(WorkerControl));
}

TEST(FutexTest, WakeWorkerIsANoOpWhenNobodySleeps) {
  WorkerControl control;
  control.wake = 3;
  control.sleeping = 0;
  WakeWorker(&control);
  EXPECT_EQ(control.wake, 3u);
}

}  // namespace
}  // namespace shoal
