#include "master/run_stats.h"

#include <signal.h>
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

// Every line of the terminal summary fits 80 columns and starts "shoal: ".
void ExpectFits(const std::vector<std::string>& lines) {
  for (const std::string& l : lines) {
    EXPECT_LE(l.size(), kTerminalColumns) << l;
    EXPECT_TRUE(l.starts_with("shoal: ")) << l;
  }
}

RunEnding EndingIn(const std::string& cwd, uint64_t failed) {
  RunEnding e;
  e.run_dir = cwd + "/runs/gzip-logs-20261122-031500";
  e.cwd = cwd;
  e.failed = failed;
  return e;
}

TEST(TerminalSummary, ACleanRunSaysItsCountsAndItsDirectory) {
  RunStats stats;
  for (uint64_t i = 1; i <= 12; ++i) stats.Succeeded(i, "x", 1);
  RunTotals totals;
  totals.wall_s = 1.5;
  auto lines = TerminalSummary(stats, totals, EndingIn("/home/u", 0));
  ExpectFits(lines);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "shoal: 12 ok, 0 failed, 12 items in 1.50 s (8 items/s)");
  EXPECT_EQ(lines[1], "shoal: 0 retried, 0 worker deaths; cpu master 0.00 s, workers 0.00 s");
  EXPECT_EQ(lines[2], "shoal: run directory: /home/u/runs/gzip-logs-20261122-031500");
}

TEST(TerminalSummary, FailuresByReasonAnExampleAndTheRetryCommand) {
  RunStats stats;
  for (uint64_t i = 1; i <= 1000; ++i) stats.Succeeded(i, "x", 1);
  stats.Failed(1001, "logs/2026/11/22/app.log", 5, "exit 1");
  for (int i = 0; i < 14; ++i) stats.Failed(1002 + i, "y", 5, "exit 1");
  for (int i = 0; i < 4; ++i) stats.Failed(1100 + i, "y", 5, "timeout");
  stats.Failed(1200, "y", -1, "not found: gzipp");
  stats.Failed(1201, "y", 5, "signal 9");
  stats.Failed(1202, "y", 5, "signal 11");
  RunTotals totals;
  totals.wall_s = 12.3;
  auto lines = TerminalSummary(stats, totals, EndingIn("/home/u", 22));
  ExpectFits(lines);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "shoal: 1000 ok, 22 failed, 1022 items in 12.30 s (83 items/s)");
  EXPECT_EQ(lines[2],
            "shoal: failed: exit 1 x15, timeout x4, not found: gzipp x1, 2 other reasons x2");
  EXPECT_EQ(lines[3], "shoal: e.g. item 1001 'logs/2026/11/22/app.log': exit 1");
  EXPECT_EQ(lines[4], "shoal: run directory: /home/u/runs/gzip-logs-20261122-031500");
  EXPECT_EQ(lines[5],
            "shoal: to retry the 22 failed items: shoal retry runs/gzip-logs-20261122-031500");
}

// Items the input could not deliver are failed but not retried: the retry
// line counts the others, and the summary says what to do with them.
TEST(TerminalSummary, ItemsThatNeverRanAreNotOfferedToRetry) {
  RunStats stats;
  stats.Failed(3, "", -1, "line 3 has 1 columns, column 2 requested");
  stats.Failed(4, "x", 5, "exit 1");
  stats.never_ran = 1;
  RunEnding ending = EndingIn("/home/u", 2);
  ending.never_ran = 1;
  auto lines = TerminalSummary(stats, RunTotals(), ending);
  ExpectFits(lines);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[lines.size() - 4],
            "shoal: to retry the 1 failed item: shoal retry runs/gzip-logs-20261122-031500");
  EXPECT_EQ(lines[lines.size() - 3],
            "shoal: 1 failed item never ran: the input could not deliver it whole;");
  EXPECT_EQ(lines.back(),
            "shoal:   those with --items FILE (or fix the input and start a new run)");
  ending.failed = 1;  // only the one that never ran: no retry line at all
  lines = TerminalSummary(stats, RunTotals(), ending);
  for (const std::string& l : lines) EXPECT_EQ(l.find("to retry"), std::string::npos) << l;
}

