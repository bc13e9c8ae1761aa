#include "worker/orphans.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace shoal {
namespace {

// How long EndOrphans keeps at a process that does not die (one stuck in
// the kernel, say), and its pause between rounds.
constexpr int64_t kGiveUpNs = 2'000'000'000;
constexpr long kPauseNs = 1'000'000;

int64_t NowNs() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);  // async-signal-safe
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// getdents64's record; glibc has no declaration of it.
struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// The parent pid in /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may
// hold spaces and parentheses, so it is found after the last ')'); -1 if the
// process is gone. `path` is "/proc/<pid>/stat".
pid_t ParentOf(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = nullptr;
  for (const char* c = buf; *c != '\0'; ++c) {
    if (*c == ')') p = c;
  }
  if (p == nullptr || p[1] != ' ' || p[2] == '\0' || p[3] != ' ') return -1;
  pid_t ppid = 0;
  for (p += 4; *p >= '0' && *p <= '9'; ++p) ppid = ppid * 10 + (*p - '0');
  return ppid;
}

// SIGKILLs every process whose parent is `self`; returns how many.
int KillChildrenOf(pid_t self) {
  int proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return 0;
  int killed = 0;
  alignas(Dirent64) char buf[8192];
  for (;;) {
    long n = ::syscall(SYS_getdents64, proc, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      const Dirent64* d = reinterpret_cast<const Dirent64*>(buf + at);
      at += d->d_reclen;
      pid_t pid = 0;
      const char* c = d->d_name;
      for (; *c >= '0' && *c <= '9'; ++c) pid = pid * 10 + (*c - '0');
      if (*c != '\0' || pid <= 0) continue;  // not a process
      char path[32] = "/proc/";
      size_t len = 6;
      for (const char* s = d->d_name; *s != '\0' && len < 20; ++s) path[len++] = *s;
      for (const char* s = "/stat"; *s != '\0'; ++s) path[len++] = *s;
      path[len] = '\0';
      if (ParentOf(path) == self && ::kill(pid, SIGKILL) == 0) ++killed;
    }
  }
  ::close(proc);
  return killed;
}

}  // namespace

bool BecomeSubreaper() {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

int EndOrphans() {
  const int saved_errno = errno;  // a signal handler must leave errno as it was
  const pid_t self = ::getpid();
  int reaped = 0;
  int64_t give_up = 0;
  for (;;) {
    pid_t pid;
    while ((pid = ::waitpid(-1, nullptr, WNOHANG)) > 0) ++reaped;
    if (pid < 0 && errno == ECHILD) break;  // no child left at all
    if (pid < 0 && errno != EINTR) break;
    if (give_up == 0) {
      give_up = NowNs() + kGiveUpNs;  // the clock is read only when there are children
    } else if (NowNs() > give_up) {
      break;
    }
    // Children still run: kill them. Those they leave become ours when they
    // die, and the next round finds them.
    KillChildrenOf(self);
    timespec pause{0, kPauseNs};
    ::nanosleep(&pause, nullptr);
  }
  errno = saved_errno;
  return reaped;
}

}  // namespace shoal
