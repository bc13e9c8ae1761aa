#include "master/report.h"

#include <simdjson.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "common/fd.h"
#include "common/json.h"
#include "master/run_dir.h"
#include "master/run_state.h"
#include "master/run_stats.h"
#include "master/timeline.h"

namespace shoal {
namespace {

// Values over time in at most `bins` bins from a base time: a value past
// the last bin doubles the bins' width (pairs merged), so a run of a minute
// and one of a month both get `bins` points. Each bin keeps a sum per series
// and how many samples went in (a mean for shares, a sum for counts).
class TimeBins {
 public:
  TimeBins(size_t bins, size_t series) : bins_(bins), series_(series) {}
  void Add(int64_t t_ms, int64_t base_ms, size_t series, double value) {
    if (series >= series_) return;
    if (sums_.empty()) {
      sums_.assign(bins_ * series_, 0);
      samples_.assign(bins_, 0);
    }
    const int64_t at = std::max<int64_t>(t_ms - base_ms, 0);
    while (at / width_ms_ >= static_cast<int64_t>(bins_)) Widen();
    const size_t bin = static_cast<size_t>(at / width_ms_);
    last_ = std::max(last_, bin + 1);
    sums_[bin * series_ + series] += value;
    if (series == 0) ++samples_[bin];
  }
  bool empty() const { return last_ == 0; }
  size_t used() const { return last_; }
  int64_t width_ms() const { return width_ms_; }
  double Sum(size_t bin, size_t series) const { return sums_[bin * series_ + series]; }
  uint64_t Samples(size_t bin) const { return samples_[bin]; }

 private:
  void Widen() {
    for (size_t b = 0; b < bins_; ++b) {
      for (size_t s = 0; s < series_; ++s) {
        const size_t from = 2 * b;
        double v = 0;
        if (from < bins_) v += sums_[from * series_ + s];
        if (from + 1 < bins_) v += sums_[(from + 1) * series_ + s];
        sums_[b * series_ + s] = v;
      }
      samples_[b] =
          (2 * b < bins_ ? samples_[2 * b] : 0) + (2 * b + 1 < bins_ ? samples_[2 * b + 1] : 0);
    }
    last_ = (last_ + 1) / 2;
    width_ms_ *= 2;
  }
  size_t bins_, series_;
  int64_t width_ms_ = 1000;
  size_t last_ = 0;
  std::vector<double> sums_;
  std::vector<uint64_t> samples_;
};

// Durations for the page: one bucket per power of two of milliseconds,
// [2^(k-10), 2^(k-9)) for bucket k (about 1 µs up to 12 days).
constexpr int kLog2Buckets = 41;
int Log2Bucket(double ms) {
  if (!(ms > 0)) return 0;
  return std::clamp(static_cast<int>(std::floor(std::log2(ms))) + 10, 0, kLog2Buckets - 1);
}
double BucketLowMs(int k) {
  return std::ldexp(1.0, k - 10);
}

struct Example {
  uint64_t index;
  std::string item;
};

struct Tally {
  uint64_t ok = 0, failed = 0, retried_attempts = 0, bad_lines = 0, no_duration = 0;
  bool have_start = false;
  RunStats stats;  // durations histogram (quantiles), reasons, slowest
  std::array<uint64_t, kLog2Buckets> buckets{};
  std::map<std::string, std::vector<Example>, std::less<>> examples;
};

// "2026-11-22T03:15:00.123Z" as Unix ms; -1 if it is not one.
int64_t ParseUtcMs(const std::string& s) {
  tm t{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) != 7) {
    return -1;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&t)) * 1000 + ms;
}

