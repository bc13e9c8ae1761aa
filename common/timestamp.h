// Wall-clock time as shoal writes it in log.txt and item logs.
#pragma once

#include <string>

namespace shoal {

// "2026-11-22T03:15:00.123Z": now, ISO 8601 UTC with milliseconds.
std::string TimestampNow();

// "20261122-031500": now, local time, as run directories are named.
std::string RunStamp();

}  // namespace shoal
