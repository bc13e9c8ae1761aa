#include "common/byte_ring.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <utility>

#include "common/test_util.h"

namespace shoal {
namespace {

// A seed for the randomized tests, printed so that a failure can be replayed
// with SHOAL_TEST_SEED=<seed>.
uint64_t TestSeed() {
  uint64_t seed;
  if (const char* env = std::getenv("SHOAL_TEST_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  } else {
    std::random_device rd;
    seed = (uint64_t{rd()} << 32) ^ rd();
  }
  std::printf("[   SEED   ] %llu (replay with SHOAL_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

// Ring memory on the heap, so that ASan catches any access past the data area.
class RingMemory {
 public:
  explicit RingMemory(size_t capacity)
      : bytes_(ByteRing::BytesFor(capacity)),
        memory_(static_cast<char*>(std::aligned_alloc(64, bytes_))) {
    std::memset(memory_, 0xAB, bytes_);  // Init must not rely on zeroed memory
    ByteRing::Init(memory_, capacity);
  }
  ~RingMemory() { std::free(memory_); }
  RingMemory(const RingMemory&) = delete;
  RingMemory& operator=(const RingMemory&) = delete;

  void* get() const { return memory_; }
  RingHeader* header() const { return reinterpret_cast<RingHeader*>(memory_); }
  char* data() const { return memory_ + sizeof(RingHeader); }
  // Moves both indices to `position` (an empty ring that has carried
  // `position` bytes). Views made afterwards resume from there.
  void SetIndices(uint64_t position) const {
    header()->tail.store(position);
    header()->head.store(position);
  }

 private:
  size_t bytes_;
  char* memory_;
};

std::string Pattern(size_t length, uint64_t salt) {
  std::string s(length, '\0');
  for (size_t i = 0; i < length; ++i) s[i] = static_cast<char>((salt * 131 + i * 7 + 1) & 0xFF);
  return s;
}

struct Record {
  uint32_t type = 0;
  std::string payload;
};

// Reads one record; fails the test unless there is one.
Record ReadOne(ByteRing* ring) {
  Record r;
  std::string_view payload;
  std::string scratch;
  EXPECT_EQ(ring->Read(&r.type, &payload, &scratch), ByteRing::ReadStatus::kRecord);
  r.payload = std::string(payload);
  return r;
}

ByteRing::ReadStatus ReadStatusOf(ByteRing* ring) {
  uint32_t type;
  std::string_view payload;
  std::string scratch;
  return ring->Read(&type, &payload, &scratch);
}

TEST(ByteRingTest, EmptyRingReadsEmpty) {
  RingMemory mem(256);
  ByteRing ring(mem.get());
  EXPECT_EQ(ring.capacity(), 256u);
  EXPECT_EQ(ring.max_record(), 248u);
  EXPECT_EQ(ReadStatusOf(&ring), ByteRing::ReadStatus::kEmpty);
  EXPECT_FALSE(ring.HasData());
  EXPECT_EQ(ring.UsedBytes(), 0u);
  EXPECT_TRUE(ring.Drained());
  EXPECT_EQ(ring.FreeBytes(), 256u);
}

TEST(ByteRingTest, RecordBytesPadsToEight) {
  EXPECT_EQ(ByteRing::RecordBytes(0), 8u);
  EXPECT_EQ(ByteRing::RecordBytes(1), 16u);
  EXPECT_EQ(ByteRing::RecordBytes(8), 16u);
  EXPECT_EQ(ByteRing::RecordBytes(9), 24u);
}

TEST(ByteRingTest, WritePublishReadRoundTrip) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  ASSERT_TRUE(producer.TryWrite(7, "hello"));
  ASSERT_TRUE(producer.TryWrite(8, ""));
  producer.Publish();
  EXPECT_FALSE(producer.Drained());
  EXPECT_TRUE(consumer.HasData());
  EXPECT_EQ(consumer.UsedBytes(), ByteRing::RecordBytes(5) + ByteRing::RecordBytes(0));

  Record a = ReadOne(&consumer);
  EXPECT_EQ(a.type, 7u);
  EXPECT_EQ(a.payload, "hello");
  Record b = ReadOne(&consumer);
  EXPECT_EQ(b.type, 8u);
  EXPECT_EQ(b.payload, "");
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_FALSE(consumer.HasData());

  EXPECT_FALSE(producer.Drained());  // read but not released
  consumer.Release();
  EXPECT_TRUE(producer.Drained());
  EXPECT_EQ(producer.FreeBytes(), 256u);
}

TEST(ByteRingTest, RecordsInvisibleUntilPublish) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  ASSERT_TRUE(producer.TryWrite(1, "one"));
  ASSERT_TRUE(producer.TryWrite(2, "two"));
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_FALSE(consumer.HasData());
  EXPECT_EQ(consumer.UsedBytes(), 0u);
  // A view made now (a replacement consumer) does not see them either.
  ByteRing fresh(mem.get());
  EXPECT_EQ(ReadStatusOf(&fresh), ByteRing::ReadStatus::kEmpty);

  producer.Publish();
  EXPECT_EQ(ReadOne(&consumer).payload, "one");
  EXPECT_EQ(ReadOne(&consumer).payload, "two");
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
}

TEST(ByteRingTest, FullRingRefusesUntilConsumerReleases) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string payload = Pattern(24, 1);  // 32 bytes a record: 8 fill the ring exactly
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(producer.TryWrite(i, payload)) << i;
  EXPECT_FALSE(producer.TryWrite(8, payload));
  EXPECT_FALSE(producer.TryWrite(8, ""));  // not even an empty record
  EXPECT_EQ(producer.FreeBytes(), 0u);
  producer.Publish();

  // Reading alone frees nothing: the bytes are still in use until Release.
  Record first = ReadOne(&consumer);
  EXPECT_EQ(first.type, 0u);
  EXPECT_EQ(first.payload, payload);
  EXPECT_FALSE(producer.TryWrite(8, payload));

  consumer.Release();
  EXPECT_EQ(producer.FreeBytes(), 32u);
  EXPECT_TRUE(producer.TryWrite(8, payload));
  EXPECT_FALSE(producer.TryWrite(9, ""));
  producer.Publish();
  for (uint32_t i = 1; i <= 8; ++i) {
    Record r = ReadOne(&consumer);
    EXPECT_EQ(r.type, i);
    EXPECT_EQ(r.payload, payload);
  }
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
}

// Many laps of random-sized records, random batches on both sides: every
// record comes out whole and in order.
TEST(ByteRingTest, WrapAroundRandomSizesManyLaps) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  RingMemory mem(1024);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const char* data_begin = mem.data();
  const char* data_end = mem.data() + 1024;

