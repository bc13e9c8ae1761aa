#include "master/run_stats.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "master/run_dir.h"

namespace shoal {
namespace {

TEST(DurationHistogram, BucketsCoverEveryValueWithoutGaps) {
  // Every value falls in a bucket whose range holds it; ranges are contiguous.
  for (uint64_t us : {0ull, 1ull, 31ull, 32ull, 33ull, 63ull, 64ull, 1000ull, 123456ull,
                      (1ull << 40) + 12345, ~0ull}) {
    size_t b = DurationHistogram::BucketOf(us);
    uint64_t low = DurationHistogram::BucketLow(b);
    uint64_t width = DurationHistogram::BucketWidth(b);
    EXPECT_LE(low, us) << us;
    EXPECT_LE(us - low, width - 1) << us;
  }
  for (size_t b = 0; b + 1 < 1900; ++b) {
    ASSERT_EQ(DurationHistogram::BucketLow(b) + DurationHistogram::BucketWidth(b),
              DurationHistogram::BucketLow(b + 1))
        << "bucket " << b;
  }
}

TEST(DurationHistogram, QuantilesWithinThreePercent) {
  DurationHistogram h;
  std::vector<double> values;
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(3.0, 1.5);  // ms, a long tail
  for (int i = 0; i < 100000; ++i) {
    double ms = dist(rng);
    values.push_back(ms);
    h.Add(ms);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), values.size());
  EXPECT_DOUBLE_EQ(h.max_ms(), values.back());
  for (double q : {0.5, 0.95, 0.99}) {
    double exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    EXPECT_NEAR(h.Quantile(q), exact, exact * 0.032 + 0.001) << "q " << q;
  }
  EXPECT_LE(h.Quantile(1.0), h.max_ms());
}

TEST(DurationHistogram, SmallAndEmpty) {
  DurationHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0);
  h.Add(0.010);  // 10 µs: exact
  EXPECT_NEAR(h.Quantile(0.5), 0.010, 1e-9);
  h.Add(-1);  // clamped to 0, not a crash
  EXPECT_EQ(h.count(), 2u);
}

TEST(ReasonCounts, KeepsAtMostFiftyAndCountsTheRestAsOther) {
  ReasonCounts r;
  for (int i = 0; i < 1000; ++i) r.Add("exit " + std::to_string(i % 200));
  for (int i = 0; i < 7; ++i) r.Add("exit 3");
  auto sorted = r.Sorted();
  EXPECT_EQ(sorted.size(), ReasonCounts::kMaxReasons);
  EXPECT_EQ(sorted.front().first, "exit 3");
  EXPECT_EQ(sorted.front().second, 5u + 7u);
  uint64_t total = r.other();
  for (const auto& [reason, n] : sorted) total += n;
  EXPECT_EQ(total, 1007u);
  EXPECT_EQ(r.other(), 150u * 5);
}

TEST(ReasonCounts, LongReasonsAreCut) {
  ReasonCounts r;
  r.Add(std::string(1000, 'x'));
  r.Add(std::string(2000, 'x'));  // the same once cut
  auto sorted = r.Sorted();
  ASSERT_EQ(sorted.size(), 1u);
  EXPECT_EQ(sorted[0].first.size(), ReasonCounts::kMaxReasonBytes);
  EXPECT_EQ(sorted[0].second, 2u);
}

TEST(SlowestItems, KeepsTheFiveSlowest) {
  SlowestItems s;
  for (int i = 1; i <= 1000; ++i) s.Add((i * 7919) % 1000, i, "item " + std::to_string(i));
  auto top = s.Sorted();
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].ms, 999);
  EXPECT_EQ(top[4].ms, 995);
  for (const auto& e : top) EXPECT_EQ(e.item, "item " + std::to_string(e.index));
  s.Add(5000, 7, std::string(10000, 'y'));
  EXPECT_EQ(s.Sorted()[0].item.size(), SlowestItems::kMaxItemBytes);
}

