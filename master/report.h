// shoal report RUN_DIR: RUN_DIR/report.html, one self-contained page (inline
// SVG drawn here, no JavaScript, nothing fetched) an operator keeps open during
// a long batch: throughput and failures over time, the workers' busy share
// over time, a log-scale histogram of item durations with p50/p95/p99,
// failures by reason with example items, the slowest items, the settings
// and the run's summary. The same numbers are embedded in the page as JSON,
// <script type="application/json" id="shoal-report">, for scripts and tests.
//
// Memory and time are flat in the number of items: the records are
// streamed once through fixed-size structures (a histogram, a capped reason
// table, a top-K, at most kTimeBins time bins that double their width as
// the run gets longer). Works on a run in progress (what is on disk now)
// and on a merged run: a throughput line per shard from the shards'
// timelines that merge keeps (timelines/shard-K.jsonl); the other charts
// show the shards together, as the merged records do not say which shard
// ran them.
#pragma once

#include <string>

#include "common/status.h"

namespace shoal {

inline constexpr char kReportFile[] = "report.html";

struct ReportLimits {
  size_t time_bins = 240;   // points per chart over time
  size_t slowest = 20;      // the slowest items listed
  size_t examples = 3;      // example items per failure reason
  size_t max_workers = 64;  // busy-share lines drawn (the rest are in the mean)
};

// Writes <run_dir>/report.html (replacing it atomically) and returns its path.
Result<std::string> WriteReport(const std::string& run_dir, const ReportLimits& limits = {});

}  // namespace shoal
