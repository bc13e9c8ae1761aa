// What the http handler makes of a response: the sets of statuses that
// succeed (http.success) and of failures that get another attempt
// (http.retry_on), and the Retry-After a server sends with a 429 or a 503.
// In config/ because the settings check parses the sets; the worker uses
// the same parser, so a set the check accepts is the set that runs.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace shoal {

class HttpStatusSet {
 public:
  // A comma-separated list of codes (404), ranges (200-299) and classes
  // (2xx), spaces allowed; with allow_words also "connection" (refused,
  // reset, closed, name not resolved) and "timeout". "" is the empty set.
  static Result<HttpStatusSet> Parse(std::string_view text, bool allow_words);

  bool Contains(int status) const { return status >= 100 && status <= 599 && codes_[status]; }
  bool connection() const { return connection_; }
  bool timeout() const { return timeout_; }

 private:
  std::bitset<600> codes_;
  bool connection_ = false;
  bool timeout_ = false;
};

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date, as a wait in
// milliseconds from now_unix (seconds since the epoch). A date in the past
// is no wait; anything unreadable is nullopt. Capped at a day.
std::optional<uint64_t> ParseRetryAfter(std::string_view value, int64_t now_unix);

}  // namespace shoal