  std::deque<Record> in_flight;
  uint64_t written = 0, read = 0, bytes = 0, scratch_reads = 0;
  std::string scratch;
  while (bytes < 300 * 1024) {  // ~300 laps
    int batch = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < batch; ++i) {
      // Mostly small records, some close to max_record().
      size_t length = rng() % 4 == 0 ? rng() % (producer.max_record() + 1) : rng() % 40;
      // Any type but the piece bit, which is the ring's own.
      Record r{static_cast<uint32_t>(rng()) & ~ByteRing::kMorePieces, Pattern(length, written)};
      if (!producer.TryWrite(r.type, r.payload)) break;
      in_flight.push_back(std::move(r));
      ++written;
      bytes += ByteRing::RecordBytes(length);
    }
    producer.Publish();

    int reads = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < reads; ++i) {
      uint32_t type;
      std::string_view payload;
      ByteRing::ReadStatus status = consumer.Read(&type, &payload, &scratch);
      if (in_flight.empty()) {
        ASSERT_EQ(status, ByteRing::ReadStatus::kEmpty);
        break;
      }
      ASSERT_EQ(status, ByteRing::ReadStatus::kRecord) << "record " << read;
      ASSERT_EQ(type, in_flight.front().type) << "record " << read;
      ASSERT_EQ(payload, in_flight.front().payload) << "record " << read;
      if (!payload.empty()) {
        bool in_ring = payload.data() >= data_begin && payload.data() + payload.size() <= data_end;
        bool in_scratch = payload.data() == scratch.data();
        ASSERT_TRUE(in_ring || in_scratch);
        scratch_reads += in_scratch;
      }
      in_flight.pop_front();
      ++read;
    }
    if (rng() % 3 != 0) consumer.Release();
  }
  consumer.Release();
  while (!in_flight.empty()) {
    Record r = ReadOne(&consumer);
    ASSERT_EQ(r.type, in_flight.front().type);
    ASSERT_EQ(r.payload, in_flight.front().payload);
    in_flight.pop_front();
  }
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_GT(scratch_reads, 0u);  // the wrapped-payload path ran
}

