// Fuzzes the ring records: every input is a payload offered to DecodeTask,
// DecodeOutcome and DecodeLog, as a misbehaving worker (or a torn ring)
// could offer it. They must never crash or read past the payload (libFuzzer
// hands over a heap buffer of exactly `size` bytes, so ASan sees any
// overread), decoded views must lie inside the payload, and a decoded record
// must re-encode into one that decodes to the same fields and re-encodes to
// the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/wire.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "wire_fuzzer: %s\n", what);
  std::abort();
}

void CheckInside(std::string_view view, std::string_view payload) {
  if (view.empty()) return;
  if (view.data() < payload.data() || view.data() + view.size() > payload.data() + payload.size()) {
    Fail("a decoded view points outside the payload");
  }
}

// ms compared as bits: a NaN must come back as the same NaN.
bool SameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool Same(const shoal::TaskRecord& a, const shoal::TaskRecord& b) {
  return a.seq == b.seq && a.index == b.index && a.attempt == b.attempt && a.item == b.item;
}

bool Same(const shoal::OutcomeRecord& a, const shoal::OutcomeRecord& b) {
  return a.seq == b.seq && a.ok == b.ok && a.exit_code == b.exit_code && a.signal == b.signal &&
         SameBits(a.ms, b.ms) && a.reason == b.reason && a.output == b.output &&
         a.output_file == b.output_file && a.stderr_tail == b.stderr_tail;
}

bool Same(const shoal::LogRecord& a, const shoal::LogRecord& b) {
  return a.seq == b.seq && a.index == b.index && a.text == b.text;
}

// Decode `payload`; if it is a record, check views and the round trip.
template <typename Record>
void RoundTrip(std::string_view payload, bool (*decode)(std::string_view, Record*),
               void (*encode)(const Record&, std::string*), const char* name) {
  Record first;
  if (!decode(payload, &first)) return;
  auto inside = [&](const Record& r, std::string_view in) {
    if constexpr (std::is_same_v<Record, shoal::TaskRecord>) {
      CheckInside(r.item, in);
    } else if constexpr (std::is_same_v<Record, shoal::LogRecord>) {
      CheckInside(r.text, in);
    } else {
      CheckInside(r.reason, in);
      CheckInside(r.output, in);
      CheckInside(r.output_file, in);
      CheckInside(r.stderr_tail, in);
    }
  };
  inside(first, payload);
  std::string encoded = "stale bytes the encoder must clear";
  encode(first, &encoded);
  Record second;
  if (!decode(encoded, &second)) {
    std::fprintf(stderr, "wire_fuzzer: %s\n", name);
    Fail("a re-encoded record does not decode");
  }
  inside(second, encoded);
  if (!Same(first, second)) {
    std::fprintf(stderr, "wire_fuzzer: %s\n", name);
    Fail("a re-encoded record decodes to other fields");
  }
  std::string again;
  encode(second, &again);
  if (again != encoded) {
    std::fprintf(stderr, "wire_fuzzer: %s\n", name);
    Fail("encoding is not stable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  RoundTrip<shoal::TaskRecord>(payload, shoal::DecodeTask, shoal::EncodeTask, "task");
  RoundTrip<shoal::OutcomeRecord>(payload, shoal::DecodeOutcome, shoal::EncodeOutcome, "outcome");
  RoundTrip<shoal::LogRecord>(payload, shoal::DecodeLog, shoal::EncodeLog, "log");
  return 0;
}
