// The time the scheduler decides by. Injected, so that retries, backoff,
// timeouts and grace periods are unit-tested with a clock that a test moves
// (LevelDB's Env::NowMicros, ninja's fake runner) rather than by sleeping.
#pragma once

#include <time.h>

#include <cstdint>

#include "common/channel.h"

namespace shoal {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; only differences mean anything.
  virtual uint64_t NowNs() const = 0;
  // Unix time in milliseconds of `ns`, a time on this clock: what the
  // records' start_ms says.
  virtual int64_t UnixMs(uint64_t ns) const = 0;
};

// CLOCK_MONOTONIC, the clock the workers stamp their items with.
// Wall time is its time plus the offset of CLOCK_REALTIME read once: a
// run's records stay in order even when the wall clock is set mid-run.
class MonotonicClock final : public Clock {
 public:
  MonotonicClock() {
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    const int64_t now = static_cast<int64_t>(MonotonicNanos());
    unix_offset_ns_ = static_cast<int64_t>(wall.tv_sec) * 1'000'000'000 + wall.tv_nsec - now;
  }
  uint64_t NowNs() const override { return MonotonicNanos(); }
  int64_t UnixMs(uint64_t ns) const override {
    return (static_cast<int64_t>(ns) + unix_offset_ns_) / 1'000'000;
  }

 private:
  int64_t unix_offset_ns_;  // CLOCK_REALTIME - CLOCK_MONOTONIC at construction
};

}  // namespace shoal
