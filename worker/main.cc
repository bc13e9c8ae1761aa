// shoal-worker: started by the master, one per slot. Not meant to be run by hand.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "worker/worker_loop.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: shoal-worker SEGMENT SLOT RUN_DIR WAKE_FD MASTER_PID SETTINGS_SHA256\n"
                 "(started by 'shoal run'; not meant to be run by hand)\n");
    return 2;
  }
  shoal::WorkerArgs args;
  args.segment = argv[1];
  args.slot = std::atoi(argv[2]);
  args.run_dir = argv[3];
  args.wake_fd = std::atoi(argv[4]);
  args.master_pid = std::atoi(argv[5]);
  args.settings_digest = argv[6];
  return shoal::RunWorker(args);
}
