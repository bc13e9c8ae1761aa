// What a run counts for its summary in log.txt: outcomes per status and per
// failure reason, item durations, the slowest items. Every structure here has
// a fixed size, whatever the number of items (500 million is the design
// point): durations go into a log-scale histogram, reasons into a capped
// table, the slowest items into a top-5 list.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shoal {

// Durations in a log-scale histogram: exact below 32 µs, then 32 buckets per
// power of two, so a quantile is off by at most 1/32 (3.1%) of its value.
// About 15 KB, fixed.
class DurationHistogram {
 public:
  void Add(double ms);
  uint64_t count() const { return count_; }
  double max_ms() const { return max_ms_; }
  // The value at quantile q (0 < q <= 1): the middle of the bucket that holds
  // the ceil(q * count)-th smallest value, never above the largest seen.
  // 0 when empty.
  double Quantile(double q) const;

  // Bucket arithmetic, exposed for the tests.
  static size_t BucketOf(uint64_t micros);
  static uint64_t BucketLow(size_t bucket);    // smallest value in the bucket
  static uint64_t BucketWidth(size_t bucket);  // how many values it spans

 private:
  static constexpr int kSubBits = 5;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) << kSubBits;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double max_ms_ = 0;
};

// Failures per reason, at most kMaxReasons distinct ones; later new reasons
// are counted together as "other". A reason is cut to kMaxReasonBytes.
class ReasonCounts {
 public:
  static constexpr size_t kMaxReasons = 50;
  static constexpr size_t kMaxReasonBytes = 120;
  void Add(std::string_view reason);
  // Most frequent first (ties by name); "other" is not among them.
  std::vector<std::pair<std::string, uint64_t>> Sorted() const;
  uint64_t other() const { return other_; }

 private:
  std::map<std::string, uint64_t, std::less<>> counts_;
  uint64_t other_ = 0;
};

// The k slowest items seen (k = 5 unless told), each item's text cut to
// kMaxItemBytes.
class SlowestItems {
 public:
  static constexpr size_t kMaxItemBytes = 256;
  struct Entry {
    double ms;
    uint64_t index;
    std::string item;
  };
  explicit SlowestItems(size_t k = 5) : k_(k) {}
  void Add(double ms, uint64_t index, std::string_view item);
  // Slowest first.
  std::vector<Entry> Sorted() const;

 private:
  size_t k_;
  std::vector<Entry> entries_;  // at most k_, unordered
};

// The counters of one run (this invocation; a resume counts its own part).
struct RunStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t retried = 0;    // failed attempts given another one
  uint64_t never_ran = 0;  // failed items that never reached a worker (0 attempts)
  DurationHistogram durations;
  ReasonCounts reasons;
  SlowestItems slowest;
  // The first failed item, for the summary's example: one, never a list.
  uint64_t example_index = 0;
  std::string example_item;  // cut to SlowestItems::kMaxItemBytes
  std::string example_reason;

  // ms < 0: the item never ran (it failed before reaching a worker, or its
  // worker died); it has no duration.
  void Succeeded(uint64_t index, std::string_view item, double ms);
  void Failed(uint64_t index, std::string_view item, double ms, std::string_view reason);
  uint64_t finished() const { return ok + failed; }
};

// What the summary needs beside RunStats.
struct RunTotals {
  double wall_s = 0;
  double cpu_master_s = 0;
  double cpu_workers_s = 0;  // workers and the commands they ran
  uint64_t worker_deaths = 0;
  uint64_t prior = 0;    // items recorded before a resume
  int64_t not_run = -1;  // items of the input left without a record; -1 = unknown
};

// The summary's lines for log.txt, each without a newline:
//   summary: 980 ok, 20 failed, 3 retried attempts, 0 worker deaths
//   summary: failures by reason: exit 1 x15, timeout x5
//   summary: wall 12.3s, cpu master 0.40s, workers 45.1s, 81.3 items/s
//   summary: item duration p50 10.2ms, p95 30.1ms, p99 50.0ms, max 120.4ms
//   summary: slowest: #17 120.4ms d01/f003.bin; #4 ...
std::vector<std::string> SummaryLines(const RunStats& stats, const RunTotals& totals);

// How a run ended, for what the terminal summary tells the user to do next.
struct RunEnding {
  std::string program = "shoal";  // the command that runs shoal, as the user types it
  std::string run_dir;            // the run directory, absolute
  std::string cwd;                // the user's; run_dir is shown relative to it when below it
  uint64_t failed = 0;            // in failed.txt: this run's and those before a resume
  uint64_t never_ran = 0;         // of the failed: ones the input could not deliver (CanRunAgain)
  int signal = 0;                 // interrupted by it
  bool unfinished = false;        // halted or failed part-way: resume finishes it
};

// The lines a finished run prints on stderr, each starting "shoal: " and at
// most kTerminalColumns wide for typical numbers (a long path is not cut):
//   shoal: 980 ok, 20 failed, 1000 items in 12.30 s (81 items/s)
//   shoal: 3 retried, 0 worker deaths; cpu master 0.40 s, workers 45.10 s
//   shoal: failed: exit 1 x15, timeout x4, not found: gzipp x1
//   shoal: e.g. item 17 'd01/f003.bin': exit 1
//   shoal: run directory: /data/runs/checksums-20261122-031500
//   shoal: to retry the 20 failed items: shoal retry runs/checksums-20261122-031500
// After an interrupt or a halt, a line with `shoal resume RUN_DIR` before the last.
inline constexpr size_t kTerminalColumns = 80;
std::vector<std::string> TerminalSummary(const RunStats& stats, const RunTotals& totals,
                                         const RunEnding& ending);

// `program verb run_dir` as the user can paste it: run_dir relative to cwd
// when it lies below it, each word shell-quoted when it needs to be.
std::string ShellCommand(const std::string& program, const std::string& verb,
                         const std::string& run_dir, const std::string& cwd);

// The first failure of each distinct reason, said on stderr as it happens,
// at most kMaxLines of them a run (then one line saying there are more):
//   shoal: item 1 'a.txt' failed: not found: gzipp (no such program on PATH)
//   shoal: item 4 'd.gz' failed: exit 1 (gzip: d.gz: not in gzip format)
class FailureNotices {
 public:
  static constexpr size_t kMaxLines = 5;
  // The line to print for this failure, "" when there is none to print.
  std::string Line(uint64_t index, std::string_view item, std::string_view reason,
                   std::string_view stderr_tail);

 private:
  std::vector<std::string> said_;  // the reasons said, at most kMaxLines
  bool said_more_ = false;
};

// "12.3ms", "4.56s", "2m05s", "1h02m": a duration for people.
std::string FormatMillis(double ms);

}  // namespace shoal
