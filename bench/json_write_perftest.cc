// Why the master formats its records by hand (common/json.h's JsonObject):
// formats N records like those of a sha256 run both with JsonObject and with
// nlohmann::json (object built, then dump()), and prints records/s of each,
// best of a few rounds. The records are appended to one buffer, flushed
// (cleared) every MiB, as the master's RecordFile does.
//
// usage: json_write_perftest [N]      (default 1000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

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

template <typename Format>
double Measure(const char* name, uint64_t n, Format format) {
  double best = 1e30;
  size_t bytes = 0;
  for (int round = 0; round < 3; ++round) {
    std::string buffer;
    bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 1; i <= n; ++i) {
      format(FieldsOf(i), &buffer);
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
  return 0;
}