class Reader {
 public:
  // Parses one line as a JSON object; null when it is not one.
  simdjson::dom::element* Parse(std::string_view line) {
    padded_.assign(line);
    padded_.resize(line.size() + simdjson::SIMDJSON_PADDING);
    if (parser_.parse(padded_.data(), line.size(), false).get(element_) != simdjson::SUCCESS ||
        !element_.is_object()) {
      return nullptr;
    }
    return &element_;
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element element_;
  std::string padded_;
};

double NumberOr(simdjson::dom::element e, const char* key, double fallback) {
  double v;
  if (e[key].get(v) == simdjson::SUCCESS) return v;
  int64_t i;
  if (e[key].get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  return fallback;
}

std::string_view TextOr(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? v : std::string_view();
}

class ReportBuilder {
 public:
  ReportBuilder(const std::string& run_dir, const ReportLimits& limits)
      : dir_(run_dir),
        limits_(limits),
        throughput_(limits.time_bins, 2),
        busy_(limits.time_bins, limits.max_workers + 1) {
    tally_.stats.slowest = SlowestItems(limits.slowest);
  }

  Result<std::string> Build() {
    Result<RunState> state = ReadRunState(dir_);
    if (state.ok()) state_ = *state;
    have_state_ = state.ok();
    settings_ = ReadHead(dir_ + "/settings.toml", 64 << 10);
    results_name_ = FindResults();
    tsv_ = results_name_.starts_with("results.tsv");
    // The sha256 handler's results.tsv has its times in times.tsv, line for line.
    timed_ = results_name_ == "results.tsv" && std::ifstream(dir_ + "/" + kTimesFile);
    FindShardTimelines();
    base_ms_ = BaseMs();
    Status st = ReadRecords(timed_ ? std::string(kTimesFile) : results_name_, true);
    if (st.ok()) st = ReadRecords("errors.jsonl", false);
    if (st.ok()) st = ReadTimeline();
    for (size_t i = 0; st.ok() && i < shard_files_.size(); ++i) st = ReadShardTimeline(i);
    if (!st.ok()) return st;
    std::string page = Page();
    const std::string path = dir_ + "/" + kReportFile;
    st = WriteFileAtomically(path, page);
    if (!st.ok()) return st;
    return path;
  }

 private:
  // Which of the four forms the run's results have (jsonl or tsv, plain or
  // output.compress = "zstd"): the first that exists.
  std::string FindResults() const {
    for (auto format : {OutputFormat::kJsonl, OutputFormat::kTsv}) {
      for (auto compress : {Compression::kNone, Compression::kZstd}) {
        const char* name = ResultsFileName(format, compress);
        if (::access((dir_ + "/" + name).c_str(), F_OK) == 0) return name;
      }
    }
    return ResultsFileName(OutputFormat::kJsonl);
  }

  static std::string ReadHead(const std::string& path, size_t max) {
    std::ifstream in(path, std::ios::binary);
    std::string text(max, '\0');
    in.read(text.data(), static_cast<std::streamsize>(max));
    text.resize(static_cast<size_t>(in.gcount()));
    return text;
  }

  // Time 0 of the charts: the earliest of when the run started, its first
  // record's start and its first timeline line (a resumed run's first part
  // is before run.json's start).
  int64_t BaseMs() {
    int64_t base = have_state_ ? ParseUtcMs(state_.started) : -1;
    auto earlier = [&](int64_t t) {
      if (t >= 0 && (base < 0 || t < base)) base = t;
    };
    if (timed_) {
      std::ifstream in(dir_ + "/" + kTimesFile);
      std::string line;
      if (std::getline(in, line) && line == kTimesHeader && std::getline(in, line)) {
        const size_t tab = line.rfind('\t');
        if (tab != std::string::npos) earlier(std::strtoll(line.c_str() + tab + 1, nullptr, 10));
      }
    }
    for (const std::string& name : {results_name_, std::string("errors.jsonl")}) {
      if (name.starts_with("results.tsv")) continue;
      const std::string line = FirstLine(dir_ + "/" + name);
      if (line.empty()) continue;
      if (simdjson::dom::element* e = reader_.Parse(line)) {
        earlier(static_cast<int64_t>(NumberOr(*e, "start_ms", -1)));
      }
    }
    std::vector<std::string> timelines = shard_files_;
    timelines.push_back(dir_ + "/" + kTimelineFile);
    for (const std::string& path : timelines) {
      std::ifstream in(path);
      std::string line;
      if (!std::getline(in, line)) continue;
      if (simdjson::dom::element* e = reader_.Parse(line)) {
        const double unix_ms = NumberOr(*e, "unix_ms", -1), t = NumberOr(*e, "t", 0);
        if (unix_ms >= 0) earlier(static_cast<int64_t>(unix_ms - t * 1000));
      }
    }
    return std::max<int64_t>(base, 0);
  }

  void FindShardTimelines() {
    std::error_code ec;
    std::vector<std::pair<long, std::string>> found;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir_ + "/" + kShardTimelinesDir, ec)) {
      const std::string name = entry.path().stem().string();
      if (!name.starts_with("shard-") || entry.path().extension() != ".jsonl") continue;
      found.emplace_back(std::strtol(name.c_str() + 6, nullptr, 10), entry.path().string());
    }
    std::sort(found.begin(), found.end());
    for (const auto& [k, path] : found) {
      if (shard_files_.size() == kMaxShardLines) break;
      shard_files_.push_back(path);
      shard_names_.push_back("shard " + std::to_string(k));
    }
  }

