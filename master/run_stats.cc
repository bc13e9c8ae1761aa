#include "master/run_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace shoal {

namespace {

// An item or reason on one log line: control characters become visible escapes.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Cuts at a byte limit without splitting a UTF-8 sequence.
std::string_view Cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
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
  reason = Cut(reason, kMaxReasonBytes);
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
    entries_.push_back({ms, index, std::string(Cut(item, kMaxItemBytes))});
    return;
  }
  auto fastest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const Entry& a, const Entry& b) { return a.ms < b.ms; });
  if (ms <= fastest->ms) return;
  fastest->ms = ms;
  fastest->index = index;
  fastest->item.assign(Cut(item, kMaxItemBytes));
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
  ++failed;
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

std::string TerminalSummary(const RunStats& stats, const RunTotals& totals) {
  const uint64_t total = stats.finished();
  const double rate = totals.wall_s > 0 ? static_cast<double>(total) / totals.wall_s : 0;
  char line[512];
  std::snprintf(line, sizeof line,
                "%llu ok, %llu failed, %llu items in %.2f s (%.0f items/s); %llu retried, "
                "%llu worker deaths; cpu master %.2f s, workers %.2f s",
                static_cast<unsigned long long>(stats.ok),
                static_cast<unsigned long long>(stats.failed),
                static_cast<unsigned long long>(total), totals.wall_s, rate,
                static_cast<unsigned long long>(stats.retried),
                static_cast<unsigned long long>(totals.worker_deaths), totals.cpu_master_s,
                totals.cpu_workers_s);
  return line;
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
