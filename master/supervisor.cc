#include "master/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

extern char** environ;

namespace shoal {

namespace {
constexpr int kWakeFdInWorker = 3;
}

Supervisor::Supervisor(std::string worker_exe, std::string segment, std::string run_dir,
                       int wake_fd, std::string settings_digest)
    : worker_exe_(std::move(worker_exe)),
      segment_(std::move(segment)),
      run_dir_(std::move(run_dir)),
      wake_fd_(wake_fd),
      settings_digest_(std::move(settings_digest)) {}

std::string Supervisor::DefaultWorkerExe() {
  if (const char* env = std::getenv("SHOAL_WORKER"); env != nullptr && *env != '\0') return env;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "shoal-worker";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "shoal-worker";
}

Result<WorkerProcess> Supervisor::Start(int slot) {
  std::vector<std::string> args = {"shoal-worker",
                                   segment_,
                                   std::to_string(slot),
                                   run_dir_,
                                   std::to_string(kWakeFdInWorker),
                                   std::to_string(::getpid()),
                                   settings_digest_};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // dup2 clears close-on-exec on the copy: the wake eventfd is the one fd
  // the worker inherits (wake_fd_ is never 3 itself, see Master).
  posix_spawn_file_actions_adddup2(&actions, wake_fd_, kWakeFdInWorker);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, worker_exe_.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("cannot start worker " + worker_exe_, rc);

  // The child is ours and unreaped, so its pid cannot be reused before this.
  // A pidfd is always close-on-exec.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    Reap(pid);
    return Status::FromErrno("pidfd_open", err);
  }
  WorkerProcess wp;
  wp.pid = pid;
  wp.pidfd.Reset(pidfd);
  return wp;
}

int Supervisor::Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 0;
  }
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

}  // namespace shoal
