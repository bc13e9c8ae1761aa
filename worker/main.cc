// shoal-worker: started by the master, one per slot. Not meant to be run by hand.
#include "worker/worker_loop.h"

int main(int argc, char** argv) {
  return shoal::WorkerMain(argc, argv);
}
