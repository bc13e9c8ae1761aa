#include "master/run_stats.h"

#include <string.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "common/json.h"
#include "common/shell_quote.h"

namespace shoal {

namespace {

// An item or reason on one line: control characters and bytes that are not
// UTF-8 become visible escapes.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendPrintable(&out, text);
  return out;
}

// At most `width` bytes, "..." ending what was cut.
std::string Shorten(std::string text, size_t width) {
  if (text.size() <= width) return text;
  if (width <= 3) return std::string(Utf8Prefix(text, width));
  std::string out(Utf8Prefix(text, width - 3));
  return out + "...";
}

std::string U(uint64_t v) {
  return std::to_string(v);
}

// "shoal: HEAD" then the pieces joined by ", ", wrapped before kTerminalColumns
// onto lines that start "shoal:   ".
void AddWrapped(const std::string& head, const std::vector<std::string>& pieces,
                std::vector<std::string>* lines, const std::string& separator = ",") {
  std::string line = "shoal: " + head;
  bool first = true;
  for (const std::string& piece : pieces) {
    std::string next = first ? piece : separator + " " + piece;
    if (!first && line.size() + next.size() + separator.size() > kTerminalColumns) {
      lines->push_back(line + separator);
      line = "shoal:   " + piece;
    } else {
      line += next;
    }
    first = false;
  }
  lines->push_back(line);
}

// "shoal: WHAT: COMMAND" on one line when it fits, else the command on a
// line of its own, so that it can be copied whole.
void AddCommand(const std::string& what, const std::string& command,
                std::vector<std::string>* lines) {
  std::string line = "shoal: " + what + ": " + command;
  if (line.size() <= kTerminalColumns) {
    lines->push_back(line);
    return;
  }
  lines->push_back("shoal: " + what + ":");
  lines->push_back("shoal:   " + command);
}

}  // namespace

size_t DurationHistogram::BucketOf(uint64_t micros) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (micros < kSub) return static_cast<size_t>(micros);
  int e = std::bit_width(micros) - 1;  // >= kSubBits
  uint64_t sub = (micros >> (e - kSubBits)) & (kSub - 1);
  return (static_cast<size_t>(e - kSubBits + 1) << kSubBits) + static_cast<size_t>(sub);
}

uint64_t DurationHistogram::BucketLow(size_t bucket) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (bucket < kSub) return bucket;
  int e = static_cast<int>(bucket >> kSubBits) + kSubBits - 1;
  uint64_t sub = bucket & (kSub - 1);
  return (kSub + sub) << (e - kSubBits);
}

uint64_t DurationHistogram::BucketWidth(size_t bucket) {
  if (bucket < (size_t{1} << kSubBits)) return 1;
  int e = static_cast<int>(bucket >> kSubBits) + kSubBits - 1;
  return uint64_t{1} << (e - kSubBits);
}

void DurationHistogram::Add(double ms) {
  if (!(ms >= 0)) ms = 0;  // also NaN
  double us = std::min(ms * 1000.0, 1.8e19);
  ++counts_[BucketOf(static_cast<uint64_t>(us))];
  ++count_;
  max_ms_ = std::max(max_ms_, ms);
}

double DurationHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      double mid =
          static_cast<double>(BucketLow(b)) + (static_cast<double>(BucketWidth(b)) - 1) / 2.0;
      return std::min(mid / 1000.0, max_ms_);
    }
  }
  return max_ms_;
}

void ReasonCounts::Add(std::string_view reason) {
  reason = Utf8Prefix(reason, kMaxReasonBytes);
  auto it = counts_.find(reason);
  if (it != counts_.end()) {
    ++it->second;
  } else if (counts_.size() < kMaxReasons) {
    counts_.emplace(std::string(reason), 1);
  } else {
    ++other_;
  }
}

std::vector<std::pair<std::string, uint64_t>> ReasonCounts::Sorted() const {
  std::vector<std::pair<std::string, uint64_t>> v(counts_.begin(), counts_.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return v;
}

void SlowestItems::Add(double ms, uint64_t index, std::string_view item) {
  if (k_ == 0) return;
  if (entries_.size() < k_) {
    entries_.push_back({ms, index, std::string(Utf8Prefix(item, kMaxItemBytes))});
    return;
  }
  auto fastest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const Entry& a, const Entry& b) { return a.ms < b.ms; });
  if (ms <= fastest->ms) return;
  fastest->ms = ms;
  fastest->index = index;
  fastest->item.assign(Utf8Prefix(item, kMaxItemBytes));
}

std::vector<SlowestItems::Entry> SlowestItems::Sorted() const {
  std::vector<Entry> v = entries_;
  std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) {
    return a.ms != b.ms ? a.ms > b.ms : a.index < b.index;
  });
  return v;
}

void RunStats::Succeeded(uint64_t index, std::string_view item, double ms) {
  ++ok;
  if (ms >= 0) {
    durations.Add(ms);
    slowest.Add(ms, index, item);
  }
}

