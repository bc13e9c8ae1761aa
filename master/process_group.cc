#include "master/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "common/fd.h"

namespace shoal {

namespace {

// Skips spaces, then reads one decimal number.
bool NextNumber(std::string_view& text, long* value) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  if (ec != std::errc() || end == text.data()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

// The whole of a small /proc file, opened relative to the process's
// directory so that a pid reused in between cannot answer for it.
bool ReadAt(int dir, const char* name, std::string* text) {
  UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buffer[4096];
  text->clear();
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      text->append(buffer, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n == 0 && !text->empty();
    }
  }
}

// The real uid from the "Uid:" line of /proc/<pid>/status.
std::optional<uid_t> RealUid(std::string_view status) {
  size_t at = status.find("\nUid:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + 5);
  while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) rest.remove_prefix(1);
  unsigned long uid = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), uid);
  if (ec != std::errc() || end == rest.data()) return std::nullopt;
  return static_cast<uid_t>(uid);
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  size_t open = text.find(" (");
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(close + 1);
  if (rest.size() < 3 || rest[0] != ' ' || rest[2] != ' ') return std::nullopt;
  ProcStat stat;
  stat.state = rest[1];
  rest.remove_prefix(2);
  long ppid = 0, pgrp = 0;
  if (!NextNumber(rest, &ppid) || !NextNumber(rest, &pgrp)) return std::nullopt;
  stat.ppid = static_cast<pid_t>(ppid);
  stat.pgrp = static_cast<pid_t>(pgrp);
  return stat;
}

bool SignalChildGroup(pid_t worker_pid, int32_t pgid, int sig) {
  if (pgid <= 1 || worker_pid <= 1 || pgid == ::getpgrp() || pgid == ::getpid()) return false;
  UniqueFd dir(
      ::open(("/proc/" + std::to_string(pgid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return false;
  std::string text;
  if (!ReadAt(dir.get(), "stat", &text)) return false;
  std::optional<ProcStat> stat = ParseProcStat(text);
  if (!stat || stat->pgrp != pgid || stat->ppid != worker_pid) return false;
  if (!ReadAt(dir.get(), "status", &text) || RealUid(text) != ::getuid()) return false;
  return ::kill(-pgid, sig) == 0;
}

}  // namespace shoal
