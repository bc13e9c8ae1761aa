// shoal-pyworker.so: shoal-worker as a module of the python executable, for
// handler = "python". The master starts `python -c <kHostCode>` with this
// module and the worker's arguments (job/python_job.h); the code loads the
// module with ctypes.PyDLL, which keeps the GIL held for the call, and calls
// shoal_worker_main. From there the worker is shoal-worker's own code: it
// loads shoal-python-hosted.so as its plugin, which finds the interpreter
// already running and calls the user's function in it.
//
// Why: Debian's python executable is built with profile-guided and link-time
// optimisation, libpython3.x.so is not, and the user's function runs about a
// fifth slower in libpython (bench/README.md). multiprocessing runs it in the
// executable; so does shoal now.
#include "worker/plugin_handler.h"
#include "worker/worker_loop.h"

namespace shoal {

// This module only ever runs handler = "python", so it makes that handler
// alone. Defined here, this MakeHandler is the one the link takes, and the
// static library's (worker/handler.cc, every handler) is never pulled in:
// nor are the other handlers, and with --as-needed (CMakeLists.txt) neither
// their libraries. libcurl and the ~30 libraries it loads cost each python
// worker 5-7 ms of start-up (bench/README.md).
Result<std::unique_ptr<Handler>> MakeHandler(const HandlerContext& context) {
  if (context.settings.job.handler != HandlerKind::kPython) {
    return Status::Error("shoal-pyworker.so runs job.handler = \"python\" only");
  }
  return MakePythonHandler(context);
}

}  // namespace shoal

extern "C" __attribute__((visibility("default"))) int shoal_worker_main(int argc, char** argv) {
  return shoal::WorkerMain(argc, argv);
}