// A record whose header sits 16 bytes before the end of the data area: its
// 24-byte payload wraps and is copied out through the scratch string.
TEST(ByteRingTest, PayloadWrappingAroundTheEndUsesScratch) {
  RingMemory mem(256);
  mem.SetIndices(256 - 16);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string payload = Pattern(24, 3);
  ASSERT_TRUE(producer.TryWrite(9, payload));
  producer.Publish();
  // Header at 240, payload bytes 248..255 then 0..15.
  EXPECT_EQ(std::memcmp(mem.data() + 248, payload.data(), 8), 0);
  EXPECT_EQ(std::memcmp(mem.data(), payload.data() + 8, 16), 0);

  uint32_t type;
  std::string_view got;
  std::string scratch;
  ASSERT_EQ(consumer.Read(&type, &got, &scratch), ByteRing::ReadStatus::kRecord);
  EXPECT_EQ(type, 9u);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(got.data(), scratch.data());
  consumer.Release();
  EXPECT_TRUE(producer.Drained());
}

// Header in the last 8 bytes: the payload starts at offset 0, contiguous.
TEST(ByteRingTest, HeaderInLastBytesPayloadAtStart) {
  RingMemory mem(256);
  mem.SetIndices(256 - 8);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string payload = Pattern(40, 4);
  ASSERT_TRUE(producer.TryWrite(3, payload));
  producer.Publish();
  uint32_t type;
  std::string_view got;
  std::string scratch;
  ASSERT_EQ(consumer.Read(&type, &got, &scratch), ByteRing::ReadStatus::kRecord);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(got.data(), mem.data());
}

// A record of exactly max_record() fits an empty ring wherever its indices stand.
TEST(ByteRingTest, MaxRecordFitsEmptyRingAtEveryOffset) {
  RingMemory mem(256);
  for (uint64_t offset = 0; offset < 2 * 256; offset += 8) {
    mem.SetIndices(offset);
    ByteRing producer(mem.get());
    ByteRing consumer(mem.get());
    const std::string payload = Pattern(producer.max_record(), offset);
    ASSERT_TRUE(producer.TryWrite(1, payload)) << "offset " << offset;
    EXPECT_FALSE(producer.TryWrite(2, "")) << "offset " << offset;  // now full
    producer.Publish();
    Record r = ReadOne(&consumer);
    EXPECT_EQ(r.payload, payload) << "offset " << offset;
    EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
    consumer.Release();
    EXPECT_EQ(producer.FreeBytes(), 256u);
  }
}