TEST(SummaryLines, SaysWhatHappened) {
  RunStats stats;
  stats.Succeeded(1, "a", 10);
  stats.Succeeded(2, "b\nc", 30);
  stats.Failed(3, "d", 20, "exit 3");
  stats.Failed(4, "e", -1, "not found: x");  // never ran: no duration
  stats.retried = 2;
  RunTotals totals;
  totals.wall_s = 2;
  totals.not_run = 6;
  auto lines = SummaryLines(stats, totals);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "summary: 2 ok, 2 failed, 6 not run; 2 retried attempts, 0 worker deaths");
  EXPECT_EQ(lines[1], "summary: failures by reason: exit 3 x1, not found: x x1");
  EXPECT_NE(lines[2].find("2.0 items/s"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("max 30.0ms (3 items)"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[4], "summary: slowest: #2 30.0ms b\\nc; #3 20.0ms d; #1 10.0ms a");
}

TEST(FormatMillis, Units) {
  EXPECT_EQ(FormatMillis(1.234), "1.23ms");
  EXPECT_EQ(FormatMillis(12.34), "12.3ms");
  EXPECT_EQ(FormatMillis(4560), "4.56s");
  EXPECT_EQ(FormatMillis(125000), "2m05s");
  EXPECT_EQ(FormatMillis(3723000), "1h02m");
}

// RecordWindow (run_dir.h) belongs with the summary's bounded structures:
// output.order = "input" through a window of fixed size.
class RecordWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-window-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(run_.OpenExisting(dir_, settings_, InputKind::kList).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RunDirectory::Finished Done(uint64_t index, const std::string& item) {
    items_.push_back(item);
    return {index, items_.back(), 1, 1, 1.0, 0, 0, "", "", "", ""};
  }
  std::vector<uint64_t> Indices(const std::string& file) {
    EXPECT_TRUE(run_.Flush().ok());
    std::ifstream in(dir_ + "/" + file);
    std::vector<uint64_t> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(std::stoull(line.substr(line.find(':') + 1)));
    }
    return out;
  }

  std::string dir_;
  Settings settings_;
  RunDirectory run_;
  std::deque<std::string> items_;
};

TEST_F(RecordWindowTest, WritesInInputOrderAndIsBounded) {
  RecordWindow window(4, 1 << 20);
  for (uint64_t i : {2, 3, 5, 7}) window.Open(i);
  EXPECT_TRUE(window.full());
  window.Success(run_, Done(5, "e"));
  window.Failure(run_, Done(3, "c"));
  EXPECT_TRUE(Indices("results.jsonl").empty());  // 2 holds them back
  window.Success(run_, Done(2, "b"));
  EXPECT_EQ(Indices("results.jsonl"), (std::vector<uint64_t>{2, 5}));
  EXPECT_EQ(Indices("errors.jsonl"), (std::vector<uint64_t>{3}));
  EXPECT_EQ(window.size(), 1u);  // 7 is still running
  EXPECT_FALSE(window.full());
  EXPECT_EQ(window.held_bytes(), 0u);
  window.Open(8);
  window.Success(run_, Done(8, "h"));
  EXPECT_GT(window.held_bytes(), 0u);
  window.ReleaseAll(run_);  // 7 never finished (say, halted): 8 goes out anyway
  EXPECT_EQ(Indices("results.jsonl"), (std::vector<uint64_t>{2, 5, 8}));
  EXPECT_EQ(window.size(), 0u);
}

TEST_F(RecordWindowTest, FullByBytes) {
  RecordWindow window(1000, 100);
  window.Open(1);
  window.Open(2);
  std::string big(200, 'x');
  window.Success(run_, Done(2, big));
  EXPECT_TRUE(window.full());
  window.Success(run_, Done(1, "a"));
  EXPECT_FALSE(window.full());
  EXPECT_EQ(Indices("results.jsonl"), (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace shoal
