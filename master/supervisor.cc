#include "master/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <vector>

extern char** environ;

namespace shoal {

namespace {
constexpr int kWakeFdInWorker = 3;

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}
}  // namespace

Supervisor::Supervisor(std::string worker_exe, std::string segment, std::string run_dir,
                       int wake_fd, std::string settings_digest)
    : worker_exe_(std::move(worker_exe)),
      segment_(std::move(segment)),
      run_dir_(std::move(run_dir)),
      wake_fd_(wake_fd),
      settings_digest_(std::move(settings_digest)) {}

std::string Supervisor::DefaultWorkerExe() {
  Result<std::string> exe = FindWorkerExe();
  return exe.ok() ? *exe : "shoal-worker";
}

Result<std::string> FindWorkerExe() {
  if (const char* env = std::getenv("SHOAL_WORKER"); env != nullptr && *env != '\0') {
    if (IsExecutableFile(env)) return std::string(env);
    return Status::IoError(std::string("SHOAL_WORKER=") + env + " is not an executable file");
  }
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return Status::FromErrno("cannot find shoal-worker: readlink /proc/self/exe", errno);
  const std::filesystem::path dir =
      std::filesystem::path(std::string(buf, static_cast<size_t>(n))).parent_path();
  // SHOAL_LIBEXEC_FROM_BIN: the installed libexec/ relative to bin/
  // (GNUInstallDirs), from master/CMakeLists.txt.
  const std::string candidates[] = {
      (dir / "shoal-worker").string(),
      (dir / SHOAL_LIBEXEC_FROM_BIN / "shoal" / "shoal-worker").lexically_normal().string(),
  };
  for (const std::string& c : candidates) {
    if (IsExecutableFile(c)) return c;
  }
  return Status::IoError("cannot find shoal-worker, the program that runs the items: looked for " +
                         candidates[0] + " and " + candidates[1] +
                         "; shoal and shoal-worker are installed together: reinstall shoal, or "
                         "put shoal-worker in one of those places");
}

Result<WorkerProcess> Supervisor::Start(int slot) {
  std::vector<std::string> args = host_;
  args.insert(args.end(),
              {"shoal-worker", segment_, std::to_string(slot), run_dir_,
               std::to_string(kWakeFdInWorker), std::to_string(::getpid()), settings_digest_});
  const std::string& exe = host_.empty() ? worker_exe_ : host_[0];
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
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("cannot start worker " + exe, rc);

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