// The indices are byte counts since the ring was formatted; their unsigned
// arithmetic must survive wrapping past 2^64.
TEST(ByteRingTest, IndicesWrapPast64Bits) {
  RingMemory mem(256);
  mem.SetIndices(~uint64_t{0} - 63);  // 64 bytes before the wrap, 8-aligned
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  for (int i = 0; i < 40; ++i) {
    const std::string payload = Pattern(static_cast<size_t>(i * 5), i);
    ASSERT_TRUE(producer.TryWrite(i, payload)) << i;
    producer.Publish();
    Record r = ReadOne(&consumer);
    EXPECT_EQ(r.type, static_cast<uint32_t>(i));
    EXPECT_EQ(r.payload, payload);
    consumer.Release();
    EXPECT_EQ(producer.FreeBytes(), 256u);
  }
}

TEST(ByteRingTest, RecordBiggerThanMaxRecordRefused) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string big = Pattern(producer.max_record() + 1, 5);
  EXPECT_FALSE(producer.TryWrite(1, big));
  EXPECT_FALSE(producer.TryWrite(1, std::string_view(big).substr(0, 100),
                                 std::string_view(big).substr(100)));
  EXPECT_FALSE(producer.TryWrite(1, std::string(1 << 20, 'x')));
  producer.Publish();
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_EQ(producer.FreeBytes(), 256u);
}

// Moves `record` through a ring much smaller than itself: the producer
// writes pieces while there is room, the consumer takes what is published;
// the record comes out whole, once, and only after its last piece.
TEST(ByteRingTest, RecordLongerThanTheRingCrossesInPieces) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string big = Pattern(5000, 9);
  ASSERT_GT(big.size(), producer.max_record());
  size_t offset = 0;
  int records = 0;
  int rounds = 0;
  std::string got;
  while (records == 0) {
    while (offset < big.size() && producer.TryWritePiece(7, big, &offset)) {
    }
    producer.Publish();
    uint32_t type = 0;
    std::string_view payload;
    std::string scratch;
    ByteRing::ReadStatus st;
    while ((st = consumer.Read(&type, &payload, &scratch)) == ByteRing::ReadStatus::kRecord) {
      EXPECT_EQ(type, 7u);
      got = std::string(payload);
      ++records;
    }
    ASSERT_NE(st, ByteRing::ReadStatus::kCorrupt);
    if (records == 0) {
      ASSERT_TRUE(consumer.Release());  // pieces were taken: room for the next
      ASSERT_LT(++rounds, 1000) << "no progress at offset " << offset;
    }
  }
  consumer.Release();
  EXPECT_EQ(offset, big.size());
  EXPECT_EQ(records, 1);
  EXPECT_EQ(got, big);
  // The ring goes on with whole records.
  ASSERT_TRUE(producer.TryWrite(3, "after"));
  producer.Publish();
  Record r = ReadOne(&consumer);
  EXPECT_EQ(r.type, 3u);
  EXPECT_EQ(r.payload, "after");
}

TEST(ByteRingTest, UnfinishedPiecesAreNeverReturned) {
  RingMemory mem(1024);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string big = Pattern(3000, 4);
  size_t offset = 0;
  ASSERT_TRUE(producer.TryWritePiece(2, big, &offset));
  ASSERT_TRUE(producer.TryWritePiece(2, big, &offset));
  EXPECT_EQ(offset, 2 * producer.max_piece());
  producer.Publish();  // then the producer dies: its last piece never comes
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_TRUE(consumer.Release());
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kEmpty);
  EXPECT_FALSE(consumer.Release());  // nothing more was taken
  EXPECT_EQ(producer.FreeBytes(), 1024u);
}

TEST(ByteRingTest, PiecesOfDifferentTypesAreCorrupt) {
  RingMemory mem(1024);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  ASSERT_TRUE(producer.TryWrite(2 | ByteRing::kMorePieces, "first piece"));
  ASSERT_TRUE(producer.TryWrite(3, "last piece of another type"));
  producer.Publish();
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kCorrupt);
}

