// Starting worker processes. The Supervisor is passive: it spawns and kills,
// and hands back a pidfd that becomes readable when the worker exits; the
// master's event loop waits on those pidfds and calls Reap. Workers are the
// separate executable shoal-worker (posix_spawn, no fork of the master), so
// nothing of the master's state, threads or destructors runs in a child.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/status.h"

namespace shoal {

struct WorkerProcess {
  pid_t pid = 0;
  UniqueFd pidfd;  // readable once the process has exited
};

class Supervisor {
 public:
  // `wake_fd` becomes fd 3 of every worker (the eventfd that wakes the master).
  // `settings_digest`: SettingsDigest of the run's settings.toml as the
  // master wrote it; a worker that reads anything else does not start.
  Supervisor(std::string worker_exe, std::string segment, std::string run_dir, int wake_fd,
             std::string settings_digest);

  // The workers run as `host[0] host[1..] ARGS` instead of `worker_exe ARGS`
  // (handler = "python": PythonWorkerHost). Empty: worker_exe.
  void set_host(std::vector<std::string> host) { host_ = std::move(host); }

  Result<WorkerProcess> Start(int slot);
  // Collects the exit status of an exited worker (waitpid).
  static int Reap(pid_t pid);

  // FindWorkerExe's answer, or "shoal-worker" when it has none (Start then
  // fails; the runs check FindWorkerExe before they create anything).
  static std::string DefaultWorkerExe();

 private:
  std::string worker_exe_;
  std::string segment_;
  std::string run_dir_;
  int wake_fd_;
  std::string settings_digest_;
  std::vector<std::string> host_;
};

// The shoal-worker executable that the running shoal starts: $SHOAL_WORKER
// when set (tests), else beside the running binary (the build tree), else in
// <exe dir>/SHOAL_LIBEXEC_FROM_BIN/shoal/ (an installed tree, bin/ and
// libexec/shoal/). An error names every place it looked (kIo: the
// installation is broken, not the settings).
Result<std::string> FindWorkerExe();

// "exit 3", "signal 9" for a wait status.
std::string DescribeWaitStatus(int status);

}  // namespace shoal