  Status ReadShardTimeline(size_t shard) {
    LineScan scan;
    double last_done = 0;
    return ScanLines(shard_files_[shard], '\n', &scan, [&](std::string_view line) {
      simdjson::dom::element* e = reader_.Parse(line);
      if (e == nullptr) return;
      const auto t = static_cast<int64_t>(NumberOr(*e, "unix_ms", -1));
      const double done = NumberOr(*e, "done", 0);
      // A resumed shard counts from 0 again.
      const double finished = done >= last_done ? done - last_done : done;
      last_done = done;
      if (t >= 0) shard_done_.Add(t, base_ms_, shard, finished);
    });
  }

  Status ReadRecords(const std::string& name, bool ok) {
    const std::string path = dir_ + "/" + name;
    LineScan scan;  // a torn last line (a run in progress) is not read
    return ScanLines(path, '\n', &scan, [&](std::string_view line) {
      if (ok && tsv_) return TsvRecord(line);
      simdjson::dom::element* e = reader_.Parse(line);
      if (e == nullptr) {
        ++tally_.bad_lines;
        return;
      }
      uint64_t index = 0;
      if ((*e)["index"].get(index) != simdjson::SUCCESS) index = 0;
      Record(ok, index, TextOr(*e, "item"), NumberOr(*e, "ms", -1),
             static_cast<int64_t>(NumberOr(*e, "start_ms", -1)), TextOr(*e, "reason"));
      simdjson::dom::array history;
      if ((*e)["history"].get(history) == simdjson::SUCCESS) {
        tally_.retried_attempts += history.size();
      }
    });
  }

  // results.tsv: the columns of kTsvHeader, or sha256sum's lines (no times);
  // times.tsv: the columns of kTimesHeader.
  void TsvRecord(std::string_view line) {
    if (line == kTsvHeader || line == kTimesHeader) return;
    std::vector<std::string_view> cols;
    for (size_t at = 0;;) {
      size_t tab = line.find('\t', at);
      cols.push_back(line.substr(at, tab == std::string_view::npos ? tab : tab - at));
      if (tab == std::string_view::npos) break;
      at = tab + 1;
    }
    if (timed_) {
      if (cols.size() != 4) {
        ++tally_.bad_lines;
        return;
      }
      return Record(true, std::strtoull(std::string(cols[0]).c_str(), nullptr, 10), cols[1],
                    std::strtod(std::string(cols[2]).c_str(), nullptr),
                    std::strtoll(std::string(cols[3]).c_str(), nullptr, 10), "");
    }
    if (cols.size() < 7) return Record(true, 0, line.substr(line.find("  ") + 2), -1, -1, "");
    Record(true, std::strtoull(std::string(cols[0]).c_str(), nullptr, 10), cols[1],
           std::strtod(std::string(cols[cols.size() - 2]).c_str(), nullptr),
           std::strtoll(std::string(cols.back()).c_str(), nullptr, 10), "");
  }