TEST(ByteRingTest, PiecesBeyondTheLimitAreCorrupt) {
  RingMemory mem(4096);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  const std::string piece(producer.max_piece(), 'p');
  ByteRing::ReadStatus st = ByteRing::ReadStatus::kEmpty;
  // A producer that never ends its record: the consumer stops gathering.
  for (size_t sent = 0; sent <= ByteRing::kMaxPiecedRecord + piece.size(); sent += piece.size()) {
    ASSERT_TRUE(producer.TryWrite(2 | ByteRing::kMorePieces, piece));
    producer.Publish();
    st = ReadStatusOf(&consumer);
    if (st != ByteRing::ReadStatus::kEmpty) break;
    consumer.Release();
  }
  EXPECT_EQ(st, ByteRing::ReadStatus::kCorrupt);
}

TEST(ByteRingTest, TwoPartWriteConcatenates) {
  RingMemory mem(256);
  ByteRing producer(mem.get());
  ByteRing consumer(mem.get());
  ASSERT_TRUE(producer.TryWrite(1, "head:", "body"));
  ASSERT_TRUE(producer.TryWrite(2, "", "only body"));
  ASSERT_TRUE(producer.TryWrite(3, "only head", ""));
  ASSERT_TRUE(producer.TryWrite(4, "", ""));
  producer.Publish();
  EXPECT_EQ(ReadOne(&consumer).payload, "head:body");
  EXPECT_EQ(ReadOne(&consumer).payload, "only body");
  EXPECT_EQ(ReadOne(&consumer).payload, "only head");
  Record empty = ReadOne(&consumer);
  EXPECT_EQ(empty.type, 4u);
  EXPECT_EQ(empty.payload, "");
}

// Every split point of a two-part record that wraps around the end.
TEST(ByteRingTest, TwoPartWriteWrappingAtEverySplit) {
  RingMemory mem(256);
  const std::string whole = Pattern(100, 6);
  for (size_t split = 0; split <= whole.size(); ++split) {
    mem.SetIndices(256 - 48);  // payload starts 40 bytes before the end
    ByteRing producer(mem.get());
    ByteRing consumer(mem.get());
    ASSERT_TRUE(producer.TryWrite(1, std::string_view(whole).substr(0, split),
                                  std::string_view(whole).substr(split)));
    producer.Publish();
    EXPECT_EQ(ReadOne(&consumer).payload, whole) << "split " << split;
  }
}

// ---- A producer that scribbles: the consumer says kCorrupt, never crashes ----

TEST(ByteRingTest, CorruptLengthInRecordHeader) {
  for (uint32_t bad : {uint32_t{1000}, uint32_t{249}, uint32_t{17}, ~uint32_t{0}}) {
    RingMemory mem(256);
    ByteRing producer(mem.get());
    ByteRing consumer(mem.get());
    ASSERT_TRUE(producer.TryWrite(1, Pattern(8, 0)));  // 16 bytes published
    producer.Publish();
    std::memcpy(mem.data(), &bad, sizeof bad);  // the record's length field
    EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kCorrupt) << bad;
    EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kCorrupt) << bad;  // stays so
  }
}

// In these two the data area holds zeros, which read as valid empty records:
// only the check of the tail itself can catch the corruption.
TEST(ByteRingTest, CorruptTailBeyondCapacity) {
  RingMemory mem(256);
  std::memset(mem.data(), 0, 256);
  mem.SetIndices(64);
  ByteRing consumer(mem.get());
  mem.header()->tail.store(64 + 256 + 8);
  EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kCorrupt);
}

TEST(ByteRingTest, CorruptTailMisalignedOrBehindHead) {
  for (uint64_t tail : {uint64_t{64 + 12}, uint64_t{64 + 4}, uint64_t{64 - 8}, uint64_t{0}}) {
    RingMemory mem(256);
    std::memset(mem.data(), 0, 256);
    mem.SetIndices(64);
    ByteRing consumer(mem.get());
    mem.header()->tail.store(tail);
    EXPECT_EQ(ReadStatusOf(&consumer), ByteRing::ReadStatus::kCorrupt) << "tail " << tail;
  }
}

