#include "config/http_status.h"

#include <time.h>

#include <charconv>
#include <string>

namespace shoal {
namespace {

constexpr uint64_t kMaxRetryAfterMs = 24ULL * 3600 * 1000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseCode(std::string_view s, int* out) {
  if (s.size() != 3) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && *out >= 100 && *out <= 599;
}

}  // namespace

Result<HttpStatusSet> HttpStatusSet::Parse(std::string_view text, bool allow_words) {
  HttpStatusSet set;
  while (!Trim(text).empty()) {
    const size_t comma = text.find(',');
    const std::string_view part = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    int lo = 0, hi = 0;
    if (allow_words && part == "connection") {
      set.connection_ = true;
      continue;
    }
    if (allow_words && part == "timeout") {
      set.timeout_ = true;
      continue;
    }
    if (part.size() == 3 && part[0] >= '1' && part[0] <= '5' && part.substr(1) == "xx") {
      lo = (part[0] - '0') * 100;
      hi = lo + 99;
    } else if (const size_t dash = part.find('-'); dash != std::string_view::npos) {
      if (!ParseCode(Trim(part.substr(0, dash)), &lo) ||
          !ParseCode(Trim(part.substr(dash + 1)), &hi) || hi < lo) {
        std::string message = "\"";
        message.append(part).append("\" is not a range of statuses like 200-299");
        return Status::Error(message);
      }
    } else if (ParseCode(part, &lo)) {
      hi = lo;
    } else {
      std::string message = "\"";
      message.append(part).append(
          "\" is not a status (100 to 599), a range like 200-299 or a class like 2xx");
      if (allow_words) message.append(", \"connection\" or \"timeout\"");
      return Status::Error(message);
    }
    for (int c = lo; c <= hi; ++c) set.codes_[c] = true;
  }
  return set;
}

std::optional<uint64_t> ParseRetryAfter(std::string_view value, int64_t now_unix) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    uint64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return kMaxRetryAfterMs;
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    return seconds >= kMaxRetryAfterMs / 1000 ? kMaxRetryAfterMs : seconds * 1000;
  }
  // IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the one form servers send
  // (the obsolete ones are not worth a parser of their own).
  struct tm tm {};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const int64_t at = ::timegm(&tm);
  if (at <= now_unix) return 0;
  const uint64_t ms = static_cast<uint64_t>(at - now_unix) * 1000;
  return ms > kMaxRetryAfterMs ? kMaxRetryAfterMs : ms;
}

}  // namespace shoal
