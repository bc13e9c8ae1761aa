// How much of the machine a run takes, as the settings spell it: job.workers
// relative to the online cores (GNU parallel's -j 50%, -j +2, -j -1), and the
// host limits under which no new item starts, job.memfree (free memory,
// MemAvailable) and job.load (the 1-minute load average). In config/ because
// the settings check parses them; the master and the scheduler use the same
// parsers, so what the check accepts is what runs.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// The most workers a run may have (job.workers' range).
inline constexpr int kMaxWorkers = 4096;

// "N%" of the cores (N > 0, decimals allowed), "+N" more or "-N" fewer than
// them; the text is checked only, the cores are counted when a run starts.
Status CheckWorkerShare(std::string_view share);

// The workers a run on `cores` online cores starts: job.workers_share if
// set (at least 1, at most kMaxWorkers), else job.workers, 0 being one per core.
int ResolveWorkers(const JobSettings& job, int cores);

// job.memfree in bytes: "0" (none), or a whole number with an optional
// K, M, G or T (powers of 1024; a trailing "B" or "iB" too), e.g. "512M", "2G".
Result<uint64_t> ParseMemfree(std::string_view text);

// job.load as a load average: "0" (none), a decimal number above 0 ("4",
// "3.5"), or "N%" of `cores` online cores, as GNU parallel's --load takes
// -j's syntax ("100%": one per core; not rounded, 50% of 3 cores is 1.5).
// The settings check passes cores = 1: it only judges the spelling.
Result<double> ParseLoad(std::string_view text, int cores);

}  // namespace shoal
