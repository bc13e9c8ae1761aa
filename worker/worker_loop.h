// The body of a worker process: take tasks from this slot's task ring, run
// the handler on each, publish the outcome (results ring when ok, errors ring
// when failed) and the handler's log lines (logs ring). The worker never holds
// anything the master waits on: if it dies at any instruction, the master
// reads what was published and gives the rest another attempt. RunWorker's
// return value is the process's exit status (common/worker_exit.h).
#pragma once

#include <string>

#include "common/worker_exit.h"

namespace shoal {

struct WorkerArgs {
  std::string segment;  // shared-memory name
  int slot = 0;         // 0-based; {worker} is slot + 1
  std::string run_dir;  // holds settings.toml, the effective settings
  int wake_fd = -1;     // eventfd that wakes the master
  int master_pid = 0;
  // SettingsDigest of settings.toml as the master wrote it: the worker runs
  // by exactly those settings or not at all.
  std::string settings_digest;
};

int RunWorker(const WorkerArgs& args);

// shoal-worker's main: the WorkerArgs from argv (see worker/main.cc), then
// RunWorker. Also the entry of shoal-pyworker.so (python/worker_host.cc).
int WorkerMain(int argc, char** argv);

}  // namespace shoal