TEST(TerminalSummary, LongTextIsWrappedOrCutToEightyColumns) {
  RunStats stats;
  stats.retried = 123456;
  for (uint64_t i = 0; i < 5; ++i) {
    stats.Failed(999999999 - i, std::string(300, 'i'), 1,
                 "exit 1: " + std::string(100, static_cast<char>('a' + i)));
  }
  stats.ok = 999999999;
  RunTotals totals;
  totals.wall_s = 86399.99;
  totals.cpu_master_s = 12345.67;
  totals.cpu_workers_s = 1234567.89;
  totals.worker_deaths = 1234;
  totals.prior = 123456789;
  RunEnding ending = EndingIn("/srv/a very long working directory name/for/the/job", 5);
  ending.program = "/usr/local/bin/shoal";
  ending.signal = SIGTERM;
  auto lines = TerminalSummary(stats, totals, ending);
  // The run directory is shown whole, however long: it is to be copied.
  ASSERT_EQ(std::count(lines.begin(), lines.end(), "shoal: run directory: " + ending.run_dir), 1);
  std::erase(lines, "shoal: run directory: " + ending.run_dir);
  ExpectFits(lines);
  std::vector<std::string> commands;
  for (const std::string& l : lines) {
    if (l.starts_with("shoal:   /usr/local/bin/shoal ")) commands.push_back(l);
  }
  ASSERT_EQ(commands.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(commands[0], "shoal:   /usr/local/bin/shoal resume runs/gzip-logs-20261122-031500");
  EXPECT_EQ(commands[1], "shoal:   /usr/local/bin/shoal retry runs/gzip-logs-20261122-031500");
  bool said_signal = false, said_prior = false;
  for (const std::string& l : lines) {
    said_signal |= l == "shoal: interrupted by SIGTERM; to finish the run:";
    said_prior |= l == "shoal: and 123456789 items recorded before the resume (0 failed)";
  }
  EXPECT_TRUE(said_signal);
  EXPECT_TRUE(said_prior);
}

TEST(TerminalSummary, AnInterruptedRunSaysHowToResume) {
  RunStats stats;
  stats.Succeeded(1, "a", 1);
  RunTotals totals;
  RunEnding ending = EndingIn("/w", 0);
  ending.signal = SIGINT;
  auto lines = TerminalSummary(stats, totals, ending);
  ExpectFits(lines);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2], "shoal: interrupted by SIGINT; to finish the run:");
  EXPECT_EQ(lines.back(), "shoal:   shoal resume runs/gzip-logs-20261122-031500");
  ending.signal = 0;
  ending.unfinished = true;  // halted, or failed part-way
  EXPECT_EQ(TerminalSummary(stats, totals, ending).back(),
            "shoal: to finish the run: shoal resume runs/gzip-logs-20261122-031500");
  ending.unfinished = false;
  EXPECT_EQ(TerminalSummary(stats, totals, ending).size(), 3u);  // nothing to do
}

TEST(ShellCommand, TheRunDirectoryAsTheUserTypesIt) {
  EXPECT_EQ(ShellCommand("shoal", "retry", "/home/u/runs/x-1", "/home/u"), "shoal retry runs/x-1");
  EXPECT_EQ(ShellCommand("shoal", "retry", "/data/runs/x-1", "/home/u"),
            "shoal retry /data/runs/x-1");
  EXPECT_EQ(ShellCommand("shoal", "retry", "/home/user2/r", "/home/u"),
            "shoal retry /home/user2/r");  // a prefix of a name is not a parent
  EXPECT_EQ(ShellCommand("shoal", "retry", "/r/x", "/"), "shoal retry r/x");
  EXPECT_EQ(ShellCommand("build/shoal", "resume", "/w/my runs/it's", "/w"),
            "build/shoal resume 'my runs/it'\\''s'");
  EXPECT_EQ(ShellCommand("shoal", "retry", "/w/-odd", "/w"), "shoal retry ./-odd");
}

TEST(RunStats, KeepsTheFirstFailureAsTheExample) {
  RunStats stats;
  stats.Failed(7, "first", 1, "exit 2");
  stats.Failed(8, "second", 1, "timeout");
  EXPECT_EQ(stats.example_index, 7u);
  EXPECT_EQ(stats.example_item, "first");
  EXPECT_EQ(stats.example_reason, "exit 2");
  stats.Failed(9, std::string(10000, 'z'), 1, "x");
  EXPECT_EQ(stats.example_item, "first");
}

TEST(FailureNotices, TheFirstOfEachReasonAtOnceAndBounded) {
  FailureNotices notices;
  EXPECT_EQ(notices.Line(1, "a.txt", "not found: gzipp", ""),
            "shoal: item 1 'a.txt' failed: not found: gzipp (no such program on PATH)");
  EXPECT_EQ(notices.Line(2, "b.txt", "not found: gzipp", ""), "");  // said
  EXPECT_EQ(notices.Line(3, "c", "not found: ./bin/conv", ""),
            "shoal: item 3 'c' failed: not found: ./bin/conv (no such file)");
  // The command's last words on stderr say why.
  EXPECT_EQ(notices.Line(4, "d.gz", "exit 1", "gzip: warning\ngzip: d.gz: not in gzip format\n"),
            "shoal: item 4 'd.gz' failed: exit 1 (gzip: d.gz: not in gzip format)");
  EXPECT_EQ(notices.Line(5, "e", "exit 2", ""), "shoal: item 5 'e' failed: exit 2");
  std::string long_item(500, 'n');
  std::string line = notices.Line(6, long_item, "timeout", std::string(500, 'e'));
  EXPECT_LE(line.size(), kTerminalColumns) << line;
  EXPECT_NE(line.find("...' failed: timeout ("), std::string::npos) << line;
  // Five said: one line says there are more, then nothing.
  EXPECT_EQ(notices.Line(7, "f", "signal 9", ""),
            "shoal: more items failed for other reasons: the summary counts them, errors.jsonl "
            "has each");
  EXPECT_EQ(notices.Line(8, "g", "signal 11", ""), "");
  EXPECT_EQ(notices.Line(9, "h", "exit 1", ""), "");
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
