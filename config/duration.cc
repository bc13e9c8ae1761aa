// Durations in settings: "1m30s" <-> milliseconds, exactly.
#include <algorithm>
#include <cstdint>

#include "config/load.h"
#include "config/toml_text.h"

namespace shoal {

Result<Millis> ParseDuration(std::string_view text) {
  const std::string quoted = Quote(text);
  const std::string how = "write a number and a unit (ms, s, m, h), e.g. \"2m\" or \"1.5s\"";
  if (text.empty()) return Status::Error("the duration is empty; " + how);
  if (text[0] == '-') {
    return Status::Error("duration " + quoted +
                         " is negative; write \"0s\" for none, or e.g. \"2m\"");
  }
  // A sum of terms ("1m30s"), each a decimal number and a unit; the fraction
  // is kept in integers so that "0.1s" is exactly 100ms.
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    int64_t whole = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (whole > 1'000'000'000'000)
        return Status::Error("duration " + quoted +
                             " is too long; write a shorter one, e.g. \"48h\"");
      whole = whole * 10 + (text[i++] - '0');
    }
    int64_t fraction = 0;
    int64_t scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (scale < 1'000'000'000) {
          fraction = fraction * 10 + (text[i] - '0');
          scale *= 10;
        }
      }
    }
    const bool has_digits = std::any_of(text.begin() + start, text.begin() + i,
                                        [](char c) { return c >= '0' && c <= '9'; });
    if (!has_digits) return Status::Error(quoted + " is not a duration; " + how);
    const size_t unit_start = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) {
      ++i;
    }
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i == text.size()) {
        return Status::Error("duration " + quoted + " has no unit; write e.g. \"" +
                             std::string(text) + "s\" (units: ms, s, m, h)");
      }
      return Status::Error(quoted + " is not a duration; " + how);
    }
    const int64_t unit_ms = unit == "ms"  ? 1
                            : unit == "s" ? 1000
                            : unit == "m" ? 60'000
                            : unit == "h" ? 3'600'000
                                          : 0;
    if (unit_ms == 0) {
      return Status::Error("duration " + quoted + " has an unknown unit " + Quote(unit) +
                           "; use ms, s, m or h, e.g. \"2m\"");
    }
    int64_t term = 0;
    if (__builtin_mul_overflow(whole, unit_ms, &term) ||
        __builtin_add_overflow(term, (fraction * unit_ms + scale / 2) / scale, &term) ||
        __builtin_add_overflow(total, term, &total)) {
      return Status::Error("duration " + quoted +
                           " is too long; write a shorter one, e.g. \"48h\"");
    }
  }
  return Millis(total);
}

std::string FormatDuration(Millis duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const int64_t h = ms / 3'600'000;
  const int64_t m = ms / 60'000 % 60;
  const int64_t s = ms / 1000 % 60;
  const int64_t rest = ms % 1000;
  if (h != 0) out += std::to_string(h) + "h";
  if (m != 0) out += std::to_string(m) + "m";
  if (s != 0 && rest != 0) {
    std::string frac = std::to_string(1000 + rest).substr(1);
    while (frac.back() == '0') frac.pop_back();
    out += std::to_string(s) + "." + frac + "s";
  } else if (s != 0) {
    out += std::to_string(s) + "s";
  } else if (rest != 0) {
    out += std::to_string(rest) + "ms";
  }
  return out;
}

}  // namespace shoal
