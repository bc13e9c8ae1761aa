// handler = "python" as the plugin it is: shoal-python.so (python/), a plugin
// over include/shoal/plugin.h that embeds CPython, so that neither shoal nor
// shoal-worker links libpython. It is installed beside shoal-worker
// (libexec/shoal/, or build/ in the build tree) and found there.
//
// The worker loads it through the plugin handler with PythonPluginConfig as
// its config; the master runs the same import once before anything is
// created (CheckPythonJob), so that a module that cannot be imported is a
// bad setting (exit 2) and not a run that stops at its first worker.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// The path of the running executable (/proc/self/exe).
Result<std::string> ThisExecutable();

// Which build of the plugin (python/CMakeLists.txt): shoal-python.so embeds
// CPython (shoal-worker, the master's import check); shoal-python-hosted.so
// runs in a worker that the python executable hosts (PythonWorkerHost).
enum class PythonPlugin { kEmbedded, kHosted };

// The plugin in directory `dir` (shoal-worker's), or a Status saying where it
// was looked for and what to do.
Result<std::string> FindPythonPlugin(const std::string& dir,
                                     PythonPlugin which = PythonPlugin::kEmbedded);

// handler = "python": the start of the argv that runs a worker inside the
// python executable (python.executable, else $VIRTUAL_ENV/bin/python, else
// the python whose libpython shoal embeds), the worker's own arguments to
// follow; empty when this build has no shoal-pyworker.so beside worker_exe
// (a sanitizer build) or that python is not there: the workers are then
// shoal-worker with CPython embedded. The user's function runs about a fifth
// faster in the executable's build of the interpreter.
std::vector<std::string> PythonWorkerHost(const Settings& s, const std::string& worker_exe);

// [python] as shoal-python.so's plugin config: module, path, function,
// executable (python.executable, else $VIRTUAL_ENV/bin/python when set),
// check ("1": import only, the master's check) and config.KEY for each
// python.config entry.
std::map<std::string, std::string> PythonPluginConfig(const Settings& s, bool check_only);

// Imports python.module and finds python.function in a child process (the
// master is single-threaded here, and the interpreter must not live in it):
// a failure is a bad setting with the Python error.
Status CheckPythonJob(const Settings& s, const std::string& worker_exe);

}  // namespace shoal
