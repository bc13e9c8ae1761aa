// How fast resume reads the records of a run: writes N records to
// results.jsonl in a scratch run directory (as the master formats them),
// then times ReadRunRecords over them, best of a few rounds.
//
// usage: record_read_perftest [N]      (default 1000000)
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/json.h"
#include "config/settings.h"
#include "master/resume.h"
#include "master/run_dir.h"

namespace {

using shoal::JsonObject;

// A record like those of a sha256 run over a tree: a path, a digest.
void FormatRecord(uint64_t index, std::string* out) {
  char item[64];
  std::snprintf(item, sizeof item, "data/d%03llu/file-%07llu.bin",
                static_cast<unsigned long long>(index % 1000),
                static_cast<unsigned long long>(index));
  JsonObject o(out);
  o.Int("index", static_cast<int64_t>(index)).Bytes("item", item).Bytes("status", "ok");
  o.Int("attempts", 1).Int("worker", static_cast<int64_t>(index % 8 + 1));
  o.Double("ms", 0.042 + static_cast<double>(index % 100) / 1000, 3);
  o.Bytes("output", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  o.EndLine();
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  char tmpl[] = "/tmp/shoal-record-read-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  {
    shoal::RecordFile results;
    shoal::Status st = results.Open(dir + "/results.jsonl");
    for (uint64_t i = 1; st.ok() && i <= n; ++i) {
      FormatRecord(i, results.buffer());
      if (results.pending() >= (1 << 20)) st = results.Flush();
    }
    if (st.ok()) st = results.Flush();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
  }
  const double mb = static_cast<double>(std::filesystem::file_size(dir + "/results.jsonl")) / 1e6;

  shoal::Settings settings;  // jsonl records
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    auto start = std::chrono::steady_clock::now();
    shoal::Result<shoal::RunRecords> records = shoal::ReadRunRecords(dir, settings);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!records.ok() || records->ok != n) {
      std::fprintf(stderr, "read failed: %s\n",
                   records.ok() ? "wrong count" : records.status().message().c_str());
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("ReadRunRecords: %llu records (%.1f MB) in %.3f s: %.0f records/s, %.0f MB/s\n",
              static_cast<unsigned long long>(n), mb, best, static_cast<double>(n) / best,
              mb / best);
  std::filesystem::remove_all(dir);
  return 0;
}
