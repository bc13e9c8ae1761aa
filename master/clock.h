// The time the scheduler decides by. Injected, so that retries, backoff,
// timeouts and grace periods are unit-tested with a clock that a test moves
// (LevelDB's Env::NowMicros, ninja's fake runner) rather than by sleeping.
#pragma once

#include <cstdint>

#include "common/channel.h"

namespace shoal {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; only differences mean anything.
  virtual uint64_t NowNs() const = 0;
};

// CLOCK_MONOTONIC, the clock the workers stamp their items with.
class MonotonicClock final : public Clock {
 public:
  uint64_t NowNs() const override { return MonotonicNanos(); }
};

}  // namespace shoal
