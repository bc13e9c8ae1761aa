// The body of a worker process: take tasks from this slot's task ring, run
// the handler on each, publish the outcome (results ring when ok, errors ring
// when failed) and the handler's log lines (logs ring). The worker never holds
// anything the master waits on: if it dies at any instruction, the master
// reads what was published and gives the rest another attempt.
#pragma once

#include <string>

namespace shoal {

struct WorkerArgs {
  std::string segment;  // shared-memory name
  int slot = 0;         // 0-based; {worker} is slot + 1
  std::string run_dir;  // holds settings.toml, the effective settings
  int wake_fd = -1;     // eventfd that wakes the master
  int master_pid = 0;
};

// Exit status of the worker process: 0 after an orderly shutdown.
inline constexpr int kWorkerStartFailed = 3;
inline constexpr int kWorkerMasterGone = 4;

int RunWorker(const WorkerArgs& args);

}  // namespace shoal
