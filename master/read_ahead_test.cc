#include "master/read_ahead.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace shoal {
namespace {

// Items "item-1".."item-N"; optionally fails after them, gives a warning per
// item, or waits before each item until the test opens a gate.
class FakeSource : public ItemSource {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t gate = UINT64_MAX;  // items that may be produced
    std::atomic<bool> sigint_blocked{true};
    std::atomic<uint64_t> produced{0};
  };

  FakeSource(uint64_t n, Shared* shared, bool fail = false, bool warn = false)
      : n_(n), shared_(shared), fail_(fail), warn_(warn) {}

  bool Next(Item* item) override {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    if (!sigismember(&mask, SIGINT)) shared_->sigint_blocked = false;
    {
      std::unique_lock<std::mutex> lock(shared_->mu);
      shared_->cv.wait(lock, [&] { return next_ < shared_->gate; });
    }
    if (next_ == n_) {
      if (fail_) status_ = Status::Error("the input broke after " + std::to_string(n_));
      return false;
    }
    ++next_;
    item->index = next_;
    item->text = "item-" + std::to_string(next_);
    item->error.clear();
    if (warn_) warnings_.push_back("warning " + std::to_string(next_));
    shared_->produced = next_;
    return true;
  }
  Status status() const override { return status_; }
  uint64_t seen() const override { return next_; }
  bool done() const override { return next_ == n_; }
  std::vector<std::string> TakeWarnings() override {
    std::vector<std::string> out;
    out.swap(warnings_);
    return out;
  }

 private:
  uint64_t n_;
  uint64_t next_ = 0;
  Shared* shared_;
  bool fail_, warn_;
  Status status_;
  std::vector<std::string> warnings_;
};

std::unique_ptr<ReadAhead> Start(std::unique_ptr<ItemSource> source) {
  Result<std::unique_ptr<ReadAhead>> r = ReadAhead::Start(std::move(source));
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Every thread of this process but the calling one is asleep in the kernel
// (state S): the reader thread has nothing to do or no room to do it in.
bool OtherThreadsAsleep() {
  const std::string self = std::to_string(::syscall(SYS_gettid));
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    if (task.path().filename() == self) continue;
    std::string stat = test::ReadFile(task.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'S') {
      return false;
    }
  }
  return true;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(ReadAheadTest, SameItemsInTheSameOrder) {
  for (uint64_t n : {0, 1, 511, 512, 513, 5000}) {
    FakeSource::Shared shared;
    std::unique_ptr<ReadAhead> r = Start(std::make_unique<FakeSource>(n, &shared));
    ASSERT_NE(r, nullptr);
    Item item;
    uint64_t count = 0;
    while (r->Next(&item)) {
      ++count;
      ASSERT_EQ(item.index, count);
      ASSERT_EQ(item.text, "item-" + std::to_string(count));
    }
    EXPECT_EQ(count, n);
    EXPECT_TRUE(r->done());
    EXPECT_TRUE(r->status().ok());
    EXPECT_EQ(r->seen(), n);
    EXPECT_FALSE(r->Next(&item)) << "after the end";
    EXPECT_FALSE(r->WouldBlock()) << "the end does not wait";
    EXPECT_TRUE(shared.sigint_blocked) << "the reading thread must block signals";
  }
}

TEST(ReadAheadTest, AnErrorComesAfterTheItemsBeforeIt) {
  FakeSource::Shared shared;
  std::unique_ptr<ReadAhead> r = Start(std::make_unique<FakeSource>(700, &shared, /*fail=*/true));
  Item item;
  uint64_t count = 0;
  while (r->Next(&item)) ++count;
  EXPECT_EQ(count, 700u);
  EXPECT_EQ(r->status().message(), "the input broke after 700");
}

TEST(ReadAheadTest, WarningsArePassedOnAndBounded) {
  FakeSource::Shared shared;
  std::unique_ptr<ReadAhead> r =
      Start(std::make_unique<FakeSource>(3000, &shared, /*fail=*/false, /*warn=*/true));
  Item item;
  while (r->Next(&item)) {
  }
  std::vector<std::string> w = r->TakeWarnings();
  ASSERT_EQ(w.size(), ReadAhead::kMaxWarnings + 1);
  EXPECT_EQ(w.front(), "warning 1");
  EXPECT_EQ(w.back(), "2000 more warnings like these were not kept");
  EXPECT_TRUE(r->TakeWarnings().empty());
}

// An event loop sleeps on WaitFd() while nothing is ready and is woken when
// a batch is.
TEST(ReadAheadTest, WouldBlockUntilABatchIsReady) {
  FakeSource::Shared shared;
  shared.gate = 0;  // nothing may be produced yet
  std::unique_ptr<ReadAhead> r = Start(std::make_unique<FakeSource>(10, &shared));
  EXPECT_TRUE(r->WouldBlock());
  // The reader is stuck at the gate: nothing can have been made ready.
  ASSERT_TRUE(test::WaitFor(OtherThreadsAsleep, std::chrono::seconds(30)));
  EXPECT_FALSE(Readable(r->WaitFd(), 0));
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.gate = UINT64_MAX;
  }
  shared.cv.notify_all();
  EXPECT_TRUE(Readable(r->WaitFd(), 5000));
  EXPECT_FALSE(r->WouldBlock());
  Item item;
  uint64_t count = 0;
  while (r->Next(&item)) ++count;
  EXPECT_EQ(count, 10u);
}

// Memory stays bounded: the reader stops kMaxBatches ahead, and the
// destructor ends it there without the input being read to its end.
TEST(ReadAheadTest, ReadsOnlyAFewBatchesAheadAndStopsWhenDestroyed) {
  FakeSource::Shared shared;
  std::unique_ptr<ReadAhead> r = Start(std::make_unique<FakeSource>(10'000'000, &shared));
  Item item;
  ASSERT_TRUE(r->Next(&item));
  // It runs ahead until it has no room and then sleeps: wait for that.
  bool stopped = test::WaitFor(
      [&] { return shared.produced >= 2 * ReadAhead::kBatchItems && OtherThreadsAsleep(); },
      std::chrono::seconds(30));
  EXPECT_TRUE(stopped) << "the reader kept running, " << shared.produced << " items read";
  EXPECT_LE(shared.produced.load(), (ReadAhead::kMaxBatches + 2) * ReadAhead::kBatchItems);
  r.reset();  // must not hang
}

}  // namespace
}  // namespace shoal
