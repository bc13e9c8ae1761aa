#include "config/rate.h"

#include <cmath>
#include <string>

#include "config/toml_text.h"

namespace shoal {

Result<uint64_t> ParseRateInterval(std::string_view text) {
  if (text.empty() || text == "0") return uint64_t{0};
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::Error("rate " + Quote(text) + " has no unit (/s, /m or /h)");
  }
  const std::string_view number = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  const double unit_ns = unit == "s" ? 1e9 : unit == "m" ? 60e9 : unit == "h" ? 3600e9 : 0;
  if (unit_ns == 0) {
    return Status::Error("rate " + Quote(text) + " has an unknown unit " + Quote(unit) +
                         "; use /s, /m or /h");
  }
  // Digits with at most one '.', nothing else (no sign, no exponent).
  double n = 0, scale = 0;
  bool digits = false;
  for (char c : number) {
    if (c == '.' && scale == 0) {
      scale = 1;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (scale == 0) {
        n = n * 10 + (c - '0');
      } else {
        scale /= 10;
        n += (c - '0') * scale;
      }
    } else {
      digits = false;
      break;
    }
  }
  if (!digits)
    return Status::Error(Quote(text) + " is not a rate: a number of calls, /s, /m or /h");
  if (n == 0) return uint64_t{0};
  if (n * 1e9 / unit_ns > 1e6) {
    return Status::Error("rate " + Quote(text) + " is over 1000000/s");
  }
  const double interval = std::round(unit_ns / n);
  if (interval > 1e18) return Status::Error("rate " + Quote(text) + " is too slow");
  return static_cast<uint64_t>(interval);
}

}  // namespace shoal