// Random garbage in the data area and a random (aligned, in range) tail: the
// consumer returns records or kCorrupt, and ASan sees no access outside.
TEST(ByteRingTest, GarbageNeverCrashesTheConsumer) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  RingMemory mem(256);
  for (int trial = 0; trial < 2000; ++trial) {
    uint64_t head = (rng() % 64) * 8;
    mem.SetIndices(head);
    ByteRing consumer(mem.get());
    for (int i = 0; i < 256; ++i) {
      // Small lengths are likelier, so that some garbage parses as records.
      mem.data()[i] = static_cast<char>(rng() % 3 == 0 ? rng() % 64 : rng());
    }
    mem.header()->tail.store(head + (rng() % 33) * 8);
    for (int reads = 0; reads < 64; ++reads) {
      uint32_t type;
      std::string_view payload;
      std::string scratch;
      ByteRing::ReadStatus status = consumer.Read(&type, &payload, &scratch);
      if (status != ByteRing::ReadStatus::kRecord) break;
      ASSERT_LE(payload.size(), consumer.max_record());
    }
  }
}

// ---- Across processes, with kills ----

constexpr uint32_t kNumberedRecord = 5;
constexpr uint32_t kEndRecord = 6;

// Record n: 8 bytes of n, then 0..127 bytes that depend on n.
void MakeNumbered(uint64_t n, std::string* out) {
  size_t filler = static_cast<size_t>((n * 0x9E3779B97F4A7C15ULL) >> 57);
  out->resize(8 + filler);
  std::memcpy(out->data(), &n, 8);
  for (size_t i = 8; i < out->size(); ++i) (*out)[i] = static_cast<char>(n * 31 + i);
}

bool ParseNumbered(std::string_view payload, uint64_t* n) {
  if (payload.size() < 8) return false;
  std::memcpy(n, payload.data(), 8);
  std::string expected;
  MakeNumbered(*n, &expected);
  return payload == expected;
}

// Memory shared with forked children.
class SharedMemory {
 public:
  explicit SharedMemory(size_t bytes) : bytes_(bytes) {
    memory_ = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory_ == MAP_FAILED) std::abort();
  }
  ~SharedMemory() { ::munmap(memory_, bytes_); }
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  void* get() const { return memory_; }

 private:
  size_t bytes_;
  void* memory_;
};

