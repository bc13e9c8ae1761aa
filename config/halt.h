// job.halt: when a run stops early, GNU parallel's --halt. "never", or
// WHEN,WHAT=N with WHEN "soon" (start nothing new, let the running items
// finish) or "now" (kill them too), WHAT "fail", "success" or "done" and N a
// count or a percentage ("fail=20%": of the finished items, once enough have
// finished to judge). parallel's 0, 1 and 2 are never, soon,fail=1 and
// now,fail=1. job.max_failures = N is the older spelling of soon,fail=N. In
// config/ because the settings check parses it; the scheduler uses the same
// parser, so the rule the check accepts is the rule that runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

enum class HaltWhen { kNever, kSoon, kNow };
enum class HaltOn { kFail, kSuccess, kDone };

struct HaltRule {
  HaltWhen when = HaltWhen::kNever;
  HaltOn on = HaltOn::kFail;
  uint64_t count = 0;  // items, when percent == 0
  double percent = 0;  // > 0: a share of the finished items
  std::string source;  // "job.halt = now,fail=1" or "job.max_failures = 5", for messages
};

Result<HaltRule> ParseHalt(std::string_view text);

// The rule a run halts by: job.halt, or else job.max_failures as
// soon,fail=N (the reader refuses both at once).
HaltRule HaltRuleOf(const JobSettings& job);

}  // namespace shoal
