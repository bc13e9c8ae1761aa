// job.rate: how often the master may hand out a task, for the whole run
// ("50/s", "600/m", "3600/h"; "0" = no limit). In config/ because the
// settings check parses it; the scheduler uses the same parser, so a rate
// the check accepts is the rate that runs.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace shoal {

// The least time between two hand-outs, in nanoseconds; 0 = no limit.
// "N/s", "N/m", "N/h" with N a decimal number (0.5/s is one every 2 s), at
// most 1,000,000/s; "0", "" and "0/s" are no limit.
Result<uint64_t> ParseRateInterval(std::string_view text);

}  // namespace shoal
