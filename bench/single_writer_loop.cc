// The bound of a design with one writer: one process that reads a list
// (one item per line), times each item (a no-op, as the no-op plugin does)
// and writes the record shoal writes for it to results.jsonl, with the same
// fields, format and formatter (common/json.h), through a 1 MiB write
// buffer. What shoal's master adds to this per item (rings, draining,
// feeding, bookkeeping) is what bench.py's ratio shoal/loop shows.
//
//   single_writer_loop LIST OUT.jsonl
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "common/json.h"

namespace {

constexpr size_t kChunk = 1 << 20;

uint64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool WriteAll(int fd, std::string* buffer) {
  size_t done = 0;
  while (done < buffer->size()) {
    ssize_t n = ::write(fd, buffer->data() + done, buffer->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  buffer->clear();
  return true;
}

// The record of a no-op plugin item, as the master formats it
// (RunDirectory::FormatSuccess): exit 0, one attempt, worker 1, no output.
void FormatRecord(uint64_t index, std::string_view item, double ms, int64_t start_ms,
                  std::string* out) {
  shoal::JsonObject o(out);
  o.Int("index", static_cast<int64_t>(index)).Bytes("item", item).Bytes("status", "ok");
  o.Int("exit", 0).Int("attempts", 1).Int("worker", 1);
  o.Double("ms", ms, 3);
  o.Int("start_ms", start_ms);
  o.Bytes("output", "");
  o.EndLine();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: single_writer_loop LIST OUT.jsonl\n");
    return 2;
  }
  int in = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  int out = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0) {
    std::fprintf(stderr, "single_writer_loop: %s\n", std::strerror(errno));
    return 1;
  }
  // Wall time from the monotonic clock, as shoal turns a worker's start.
  const int64_t offset_ms = static_cast<int64_t>(NowNs(CLOCK_REALTIME) / 1'000'000) -
                            static_cast<int64_t>(NowNs(CLOCK_MONOTONIC) / 1'000'000);
  std::string input, records;
  input.reserve(2 * kChunk);
  records.reserve(kChunk + 4096);
  std::string chunk(kChunk, '\0');
  uint64_t index = 0;
  for (;;) {
    ssize_t n = ::read(in, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "single_writer_loop: read: %s\n", std::strerror(errno));
      return 1;
    }
    const bool eof = n == 0;
    input.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (;;) {
      size_t nl = input.find('\n', start);
      if (nl == std::string::npos) {
        if (!eof || start == input.size()) break;
        nl = input.size();  // a last line without a newline
      }
      std::string_view item(input.data() + start, nl - start);
      start = nl + 1;
      const uint64_t t0 = NowNs(CLOCK_MONOTONIC);
      const double ms = static_cast<double>(NowNs(CLOCK_MONOTONIC) - t0) / 1e6;
      FormatRecord(++index, item, ms, offset_ms + static_cast<int64_t>(t0 / 1'000'000), &records);
      if (records.size() >= kChunk && !WriteAll(out, &records)) {
        std::fprintf(stderr, "single_writer_loop: write: %s\n", std::strerror(errno));
        return 1;
      }
      if (start >= input.size()) break;
    }
    input.erase(0, std::min(start, input.size()));
    if (eof) break;
  }
  if (!WriteAll(out, &records) || ::close(out) != 0) {
    std::fprintf(stderr, "single_writer_loop: write: %s\n", std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "single_writer_loop: %llu records\n",
               static_cast<unsigned long long>(index));
  return 0;
}
