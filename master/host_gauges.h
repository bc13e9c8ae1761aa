// What the scheduler reads of the machine for job.memfree and job.load:
// free memory, the load average and the online cores (job.load = "N%"). Behind an interface, so
// that the scheduler's decisions are tested with a fake (master/scheduler_test.cc) and the
// scheduler itself never touches the OS.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace shoal {

class HostGauges {
 public:
  virtual ~HostGauges() = default;
  // Bytes available for new work without swapping (MemAvailable); nullopt
  // when it cannot be read.
  virtual std::optional<uint64_t> MemAvailableBytes() const = 0;
  // The 1-minute load average; nullopt when it cannot be read.
  virtual std::optional<double> LoadAverage1() const = 0;
  // The online cores, at least 1.
  virtual int OnlineCores() const = 0;
};

// /proc/meminfo and /proc/loadavg, read at each call; sysconf's cores.
class ProcHostGauges final : public HostGauges {
 public:
  std::optional<uint64_t> MemAvailableBytes() const override;
  std::optional<double> LoadAverage1() const override;
  int OnlineCores() const override;
};

// The parsers of those two files' text, for tests.
std::optional<uint64_t> ParseMemAvailable(std::string_view meminfo);
std::optional<double> ParseLoadAverage(std::string_view loadavg);

}  // namespace shoal
