#include "master/host_gauges.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "common/fd.h"

namespace shoal {
namespace {

// A small /proc file whole (one read: they are generated at once).
std::string ReadProcFile(const char* path) {
  std::string text;
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return text;
  char buf[8192];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n > 0) text.assign(buf, static_cast<size_t>(n));
  return text;
}

}  // namespace

std::optional<uint64_t> ParseMemAvailable(std::string_view meminfo) {
  // "MemAvailable:    1234567 kB"
  constexpr std::string_view kKey = "MemAvailable:";
  size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) return std::nullopt;
  std::string_view rest = meminfo.substr(at + kKey.size());
  rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
  uint64_t kb = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kb);
  if (ec != std::errc() || ptr == rest.data()) return std::nullopt;
  return kb * 1024;
}

std::optional<double> ParseLoadAverage(std::string_view loadavg) {
  // "0.42 0.37 0.30 1/123 4567"
  double load = 0;
  auto [ptr, ec] = std::from_chars(loadavg.data(), loadavg.data() + loadavg.size(), load,
                                   std::chars_format::fixed);
  if (ec != std::errc() || ptr == loadavg.data()) return std::nullopt;
  return load;
}

std::optional<uint64_t> ProcHostGauges::MemAvailableBytes() const {
  return ParseMemAvailable(ReadProcFile("/proc/meminfo"));
}

std::optional<double> ProcHostGauges::LoadAverage1() const {
  return ParseLoadAverage(ReadProcFile("/proc/loadavg"));
}

int ProcHostGauges::OnlineCores() const {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace shoal