void RunStats::Failed(uint64_t index, std::string_view item, double ms, std::string_view reason) {
  if (failed++ == 0) {
    example_index = index;
    example_item.assign(Utf8Prefix(item, SlowestItems::kMaxItemBytes));
    example_reason.assign(Utf8Prefix(reason, ReasonCounts::kMaxReasonBytes));
  }
  reasons.Add(reason);
  if (ms >= 0) {
    durations.Add(ms);
    slowest.Add(ms, index, item);
  }
}

std::string FormatMillis(double ms) {
  char buf[64];
  if (!(ms >= 0)) ms = 0;
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, ms < 10 ? "%.2fms" : "%.1fms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000);
  } else if (ms < 3'600'000) {
    auto s = static_cast<uint64_t>(ms / 1000);
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    auto m = static_cast<uint64_t>(ms / 60'000);
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(m / 60),
                  static_cast<unsigned long long>(m % 60));
  }
  return buf;
}

std::string ShellCommand(const std::string& program, const std::string& verb,
                         const std::string& run_dir, const std::string& cwd) {
  std::string dir = run_dir;
  const std::string below = cwd.ends_with('/') ? cwd : cwd + "/";
  if (!cwd.empty() && run_dir.size() > below.size() && run_dir.starts_with(below)) {
    dir = run_dir.substr(below.size());
    if (dir.starts_with('-')) dir = "./" + dir;  // not an option
  }
  return ShellWords({program, verb, dir});
}

std::vector<std::string> TerminalSummary(const RunStats& stats, const RunTotals& totals,
                                         const RunEnding& ending) {
  std::vector<std::string> lines;
  const uint64_t total = stats.finished();
  const double rate = totals.wall_s > 0 ? static_cast<double>(total) / totals.wall_s : 0;
  char rate_buf[96], cpu_buf[96];
  std::snprintf(rate_buf, sizeof rate_buf, "%llu items in %.2f s (%.0f items/s)",
                static_cast<unsigned long long>(total), totals.wall_s, rate);
  std::snprintf(cpu_buf, sizeof cpu_buf, "cpu master %.2f s, workers %.2f s", totals.cpu_master_s,
                totals.cpu_workers_s);
  AddWrapped("", {U(stats.ok) + " ok", U(stats.failed) + " failed", rate_buf}, &lines);
  AddWrapped(
      "", {U(stats.retried) + " retried, " + U(totals.worker_deaths) + " worker deaths", cpu_buf},
      &lines, ";");
  if (totals.prior > 0) {
    const uint64_t prior_failed = ending.failed - std::min(ending.failed, stats.failed);
    lines.push_back("shoal: and " + U(totals.prior) + " items recorded before the resume (" +
                    U(prior_failed) + " failed)");
  }

  if (stats.failed > 0) {
    // The few most frequent reasons; the rest in one count.
    constexpr size_t kTopReasons = 3;
    constexpr size_t kReasonWidth = 40;
    std::vector<std::string> pieces;
    uint64_t rest = stats.reasons.other(), rest_reasons = rest > 0 ? 1 : 0;
    for (const auto& [reason, n] : stats.reasons.Sorted()) {
      if (pieces.size() < kTopReasons) {
        pieces.push_back(Shorten(Printable(reason), kReasonWidth) + " x" + U(n));
      } else {
        rest += n;
        ++rest_reasons;
      }
    }
    if (rest > 0) {
      pieces.push_back(U(rest_reasons) +
                       (rest_reasons == 1 ? " other reason x" : " other reasons x") + U(rest));
    }
    AddWrapped("failed: ", pieces, &lines);
    // One example, cut to fit: its reason first, the item in what is left.
    constexpr size_t kItemMin = 12;
    const std::string head = "shoal: e.g. item " + U(stats.example_index) + " '";
    const size_t reason_width = std::min(
        kReasonWidth, kTerminalColumns - std::min(kTerminalColumns, head.size() + 3 + kItemMin));
    const std::string reason = "': " + Shorten(Printable(stats.example_reason), reason_width);
    const size_t room =
        kTerminalColumns - std::min(kTerminalColumns - kItemMin, head.size() + reason.size());
    lines.push_back(head + Shorten(Printable(stats.example_item), room) + reason);
  }

  lines.push_back("shoal: run directory: " + ending.run_dir);
  if (ending.signal != 0 || ending.unfinished) {
    std::string what = "to finish the run";
    if (ending.signal != 0) {
      const char* name = sigabbrev_np(ending.signal);
      what = std::string("interrupted by ") +
             (name ? std::string("SIG") + name : "signal " + U(ending.signal)) + "; " + what;
    }
    AddCommand(what, ShellCommand(ending.program, "resume", ending.run_dir, ending.cwd), &lines);
  }
  const uint64_t runnable = ending.failed - std::min(ending.failed, ending.never_ran);
  if (runnable > 0) {
    AddCommand("to retry the " + U(runnable) + " failed item" + (runnable == 1 ? "" : "s"),
               ShellCommand(ending.program, "retry", ending.run_dir, ending.cwd), &lines);
  }
  if (ending.never_ran > 0) {
    // Retry would fail them the same way: the bytes are what is wrong.
    const bool one = ending.never_ran == 1;
    lines.push_back("shoal: " + U(ending.never_ran) + " failed item" + (one ? "" : "s") +
                    " never ran: the input could not deliver " + (one ? "it" : "them") + " whole;");
    lines.push_back(std::string("shoal:   retry cannot run ") + (one ? "it" : "them") +
                    ": fix the lines errors.jsonl names and run");
    lines.push_back("shoal:   those with --items FILE (or fix the input and start a new run)");
  }
  return lines;
}

