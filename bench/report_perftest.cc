// What `shoal report` costs on a big run: writes N records (default 10M,
// 1 in 1000 failed, with start times over a day) to a scratch run
// directory, then times WriteReport over them once and prints its wall
// time and the process's peak RSS (the goal: under 64 MB at 10M records;
// the records are streamed, so it should not depend on N).
//
// usage: report_perftest [N]      (default 10000000)
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/json.h"
#include "master/report.h"
#include "master/run_dir.h"

namespace {

using shoal::JsonObject;

constexpr int64_t kStartMs = 1'796'000'000'000;

void FormatRecord(uint64_t index, uint64_t n, std::string* out) {
  char item[64];
  std::snprintf(item, sizeof item, "data/d%03llu/file-%07llu.bin",
                static_cast<unsigned long long>(index % 1000),
                static_cast<unsigned long long>(index));
  JsonObject o(out);
  o.Int("index", static_cast<int64_t>(index)).Bytes("item", item);
  const bool failed = index % 1000 == 0;
  o.Bytes("status", failed ? "failed" : "ok");
  if (failed) o.Bytes("reason", index % 3000 == 0 ? "timeout" : "exit 1");
  o.Int("attempts", 1).Int("worker", static_cast<int64_t>(index % 8 + 1));
  o.Double("ms", 0.042 + static_cast<double>(index * 7919 % 100000) / 100, 3);
  o.Int("start_ms", kStartMs + static_cast<int64_t>(index * 86'400'000 / n));
  o.Bytes(failed ? "stderr" : "output", failed ? "" : "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b");
  o.EndLine();
}

long PeakRssKb() {
  rusage r{};
  ::getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  char tmpl[] = "/tmp/shoal-report-perf-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  {
    shoal::RecordFile results, errors;
    shoal::Status st = results.Open(dir + "/results.jsonl");
    if (st.ok()) st = errors.Open(dir + "/errors.jsonl");
    for (uint64_t i = 1; st.ok() && i <= n; ++i) {
      shoal::RecordFile& f = i % 1000 == 0 ? errors : results;
      FormatRecord(i, n, f.buffer());
      if (f.pending() >= (1 << 20)) st = f.Flush();
    }
    if (st.ok()) st = results.Flush();
    if (st.ok()) st = errors.Flush();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
  }
  const double mb = static_cast<double>(std::filesystem::file_size(dir + "/results.jsonl") +
                                        std::filesystem::file_size(dir + "/errors.jsonl")) /
                    1e6;
  const long rss_before = PeakRssKb();
  auto start = std::chrono::steady_clock::now();
  shoal::Result<std::string> page = shoal::WriteReport(dir);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!page.ok()) {
    std::fprintf(stderr, "report failed: %s\n", page.status().message().c_str());
    return 1;
  }
  std::printf(
      "WriteReport: %llu records (%.1f MB) in %.2f s: %.0f records/s; peak RSS %.1f MB "
      "(%.1f MB before it); report.html %.1f KB\n",
      static_cast<unsigned long long>(n), mb, s, static_cast<double>(n) / s,
      static_cast<double>(PeakRssKb()) / 1024, static_cast<double>(rss_before) / 1024,
      static_cast<double>(std::filesystem::file_size(*page)) / 1024);
  std::filesystem::remove_all(dir);
  return 0;
}