  void Record(bool ok, uint64_t index, std::string_view item, double ms, int64_t start_ms,
              std::string_view reason) {
    (ok ? tally_.ok : tally_.failed)++;
    if (ok) {
      tally_.stats.Succeeded(index, item, ms);
    } else {
      tally_.stats.Failed(index, item, ms, reason);
      // Cut as ReasonCounts cuts it, to find it again.
      std::string_view key = Utf8Prefix(reason, ReasonCounts::kMaxReasonBytes);
      auto it = tally_.examples.find(key);
      if (it == tally_.examples.end() && tally_.examples.size() < ReasonCounts::kMaxReasons) {
        it = tally_.examples.emplace(std::string(key), std::vector<Example>()).first;
      }
      if (it != tally_.examples.end() && it->second.size() < limits_.examples) {
        it->second.push_back({index, std::string(Utf8Prefix(item, SlowestItems::kMaxItemBytes))});
      }
    }
    if (ms >= 0) {
      ++tally_.buckets[static_cast<size_t>(Log2Bucket(ms))];
    } else {
      ++tally_.no_duration;
    }
    if (start_ms >= 0) {
      tally_.have_start = true;
      throughput_.Add(start_ms + static_cast<int64_t>(std::max(ms, 0.0)), base_ms_, ok ? 0 : 1, 1);
    }
  }

  Status ReadTimeline() {
    LineScan scan;
    return ScanLines(dir_ + "/" + kTimelineFile, '\n', &scan, [&](std::string_view line) {
      simdjson::dom::element* e = reader_.Parse(line);
      if (e == nullptr) return;
      ++timeline_lines_;
      const auto t = static_cast<int64_t>(NumberOr(*e, "unix_ms", -1));
      simdjson::dom::array busy;
      if (t < 0 || (*e)["busy"].get(busy) != simdjson::SUCCESS) return;
      double sum = 0;
      size_t n = 0;
      for (simdjson::dom::element b : busy) {
        double share = 0;
        if (b.get(share) != simdjson::SUCCESS) continue;
        sum += share;
        if (n < limits_.max_workers) busy_.Add(t, base_ms_, n + 1, share);
        ++n;
      }
      workers_seen_ = std::max(workers_seen_, n);
      // Series 0 last: it is the one that counts the line as a sample.
      busy_.Add(t, base_ms_, 0, n > 0 ? sum / static_cast<double>(n) : 0);
    });
  }

  std::string Json() const;
  std::string Page() const;

  std::string dir_;
  ReportLimits limits_;
  Reader reader_;
  RunState state_;
  bool have_state_ = false;
  std::string settings_;
  std::string results_name_;  // as FindResults found it
  bool tsv_ = false;
  bool timed_ = false;  // results.tsv is sha256sum's, its times in times.tsv
  int64_t base_ms_ = 0;
  Tally tally_;
  TimeBins throughput_;  // series 0 ok, 1 failed; by when the item ended
  TimeBins busy_;        // series 0 the mean of all workers, then worker 1..max_workers
  uint64_t timeline_lines_ = 0;
  size_t workers_seen_ = 0;
  // A merged run: timelines/shard-K.jsonl, the items each shard finished
  // per bin (from the growth of "done"), at most kMaxShardLines of them.
  static constexpr size_t kMaxShardLines = 16;
  std::vector<std::string> shard_files_, shard_names_;
  TimeBins shard_done_{limits_.time_bins, kMaxShardLines};
};

