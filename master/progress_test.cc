#include "master/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace shoal {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

ProgressCounts Known(uint64_t done, uint64_t failed, uint64_t total, double rate, double elapsed) {
  ProgressCounts c;
  c.done = done;
  c.failed = failed;
  c.seen = total;
  c.total_known = true;
  c.rate = rate;
  c.elapsed_s = elapsed;
  return c;
}

TEST(FormatSeconds, Units) {
  EXPECT_EQ(FormatSeconds(0.25), "0.2s");
  EXPECT_EQ(FormatSeconds(12.4), "12s");
  EXPECT_EQ(FormatSeconds(125), "2m05s");
  EXPECT_EQ(FormatSeconds(3723), "1h02m");
  EXPECT_EQ(FormatSeconds(2 * 86400 + 3 * 3600), "2d03h");
  EXPECT_EQ(FormatSeconds(-1), "0.0s");
}

TEST(FormatStatusLine, KnownTotal) {
  EXPECT_EQ(FormatStatusLine(Known(1234, 3, 5000, 250, 12)),
            "1234 done, 3 failed, 3766 remaining, 250 items/s, elapsed 12s, ETA 15s");
}

TEST(FormatStatusLine, WhileTheInputIsRead) {
  ProgressCounts c = Known(1234, 3, 1300, 2.5, 12);
  c.total_known = false;
  EXPECT_EQ(FormatStatusLine(c),
            "1234 done, 3 failed, ? remaining (1300 read so far), 2.50 items/s, elapsed 12s, "
            "ETA ?");
}

TEST(FormatStatusLine, NoRateNoEta) {
  EXPECT_EQ(FormatStatusLine(Known(0, 0, 10, 0, 1)),
            "0 done, 0 failed, 10 remaining, 0.00 items/s, elapsed 1.0s, ETA ?");
}

TEST(FormatLiveLine, BarFitsTheWidth) {
  for (int width : {20, 40, 80, 200}) {
    std::string line = FormatLiveLine(Known(1234, 3, 5000, 250, 12), width);
    EXPECT_LE(line.size(), static_cast<size_t>(width - 1)) << line;
  }
  std::string line = FormatLiveLine(Known(2500, 3, 5000, 250, 12), 120);
  EXPECT_EQ(line.find('['), 0u) << line;
  size_t close = line.find(']');
  ASSERT_NE(close, std::string::npos);
  std::string bar = line.substr(1, close - 1);
  EXPECT_EQ(bar.size(), 40u);                              // the widest bar
  EXPECT_EQ(std::count(bar.begin(), bar.end(), '#'), 20);  // half done
  EXPECT_NE(line.find("] 2500/5000 50% | 3 failed | 250/s | 12s | ETA 10s"), std::string::npos)
      << line;
}

TEST(FormatLiveLine, NoBarWhileTheTotalIsUnknown) {
  ProgressCounts c = Known(7, 1, 9, 3, 4);
  c.total_known = false;
  EXPECT_EQ(FormatLiveLine(c, 80), "7 done, seen 9 | 1 failed | 3.00/s | 4.0s");
}

TEST(FormatLiveLine, FailuresShowTheirTopReason) {
  ProgressCounts c = Known(7, 3, 9, 3, 4);
  c.total_known = false;
  c.top_reason = "exit 1";
  c.top_reason_count = 2;
  EXPECT_EQ(FormatLiveLine(c, 80), "7 done, seen 9 | 3 failed (exit 1 x2) | 3.00/s | 4.0s");
  c.top_reason = "not found: a-very-long-program-name-indeed";
  EXPECT_EQ(FormatLiveLine(c, 120),
            "7 done, seen 9 | 3 failed (not found: a-very-long-p x2) | 3.00/s | 4.0s");
}

TEST(FormatLiveLine, NarrowTerminalDropsTheBar) {
  std::string line = FormatLiveLine(Known(1, 0, 2, 1, 1), 40);
  EXPECT_EQ(line.find('['), std::string::npos) << line;
}

TEST(RateMeter, OverallAtFirstThenRecent) {
  RateMeter meter(0);
  EXPECT_EQ(meter.Rate(0, 0), 0);
  meter.Add(kSec, 5);
  EXPECT_DOUBLE_EQ(meter.Rate(2 * kSec, 10), 5);  // too few items in the window: overall
  // 100 items/s for a minute, then 10 items/s: the recent rate follows.
  uint64_t n = 10;
  for (uint64_t t = 3; t <= 63; ++t) meter.Add(t * kSec, n += 100);
  EXPECT_NEAR(meter.Rate(63 * kSec, n), 100, 1);
  for (uint64_t t = 64; t <= 130; ++t) meter.Add(t * kSec, n += 10);
  EXPECT_NEAR(meter.Rate(130 * kSec, n), 10, 0.5);
}