// A forked child, killed and reaped when the test leaves its scope however
// it leaves (a failed ASSERT must not orphan a spinning child).
class Child {
 public:
  // Runs `body` in a child that never returns into gtest: it _exits with
  // body's return value (or 99 on an exception).
  template <typename Body>
  static Child Fork(Body body) {
    return Child(test::ForkChild(body));
  }
  Child(Child&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Returns the wait status.
  int KillAndWait() {
    ::kill(pid_, SIGKILL);
    return Wait();
  }
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  // Waits at most `limit`; false if the child had to be killed.
  bool WaitFor(std::chrono::milliseconds limit, int* status) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
      if (::waitpid(pid_, status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      ::usleep(1000);
    }
    *status = KillAndWait();
    return false;
  }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

using Clock = std::chrono::steady_clock;

// Producer child: writes numbered records from `first` as fast as it can,
// publishing in random batches, until it is killed.
int RunNumberedProducer(void* memory, uint64_t first, uint64_t seed) {
  ByteRing ring(memory);  // a fresh view: resumes from the shared tail
  std::mt19937_64 rng(seed);
  std::string payload;
  uint64_t n = first;
  int unpublished = 0;
  int batch = 1;
  for (;;) {
    MakeNumbered(n, &payload);
    bool full = !ring.TryWrite(kNumberedRecord, payload);
    if (!full) {
      ++n;
      if (++unpublished < batch) continue;
    }
    ring.Publish();
    unpublished = 0;
    batch = 1 + static_cast<int>(rng() % 16);
    if (full) ::sched_yield();  // lets the consumer run on a busy machine
  }
}

// The master's side: a producer killed at random moments, replaced by a new
// one that resumes from the shared indices. The consumer sees records
// 0, 1, 2, ... each whole, never a gap, a duplicate or a torn record.
TEST(ByteRingCrossProcessTest, ProducerKilledAtRandomThenReplaced) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  constexpr size_t kCapacity = 4096;
  SharedMemory mem(ByteRing::BytesFor(kCapacity));
  ByteRing::Init(mem.get(), kCapacity);
  ByteRing consumer(mem.get());

  uint64_t next = 0;  // the number the next record must carry
  std::string scratch;
  // Reads everything published now; false on a bad record.
  auto drain = [&]() -> bool {
    for (;;) {
      uint32_t type;
      std::string_view payload;
      ByteRing::ReadStatus status = consumer.Read(&type, &payload, &scratch);
      if (status == ByteRing::ReadStatus::kEmpty) {
        ::sched_yield();
        break;
      }
      uint64_t n = ~uint64_t{0};
      if (status != ByteRing::ReadStatus::kRecord || type != kNumberedRecord ||
          !ParseNumbered(payload, &n) || n != next) {
        ADD_FAILURE() << "status " << static_cast<int>(status) << " type " << type << " number "
                      << n << " expected " << next;
        return false;
      }
      ++next;
    }
    consumer.Release();
    return true;
  };

  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t first = next;
    Child producer =
        Child::Fork([&] { return RunNumberedProducer(mem.get(), first, seed + round); });
    if (round % 2 == 0) {
      // Every other round the kill comes only once the producer is under way
      // (a busy machine may not even schedule it within the random delay).
      auto give_up = Clock::now() + std::chrono::seconds(5);
      while (next == first && Clock::now() < give_up) ASSERT_TRUE(drain()) << "round " << round;
      ASSERT_GT(next, first) << "round " << round << ": the producer never wrote";
    }
    auto kill_at = Clock::now() + std::chrono::microseconds(rng() % 20000);
    while (Clock::now() < kill_at) ASSERT_TRUE(drain()) << "round " << round;
    int status = producer.KillAndWait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "round " << round;
    // Whatever the dead producer published is readable and whole.
    ASSERT_TRUE(drain()) << "round " << round;
    EXPECT_EQ(consumer.UsedBytes(), 0u);
  }
  std::printf("[   INFO   ] %llu records over %d producers\n",
              static_cast<unsigned long long>(next), kRounds);
  EXPECT_GE(next, uint64_t{kRounds / 2});
}

// Consumer child: reads numbered records from `expected`, releasing in random
// batches; exits 0 at the end record, 1 on a bad one.
int RunNumberedConsumer(void* memory, uint64_t expected, uint64_t seed) {
  ByteRing ring(memory);  // a fresh view: resumes from the shared head
  std::mt19937_64 rng(seed);
  std::string scratch;
  int unreleased = 0;
  int batch = 1;
  for (;;) {
    uint32_t type;
    std::string_view payload;
    ByteRing::ReadStatus status = ring.Read(&type, &payload, &scratch);
    if (status == ByteRing::ReadStatus::kEmpty) {
      ring.Release();
      ::sched_yield();
      continue;
    }
    if (status != ByteRing::ReadStatus::kRecord) return 1;
    if (type == kEndRecord) {
      ring.Release();
      return 0;
    }
    uint64_t n;
    if (type != kNumberedRecord || !ParseNumbered(payload, &n) || n != expected) return 1;
    ++expected;
    if (++unreleased >= batch) {
      ring.Release();
      unreleased = 0;
      batch = 1 + static_cast<int>(rng() % 16);
    }
  }
}