std::string FailureNotices::Line(uint64_t index, std::string_view item, std::string_view reason,
                                 std::string_view stderr_tail) {
  reason = Utf8Prefix(reason, ReasonCounts::kMaxReasonBytes);
  if (std::find(said_.begin(), said_.end(), reason) != said_.end()) return "";
  if (said_.size() == kMaxLines) {
    if (said_more_) return "";
    said_more_ = true;
    return "shoal: more items failed for other reasons: the summary counts them, "
           "errors.jsonl has each";
  }
  said_.emplace_back(reason);
  // What makes the reason plain: a missing program, or the command's own
  // last words on stderr.
  std::string why;
  if (reason.starts_with("not found: ")) {
    why = reason.find('/') == std::string_view::npos ? "no such program on PATH" : "no such file";
  } else {
    std::string_view tail = stderr_tail;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.remove_suffix(1);
    size_t nl = tail.rfind('\n');
    if (nl != std::string_view::npos) tail.remove_prefix(nl + 1);
    why = Printable(tail);
  }
  const std::string head = "shoal: item " + U(index) + " '";
  const std::string failed = "' failed: " + Shorten(Printable(reason), 50);
  // Too long for a line: the item gives way first, down to kItemMin, then the why.
  constexpr size_t kItemMin = 16;
  std::string shown = Printable(item);
  std::string extra = why.empty() ? "" : " (" + why + ")";
  const size_t fixed = head.size() + failed.size();
  if (fixed + shown.size() + extra.size() > kTerminalColumns) {
    shown = Shorten(
        std::move(shown),
        std::max(kItemMin, kTerminalColumns - std::min(kTerminalColumns, fixed + extra.size())));
  }
  if (!extra.empty() && fixed + shown.size() + extra.size() > kTerminalColumns) {
    const size_t room = kTerminalColumns - std::min(kTerminalColumns, fixed + shown.size());
    extra = room >= 3 + 10 ? " (" + Shorten(why, room - 3) + ")" : "";
  }
  return head + shown + failed + extra;
}

std::vector<std::string> SummaryLines(const RunStats& stats, const RunTotals& totals) {
  std::vector<std::string> lines;
  auto u = [](uint64_t v) { return std::to_string(v); };

  std::string counts = "summary: " + u(stats.ok) + " ok, " + u(stats.failed) + " failed";
  if (totals.not_run > 0) counts += ", " + u(static_cast<uint64_t>(totals.not_run)) + " not run";
  if (totals.not_run < 0) counts += ", the rest of the input not read";
  if (totals.prior > 0) counts += ", " + u(totals.prior) + " recorded before the resume";
  counts +=
      "; " + u(stats.retried) + " retried attempts, " + u(totals.worker_deaths) + " worker deaths";
  lines.push_back(counts);

  if (stats.failed > 0) {
    std::string reasons = "summary: failures by reason:";
    bool first = true;
    for (const auto& [reason, n] : stats.reasons.Sorted()) {
      reasons += (first ? " " : ", ") + Printable(reason) + " x" + u(n);
      first = false;
    }
    if (stats.reasons.other() > 0) {
      reasons += (first ? " " : ", ") + std::string("other x") + u(stats.reasons.other());
    }
    lines.push_back(reasons);
  }

  char buf[256];
  double rate = totals.wall_s > 0 ? static_cast<double>(stats.finished()) / totals.wall_s : 0;
  std::snprintf(buf, sizeof buf, "summary: wall %s, cpu master %.2fs, workers %.2fs, %.1f items/s",
                FormatMillis(totals.wall_s * 1000).c_str(), totals.cpu_master_s,
                totals.cpu_workers_s, rate);
  lines.push_back(buf);

  const DurationHistogram& d = stats.durations;
  if (d.count() > 0) {
    lines.push_back("summary: item duration p50 " + FormatMillis(d.Quantile(0.50)) + ", p95 " +
                    FormatMillis(d.Quantile(0.95)) + ", p99 " + FormatMillis(d.Quantile(0.99)) +
                    ", max " + FormatMillis(d.max_ms()) + " (" + u(d.count()) + " items)");
    std::string slow = "summary: slowest:";
    bool first = true;
    for (const SlowestItems::Entry& e : stats.slowest.Sorted()) {
      slow += std::string(first ? " " : "; ") + "#" + u(e.index) + " " + FormatMillis(e.ms) + " " +
              Printable(e.item);
      first = false;
    }
    lines.push_back(slow);
  }
  return lines;
}

}  // namespace shoal