TEST(ChooseProgressMode, FlagsAndTerminal) {
  EXPECT_EQ(ChooseProgressMode(-1, false, true), ProgressMode::kLive);
  EXPECT_EQ(ChooseProgressMode(-1, false, false), ProgressMode::kLines);
  EXPECT_EQ(ChooseProgressMode(-1, true, true), ProgressMode::kOff);
  EXPECT_EQ(ChooseProgressMode(1, false, false), ProgressMode::kLive);
  EXPECT_EQ(ChooseProgressMode(0, false, true), ProgressMode::kLines);
  EXPECT_EQ(ChooseProgressMode(0, true, false), ProgressMode::kOff);
}

// What a display writes, through a pipe.
class DisplayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe2(fds_, O_CLOEXEC | O_NONBLOCK), 0); }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  std::string Written() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds_[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  int fds_[2];
};

TEST_F(DisplayTest, LiveRedrawsWhenDueAndClears) {
  ProgressDisplay d(ProgressMode::kLive, fds_[1], 0, 0);
  ProgressCounts c = Known(1, 0, 4, 1, 1);
  EXPECT_EQ(d.next_due_ns(), ProgressDisplay::kRedrawEveryNs);
  d.Tick(ProgressDisplay::kRedrawEveryNs - 1, c);
  EXPECT_EQ(Written(), "");
  d.Tick(ProgressDisplay::kRedrawEveryNs, c);
  std::string first = Written();
  EXPECT_EQ(first.rfind("\r", 0), 0u) << first;
  EXPECT_TRUE(first.ends_with("\x1b[K")) << first;
  EXPECT_EQ(d.next_due_ns(), 2 * ProgressDisplay::kRedrawEveryNs);
  d.Clear();
  EXPECT_EQ(Written(), "\r\x1b[K");
  d.Clear();  // nothing drawn: nothing to erase
  EXPECT_EQ(Written(), "");
}

TEST_F(DisplayTest, LinesEveryInterval) {
  ProgressDisplay d(ProgressMode::kLines, fds_[1], 30 * kSec, 0);
  ProgressCounts c = Known(1, 0, 4, 1, 1);
  d.Tick(29 * kSec, c);
  EXPECT_EQ(Written(), "");
  d.Tick(30 * kSec, c);
  EXPECT_EQ(Written(), "shoal: " + FormatStatusLine(c) + "\n");
  EXPECT_EQ(d.next_due_ns(), 60 * kSec);
  d.Clear();  // a status line is never erased
  EXPECT_EQ(Written(), "");
}

TEST_F(DisplayTest, OffAndZeroIntervalNeverDue) {
  ProgressDisplay off(ProgressMode::kOff, fds_[1], kSec, 0);
  ProgressDisplay never(ProgressMode::kLines, fds_[1], 0, 0);
  EXPECT_EQ(off.next_due_ns(), UINT64_MAX);
  EXPECT_EQ(never.next_due_ns(), UINT64_MAX);
  off.Tick(UINT64_MAX - 1, Known(1, 0, 1, 1, 1));
  EXPECT_EQ(Written(), "");
}

// A source that yields n items.
class CountingSource : public ItemSource {
 public:
  explicit CountingSource(uint64_t n) : n_(n) {}
  bool Next(Item* item) override {
    if (seen_ == n_) return false;
    item->index = ++seen_;
    return true;
  }
  Status status() const override { return Status::Ok(); }
  uint64_t seen() const override { return seen_; }
  bool done() const override { return seen_ == n_; }

 private:
  uint64_t n_, seen_ = 0;
};

TEST(InputCounter, CountsToTheEnd) {
  InputCounter counter(std::make_unique<CountingSource>(100000), UINT64_MAX);
  while (counter.Step(1'000'000)) {
  }
  EXPECT_TRUE(counter.finished());
  EXPECT_FALSE(counter.active());
  EXPECT_EQ(counter.total(), 100000u);
}

TEST(InputCounter, GivesUpPastTheCap) {
  InputCounter counter(std::make_unique<CountingSource>(100000), 1000);
  while (counter.Step(1'000'000)) {
  }
  EXPECT_FALSE(counter.finished());
  EXPECT_FALSE(counter.active());
}

}  // namespace
}  // namespace shoal