// The worker's side: the consumer is killed mid-read; the producer carries
// on, and a replacement consumer resumes exactly at the shared head. Records
// read but not released by the dead consumer are delivered again (the ring is
// at-least-once; the master de-duplicates by seq).
TEST(ByteRingCrossProcessTest, ConsumerKilledAtRandomThenReplaced) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  constexpr size_t kCapacity = 4096;
  SharedMemory mem(ByteRing::BytesFor(kCapacity));
  ByteRing::Init(mem.get(), kCapacity);
  auto* header = static_cast<RingHeader*>(mem.get());
  ByteRing producer(mem.get());

  // Start position and number of every record not yet known to be released.
  std::deque<std::pair<uint64_t, uint64_t>> starts;
  uint64_t position = 0;  // the producer's tail, published or not
  uint64_t next = 0;      // number of the next record to write
  std::string payload;
  auto write_one = [&](uint32_t type, uint64_t n) {
    MakeNumbered(n, &payload);
    if (!producer.TryWrite(type, payload)) return false;
    starts.emplace_back(position, n);
    position += ByteRing::RecordBytes(payload.size());
    return true;
  };
  // The number of the record at the shared head: where a new consumer starts.
  auto number_at_head = [&](uint64_t* n) {
    uint64_t head = header->head.load();
    while (!starts.empty() && starts.front().first < head) starts.pop_front();
    if (starts.empty()) {
      ASSERT_EQ(head, position) << "head past every record";
      *n = next;
    } else {
      ASSERT_EQ(starts.front().first, head) << "head inside a record";
      *n = starts.front().second;
    }
  };

  constexpr int kRounds = 12;
  uint64_t consumed_before_last = 0;
  for (int round = 0; round < kRounds; ++round) {
    uint64_t expected;
    ASSERT_NO_FATAL_FAILURE(number_at_head(&expected));
    Child consumer =
        Child::Fork([&] { return RunNumberedConsumer(mem.get(), expected, seed + round); });
    const uint64_t head_before = header->head.load();
    auto kill_at = Clock::now() + std::chrono::microseconds(rng() % 20000);
    auto give_up = Clock::now() + std::chrono::seconds(5);
    int batch = 0;
    // Every other round the kill comes only once the consumer is under way.
    while (Clock::now() < kill_at ||
           (round % 2 == 0 && header->head.load() == head_before && Clock::now() < give_up)) {
      bool full = !write_one(kNumberedRecord, next);
      if (!full) {
        ++next;
        if (++batch < 8) continue;
      }
      producer.Publish();
      batch = 0;
      if (full) ::sched_yield();
    }
    producer.Publish();
    int status = consumer.KillAndWait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": consumer exited with status " << status;
    ASSERT_NO_FATAL_FAILURE(number_at_head(&consumed_before_last));
  }

  // A last consumer takes everything left, the records written after it
  // attached, and an end record.
  uint64_t expected;
  ASSERT_NO_FATAL_FAILURE(number_at_head(&expected));
  Child last = Child::Fork([&] { return RunNumberedConsumer(mem.get(), expected, seed); });
  const uint64_t end = next + 5000;
  const auto give_up = Clock::now() + std::chrono::seconds(10);  // a dead consumer frees nothing
  bool ended = false;
  while (!ended && Clock::now() < give_up) {
    bool written = next < end ? write_one(kNumberedRecord, next) : write_one(kEndRecord, 0);
    if (!written) {
      producer.Publish();
      ::sched_yield();
    } else if (next < end) {
      ++next;
    } else {
      ended = true;
    }
  }
  producer.Publish();
  int status = 0;
  ASSERT_TRUE(last.WaitFor(std::chrono::seconds(10), &status)) << "the last consumer hung";
  ASSERT_TRUE(ended) << "the last consumer stopped reading";
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the last consumer saw a bad record";
  EXPECT_TRUE(producer.Drained());
  std::printf("[   INFO   ] %llu records written, %llu released before the last consumer\n",
              static_cast<unsigned long long>(next),
              static_cast<unsigned long long>(consumed_before_last));
}

}  // namespace
}  // namespace shoal