void AppendHtml(std::string* out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '&':
        out->append("&amp;");
        break;
      case '"':
        out->append("&quot;");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string Num(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string JsonArray(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += Num(v[i]);
  }
  return out + "]";
}

struct Series {
  std::string name, color;
  std::vector<double> values;
};

// A line chart of series over time bins: x in seconds from the base.
std::string LineChart(const std::vector<Series>& series, int64_t bin_ms, const std::string& y_unit,
                      double y_max_at_least) {
  // kTop leaves the unit's line above the top tick; the last time label ends
  // at the right edge rather than past it.
  constexpr int kW = 760, kH = 232, kLeft = 60, kBottom = 30, kTop = 22, kRight = 10;
  size_t n = 0;
  double y_max = y_max_at_least;
  for (const Series& s : series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) y_max = std::max(y_max, v);
  }
  if (y_max <= 0) y_max = 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto x = [&](size_t i) { return kLeft + (n <= 1 ? 0 : pw * static_cast<double>(i) / (n - 1)); };
  auto y = [&](double v) { return kTop + ph * (1 - v / y_max); };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kW) +
                    "\" height=\"" + std::to_string(kH) + "\" role=\"img\">";
  svg += "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kTop) + "\" width=\"" +
         Num(pw, 0) + "\" height=\"" + Num(ph, 0) + "\" fill=\"#fafafa\" stroke=\"#ccc\"/>";
  for (double f : {0.0, 0.5, 1.0}) {
    svg += "<text x=\"" + std::to_string(kLeft - 4) + "\" y=\"" + Num(y(f * y_max) + 4, 1) +
           "\" text-anchor=\"end\">" + Num(f * y_max, y_max < 10 ? 2 : 0) + "</text>";
  }
  const double span_s = static_cast<double>(n) * static_cast<double>(bin_ms) / 1000;
  for (double f : {0.0, 0.5, 1.0}) {
    const char* anchor = f == 0 ? "start" : f == 1 ? "end" : "middle";
    svg += "<text x=\"" + Num(kLeft + f * pw, 1) + "\" y=\"" + std::to_string(kH - 8) +
           "\" text-anchor=\"" + anchor + "\">" +
           (f == 0 ? "0s" : FormatMillis(f * span_s * 1000)) + "</text>";
  }
  svg += "<text x=\"4\" y=\"12\">" + y_unit + "</text>";
  for (const Series& s : series) {
    svg += "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" + s.color + "\" points=\"";
    for (size_t i = 0; i < s.values.size(); ++i) {
      svg += Num(x(i), 1) + "," + Num(y(s.values[i]), 1) + " ";
    }
    svg += "\"><title>";
    AppendHtml(&svg, s.name);
    svg += "</title></polyline>";
  }
  return svg + "</svg>";
}

