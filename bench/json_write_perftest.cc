// Why the master formats its records by hand (common/json.h's JsonObject):
// formats N records like those of a sha256 run both with JsonObject and with
// nlohmann::json (object built, then dump()), and prints records/s of each,
// best of a few rounds. The records are appended to one buffer, flushed
// (cleared) every MiB, as the master's RecordFile does.
//
// Then what records formatted by the workers would cost the master instead
// (issue 18's "the master validates framing and appends bytes"): the same
// lines checked by simdjson's DOM parser (the whole line valid JSON, which a
// worker that scribbles cannot fake) and by a framing check alone (one line,
// its index's prefix, "}\n" at the end), each then appended.
//
// usage: json_write_perftest [N]      (default 1000000)
#include <simdjson.h>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/json.h"

namespace {

constexpr std::string_view kDigest =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

struct Fields {
  uint64_t index;
  char item[64];
  int worker;
  double ms;
};

Fields FieldsOf(uint64_t index) {
  Fields f;
  f.index = index;
  std::snprintf(f.item, sizeof f.item, "data/d%03llu/file-%07llu.bin",
                static_cast<unsigned long long>(index % 1000),
                static_cast<unsigned long long>(index));
  f.worker = static_cast<int>(index % 8 + 1);
  f.ms = 0.042 + static_cast<double>(index % 100) / 1000;
  return f;
}

// What RunDirectory::FormatSuccess writes for such an item.
void HandWritten(const Fields& f, std::string* out) {
  shoal::JsonObject o(out);
  o.Int("index", static_cast<int64_t>(f.index)).Bytes("item", f.item).Bytes("status", "ok");
  o.Int("exit", 0).Int("attempts", 1).Int("worker", f.worker).Double("ms", f.ms, 3);
  o.Bytes("output", kDigest);
  o.EndLine();
}

// The same record through nlohmann::json; ordered_json keeps the key order
// of the records (plain json sorts keys, which is faster but not shoal's).
template <typename Json>
void Nlohmann(const Fields& f, std::string* out) {
  Json j;
  j["index"] = f.index;
  j["item"] = f.item;
  j["status"] = "ok";
  j["exit"] = 0;
  j["attempts"] = 1;
  j["worker"] = f.worker;
  j["ms"] = f.ms;
  j["output"] = kDigest;
  *out += j.dump();
  out->push_back('\n');
}

// The fields of records 1..n, made before the clock starts.
const std::vector<Fields>& AllFields(uint64_t n) {
  static std::vector<Fields> all;
  while (all.size() < n) all.push_back(FieldsOf(all.size() + 1));
  return all;
}

template <typename Format>
double Measure(const char* name, uint64_t n, Format format) {
  double best = 1e30;
  size_t bytes = 0;
  const std::vector<Fields>& fields = AllFields(n);
  for (int round = 0; round < 3; ++round) {
    std::string buffer;
    bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 1; i <= n; ++i) {
      format(fields[i - 1], &buffer);
      if (buffer.size() >= (1 << 20)) {
        bytes += buffer.size();
        buffer.clear();
      }
    }
    bytes += buffer.size();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("%-22s %llu records (%.1f MB) in %.3f s: %.0f records/s\n", name,
              static_cast<unsigned long long>(n), static_cast<double>(bytes) / 1e6, best,
              static_cast<double>(n) / best);
  return best;
}

// The formatted lines of n records, each followed by simdjson's padding.
struct Lines {
  std::string bytes;
  std::vector<std::pair<size_t, size_t>> at;  // offset, length
};

Lines Formatted(uint64_t n) {
  Lines lines;
  std::string one;
  for (uint64_t i = 1; i <= n; ++i) {
    one.clear();
    HandWritten(FieldsOf(i), &one);
    lines.at.emplace_back(lines.bytes.size(), one.size());
    lines.bytes += one;
    lines.bytes.append(simdjson::SIMDJSON_PADDING, ' ');
  }
  return lines;
}

template <typename Check>
double MeasureChecks(const char* name, const Lines& lines, Check check) {
  double best = 1e30;
  uint64_t bad = 0;
  for (int round = 0; round < 3; ++round) {
    std::string buffer;
    bad = 0;
    auto start = std::chrono::steady_clock::now();
    uint64_t index = 0;
    for (const auto& [offset, length] : lines.at) {
      const char* line = lines.bytes.data() + offset;
      if (!check(++index, line, length)) {
        ++bad;
        continue;
      }
      buffer.append(line, length);
      if (buffer.size() >= (1 << 20)) buffer.clear();
    }
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double n = static_cast<double>(lines.at.size());
  std::printf("%-22s %.0f records in %.3f s: %.0f records/s, %.0f ns each (%llu refused)\n", name,
              n, best, n / best, 1e9 * best / n, static_cast<unsigned long long>(bad));
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::string one;
  HandWritten(FieldsOf(17), &one);
  std::printf("JsonObject:            %s", one.c_str());
  one.clear();
  Nlohmann<nlohmann::ordered_json>(FieldsOf(17), &one);
  std::printf("nlohmann ordered_json: %s", one.c_str());
  const double hand = Measure("JsonObject", n, HandWritten);
  const double ordered = Measure("nlohmann ordered_json", n, Nlohmann<nlohmann::ordered_json>);
  const double sorted = Measure("nlohmann json", n, Nlohmann<nlohmann::json>);
  std::printf("JsonObject is %.1fx as fast as ordered_json, %.1fx as fast as json\n",
              ordered / hand, sorted / hand);
  std::printf("JsonObject: %.0f ns a record\n", 1e9 * hand / static_cast<double>(n));

  const Lines lines = Formatted(n);
  simdjson::dom::parser parser;
  const double valid =
      MeasureChecks("simdjson DOM check", lines, [&](uint64_t, const char* line, size_t length) {
        return parser.parse(line, length, false).error() == simdjson::SUCCESS;
      });
  const double framing =
      MeasureChecks("framing check", lines, [&](uint64_t index, const char* line, size_t length) {
        char prefix[40] = "{\"index\":";
        char* end = std::to_chars(prefix + 9, prefix + sizeof prefix - 1, index).ptr;
        *end++ = ',';
        const size_t p = static_cast<size_t>(end - prefix);
        return length > p + 2 && std::memcmp(line, prefix, p) == 0 && line[length - 2] == '}' &&
               line[length - 1] == '\n' && std::memchr(line, '\n', length - 1) == nullptr;
      });
  std::printf(
      "checking a worker's line costs %.2fx (simdjson) or %.2fx (framing) of formatting it\n",
      valid / hand, framing / hand);
  return 0;
}
