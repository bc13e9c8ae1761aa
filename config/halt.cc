#include "config/halt.h"

#include <charconv>
#include <cstdio>

#include "config/toml_text.h"

namespace shoal {
namespace {

Status Bad(std::string_view text, const std::string& why) {
  return Status::Error("job.halt " + Quote(text) + " " + why);
}

}  // namespace

Result<HaltRule> ParseHalt(std::string_view text) {
  HaltRule rule;
  rule.source = "job.halt = " + std::string(text);
  if (text == "never" || text == "0" || text.empty()) return rule;
  if (text == "1" || text == "2") {
    rule.when = text == "1" ? HaltWhen::kSoon : HaltWhen::kNow;
    rule.count = 1;
    return rule;
  }
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) {
    return Bad(text, "is not \"never\" or WHEN,WHAT=N (e.g. \"now,fail=1\")");
  }
  const std::string_view when = text.substr(0, comma);
  if (when == "soon") {
    rule.when = HaltWhen::kSoon;
  } else if (when == "now") {
    rule.when = HaltWhen::kNow;
  } else {
    return Bad(text, "starts with " + Quote(when) + "; WHEN is \"soon\" or \"now\"");
  }
  const std::string_view what_n = text.substr(comma + 1);
  const size_t eq = what_n.find('=');
  const std::string_view what = what_n.substr(0, eq);
  if (what == "fail") {
    rule.on = HaltOn::kFail;
  } else if (what == "success") {
    rule.on = HaltOn::kSuccess;
  } else if (what == "done") {
    rule.on = HaltOn::kDone;
  } else {
    return Bad(text, "halts on " + Quote(what) + "; WHAT is \"fail\", \"success\" or \"done\"");
  }
  std::string_view n = eq == std::string_view::npos ? "" : what_n.substr(eq + 1);
  const bool percent = n.ends_with('%');
  if (percent) n.remove_suffix(1);
  const char* end = n.data() + n.size();
  if (percent) {
    if (rule.on == HaltOn::kDone) {
      return Bad(text,
                 "is a share of the input, which shoal streams without counting it first; "
                 "write a count, e.g. \"soon,done=100\"");
    }
    double p = 0;
    auto [ptr, ec] = std::from_chars(n.data(), end, p, std::chars_format::fixed);
    if (n.empty() || ec != std::errc() || ptr != end || !(p > 0 && p <= 100)) {
      return Bad(text, "needs a percentage above 0% and at most 100%");
    }
    rule.percent = p;
    return rule;
  }
  uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(n.data(), end, count);
  if (n.empty() || ec != std::errc() || ptr != end || count == 0) {
    return Bad(text, "needs a count of 1 or more or a percentage after '=', e.g. " +
                         std::string(what) + "=1 or " + std::string(what) + "=20%");
  }
  rule.count = count;
  return rule;
}

HaltRule HaltRuleOf(const JobSettings& job) {
  // Checked when the settings were loaded: a rule that does not parse here
  // was not loaded from a file, and means none.
  Result<HaltRule> halt = ParseHalt(job.halt);
  if (halt.ok() && halt->when != HaltWhen::kNever) return *halt;
  HaltRule rule;
  if (job.max_failures > 0 || job.max_failures_percent > 0) {
    rule.when = HaltWhen::kSoon;
    rule.count = static_cast<uint64_t>(job.max_failures);
    rule.percent = job.max_failures_percent;
    char buf[64];
    std::snprintf(buf, sizeof buf, job.max_failures_percent > 0 ? "%g%%" : "%.0f",
                  job.max_failures_percent > 0 ? job.max_failures_percent
                                               : static_cast<double>(job.max_failures));
    rule.source = "job.max_failures = " + std::string(buf);
  }
  return rule;
}

}  // namespace shoal