std::string ReportBuilder::Json() const {
  const RunStats& st = tally_.stats;
  std::string out;
  JsonObject o(&out);
  o.Int("version", 1).Bytes("run_dir", dir_).Bool("run_json", have_state_);
  o.Bool("in_progress", have_state_ && !state_.ended);
  if (have_state_) {
    o.Bytes("started", state_.started).Bytes("ended_at", state_.ended_at);
    if (state_.exit_status) o.Int("exit_status", *state_.exit_status);
    o.Int("workers", state_.workers);
  }
  o.Int("items", static_cast<int64_t>(tally_.ok + tally_.failed));
  o.Int("ok", static_cast<int64_t>(tally_.ok)).Int("failed", static_cast<int64_t>(tally_.failed));
  o.Int("retried_attempts", static_cast<int64_t>(tally_.retried_attempts));
  o.Int("unreadable_lines", static_cast<int64_t>(tally_.bad_lines));
  std::string d;
  JsonObject dur(&d);
  dur.Int("count", static_cast<int64_t>(st.durations.count()));
  dur.Int("no_duration", static_cast<int64_t>(tally_.no_duration));
  dur.Double("p50_ms", st.durations.Quantile(0.5), 3)
      .Double("p95_ms", st.durations.Quantile(0.95), 3);
  dur.Double("p99_ms", st.durations.Quantile(0.99), 3).Double("max_ms", st.durations.max_ms(), 3);
  std::string buckets = "[";
  for (int k = 0; k < kLog2Buckets; ++k) {
    if (tally_.buckets[static_cast<size_t>(k)] == 0) continue;
    if (buckets.size() > 1) buckets.push_back(',');
    JsonObject b(&buckets);
    b.Double("low_ms", BucketLowMs(k), 6).Double("high_ms", BucketLowMs(k + 1), 6);
    b.Int("count", static_cast<int64_t>(tally_.buckets[static_cast<size_t>(k)]));
    b.End();
  }
  dur.Raw("buckets", buckets + "]");
  dur.End();
  o.Raw("durations", d);
  std::string failures = "[";
  for (const auto& [reason, count] : st.reasons.Sorted()) {
    if (failures.size() > 1) failures.push_back(',');
    JsonObject f(&failures);
    f.Bytes("reason", reason).Int("count", static_cast<int64_t>(count));
    std::string examples = "[";
    auto it = tally_.examples.find(reason);
    for (const Example& e : it != tally_.examples.end() ? it->second : std::vector<Example>{}) {
      if (examples.size() > 1) examples.push_back(',');
      JsonObject x(&examples);
      x.Int("index", static_cast<int64_t>(e.index)).Bytes("item", e.item);
      x.End();
    }
    f.Raw("examples", examples + "]");
    f.End();
  }
  o.Raw("failures", failures + "]").Int("failures_other", static_cast<int64_t>(st.reasons.other()));
  std::string slowest = "[";
  for (const SlowestItems::Entry& e : st.slowest.Sorted()) {
    if (slowest.size() > 1) slowest.push_back(',');
    JsonObject s(&slowest);
    s.Int("index", static_cast<int64_t>(e.index)).Bytes("item", e.item).Double("ms", e.ms, 3);
    s.End();
  }
  o.Raw("slowest", slowest + "]");
  std::vector<double> ok, failed;
  for (size_t b = 0; b < throughput_.used(); ++b) {
    ok.push_back(throughput_.Sum(b, 0));
    failed.push_back(throughput_.Sum(b, 1));
  }
  std::string tp;
  JsonObject t(&tp);
  t.Int("base_ms", base_ms_).Int("bin_ms", throughput_.width_ms());
  t.Raw("ok", JsonArray(ok)).Raw("failed", JsonArray(failed));
  t.End();
  o.Raw("throughput", tp);
  std::string busy;
  JsonObject b(&busy);
  b.Int("bin_ms", busy_.width_ms()).Int("workers", static_cast<int64_t>(workers_seen_));
  std::string per = "[";
  for (size_t w = 0; w <= std::min(workers_seen_, limits_.max_workers); ++w) {
    std::vector<double> v;
    for (size_t i = 0; i < busy_.used(); ++i) {
      const uint64_t n = busy_.Samples(i);
      v.push_back(n == 0 ? 0 : busy_.Sum(i, w) / static_cast<double>(n));
    }
    if (w == 0) {
      b.Raw("mean", JsonArray(v));
    } else {
      if (per.size() > 1) per.push_back(',');
      per += JsonArray(v);
    }
  }
  b.Raw("per_worker", per + "]");
  b.End();
  o.Raw("busy", busy).Int("timeline_lines", static_cast<int64_t>(timeline_lines_));
  std::string shards;
  JsonObject sh(&shards);
  sh.Int("bin_ms", shard_done_.width_ms());
  std::string names = "[", done = "[";
  for (size_t k = 0; k < shard_names_.size(); ++k) {
    if (k > 0) {
      names.push_back(',');
      done.push_back(',');
    }
    AppendJsonString(&names, shard_names_[k]);
    std::vector<double> v;
    for (size_t i = 0; i < shard_done_.used(); ++i) v.push_back(shard_done_.Sum(i, k));
    done += JsonArray(v);
  }
  sh.Raw("names", names + "]").Raw("done", done + "]");
  sh.End();
  o.Raw("shards", shards);
  o.End();
  return out;
}

std::string ReportBuilder::Page() const {
  const RunStats& st = tally_.stats;
  // Inside <script>, "</" would end it: JSON lets "\/" stand for "/".
  std::string json;
  for (char c : Json()) {
    if (c == '/' && !json.empty() && json.back() == '<') json.push_back('\\');
    json.push_back(c);
  }
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>shoal report</title><style>"
      "body{font:14px sans-serif;margin:1.5em;color:#222;max-width:800px}"
      "h2{margin-top:1.6em;border-bottom:1px solid #ddd}"
      "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;"
      "border-bottom:1px solid #eee;vertical-align:top}svg text{font:11px sans-serif}"
      "pre{background:#f6f6f6;padding:8px;overflow:auto}.note{color:#666}"
      "</style></head><body>\n<h1>shoal report</h1><p>";
  AppendHtml(&h, dir_);
  h += "</p>\n<h2>Summary</h2><table>";
  auto row = [&](const std::string& name, const std::string& value) {
    h += "<tr><th>" + name + "</th><td>";
    AppendHtml(&h, value);
    h += "</td></tr>";
  };
  if (have_state_) {
    row("state", state_.ended
                     ? "ended, exit status " + std::to_string(state_.exit_status.value_or(-1))
                     : "in progress (the page shows what is on disk now)");
    row("started", state_.started);
    if (state_.ended) row("ended", state_.ended_at);
    row("workers", std::to_string(state_.workers));
  } else {
    row("state", "unknown: no run.json");
  }
  row("items recorded", std::to_string(tally_.ok + tally_.failed));
  row("ok", std::to_string(tally_.ok));
  row("failed", std::to_string(tally_.failed));
  row("retried attempts", std::to_string(tally_.retried_attempts));
  if (tally_.bad_lines > 0) row("unreadable record lines", std::to_string(tally_.bad_lines));
  h += "</table>\n<h2>Throughput and failures over time</h2>";
  if (!tally_.have_start) {
    h += "<p class=\"note\">No record has a start time (a run of an older shoal, or the sha256 "
         "handler's results.tsv without its times.tsv): nothing to draw.</p>";
  } else {
    const double secs = static_cast<double>(throughput_.width_ms()) / 1000;
    Series ok{"ok items/s", "#2a7", {}}, failed{"failed items/s", "#d33", {}};
    for (size_t b = 0; b < throughput_.used(); ++b) {
      ok.values.push_back(throughput_.Sum(b, 0) / secs);
      failed.values.push_back(throughput_.Sum(b, 1) / secs);
    }
    h += LineChart({ok, failed}, throughput_.width_ms(), "items/s", 0);
    h += "<p class=\"note\">Items by when they ended, " + FormatMillis(secs * 1000) +
         " a point; green ok, red failed. A merged run's shards are drawn together.</p>";
  }
  if (!shard_names_.empty()) {
    h += "\n<h2>Throughput per shard</h2>";
    std::vector<Series> lines;
    const double secs = static_cast<double>(shard_done_.width_ms()) / 1000;
    for (size_t k = 0; k < shard_names_.size(); ++k) {
      Series line{shard_names_[k], "hsl(" + std::to_string(k * 67 % 360) + ",60%,45%)", {}};
      for (size_t i = 0; i < shard_done_.used(); ++i) {
        line.values.push_back(shard_done_.Sum(i, k) / secs);
      }
      lines.push_back(std::move(line));
    }
    h += LineChart(lines, shard_done_.width_ms(), "items/s", 0);
    h += "<p class=\"note\">Items finished per second by each shard (hover a line for its "
         "name), from the shards' timelines kept by shoal merge; at most " +
         std::to_string(kMaxShardLines) + " shards drawn.</p>";
  }
  h += "\n<h2>Workers busy</h2>";
  if (busy_.empty()) {
    h += "<p class=\"note\">No timeline.jsonl (a merged run: see its shards' throughput "
         "above; or a run of an older shoal): how busy the workers were is not drawn.</p>";
  } else {
    std::vector<Series> lines;
    const size_t drawn = std::min({workers_seen_, limits_.max_workers, size_t{16}});
    for (size_t w = 0; w <= drawn; ++w) {
      Series s{w == 0 ? "mean of all workers" : "worker " + std::to_string(w),
               w == 0 ? "#000" : "hsl(" + std::to_string(w * 47 % 360) + ",60%,60%)",
               {}};
      for (size_t i = 0; i < busy_.used(); ++i) {
        const uint64_t n = busy_.Samples(i);
        s.values.push_back(n == 0 ? 0 : busy_.Sum(i, w) / static_cast<double>(n));
      }
      lines.push_back(std::move(s));
    }
    std::rotate(lines.begin(), lines.begin() + 1, lines.end());  // the mean drawn last, on top
    h += LineChart(lines, busy_.width_ms(), "busy share", 1);
    h += "<p class=\"note\">Share of each second a worker ran an item (black: the mean of all " +
         std::to_string(workers_seen_) + "; at most 16 drawn one by one), from " +
         std::to_string(timeline_lines_) + " lines of timeline.jsonl.</p>";
  }
  h += "\n<h2>Item durations</h2>";
  int first = kLog2Buckets, last = -1;
  uint64_t top = 1;
  for (int k = 0; k < kLog2Buckets; ++k) {
    if (tally_.buckets[static_cast<size_t>(k)] == 0) continue;
    first = std::min(first, k);
    last = k;
    top = std::max(top, tally_.buckets[static_cast<size_t>(k)]);
  }
  h += "<p>p50 " + FormatMillis(st.durations.Quantile(0.5)) + ", p95 " +
       FormatMillis(st.durations.Quantile(0.95)) + ", p99 " +
       FormatMillis(st.durations.Quantile(0.99)) + ", max " + FormatMillis(st.durations.max_ms()) +
       " over " + std::to_string(st.durations.count()) + " items</p>";
  if (last >= 0) {
    const int n = last - first + 1, bw = std::max(14, std::min(60, 700 / n));
    h += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(n * bw + 20) +
         "\" height=\"190\" role=\"img\">";
    for (int k = first; k <= last; ++k) {
      const double c = static_cast<double>(tally_.buckets[static_cast<size_t>(k)]);
      const double bh = 140 * std::log1p(c) / std::log1p(static_cast<double>(top));
      const int x = 10 + (k - first) * bw;
      h += "<rect x=\"" + std::to_string(x) + "\" y=\"" + Num(150 - bh, 1) + "\" width=\"" +
           std::to_string(bw - 2) + "\" height=\"" + Num(bh, 1) + "\" fill=\"#58c\"><title>" +
           FormatMillis(BucketLowMs(k)) + " to " + FormatMillis(BucketLowMs(k + 1)) + ": " +
           Num(c, 0) + " items</title></rect>";
      if ((k - first) % std::max(1, 60 / bw) == 0) {
        h += "<text x=\"" + std::to_string(x) + "\" y=\"168\">" + FormatMillis(BucketLowMs(k)) +
             "</text>";
      }
    }
    h += "</svg><p class=\"note\">One bar per power of two of the duration; bar heights on a "
         "log scale of the count (hover for numbers).</p>";
  }
  if (tally_.no_duration > 0) {
    h += "<p class=\"note\">" + std::to_string(tally_.no_duration) +
         " items have no duration (they never ran, or their worker died).</p>";
  }
  h += "\n<h2>Failures by reason</h2>";
  if (tally_.failed == 0) h += "<p>None.</p>";
  h += "<table><tr><th>reason</th><th>items</th><th>examples</th></tr>";
  for (const auto& [reason, count] : st.reasons.Sorted()) {
    h += "<tr><td>";
    AppendHtml(&h, reason);
    h += "</td><td>" + std::to_string(count) + "</td><td>";
    auto it = tally_.examples.find(reason);
    if (it != tally_.examples.end()) {
      for (const Example& e : it->second) {
        h.push_back('#');
        h += std::to_string(e.index);
        h.push_back(' ');
        AppendHtml(&h, e.item);
        h += "<br>";
      }
    }
    h += "</td></tr>";
  }
  if (st.reasons.other() > 0) {
    h += "<tr><td>other reasons</td><td>" + std::to_string(st.reasons.other()) + "</td></tr>";
  }
  h += "</table>\n<h2>Slowest "
       "items</h2><table><tr><th>index</th><th>item</th><th>duration</th></tr>";
  for (const SlowestItems::Entry& e : st.slowest.Sorted()) {
    h += "<tr><td>" + std::to_string(e.index) + "</td><td>";
    AppendHtml(&h, e.item);
    h += "</td><td>" + FormatMillis(e.ms) + "</td></tr>";
  }
  h += "</table>\n<h2>Settings</h2><pre>";
  AppendHtml(&h, settings_);
  h += "</pre>\n<script type=\"application/json\" id=\"shoal-report\">" + json +
       "</script>\n</body></html>\n";
  return h;
}

}  // namespace

Result<std::string> WriteReport(const std::string& run_dir, const ReportLimits& limits) {
  ReportBuilder builder(run_dir, limits);
  return builder.Build();
}

}  // namespace shoal
