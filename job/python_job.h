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

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// The path of the running executable (/proc/self/exe).
Result<std::string> ThisExecutable();

// shoal-python.so in the directory of worker_exe, or a Status saying where it
// was looked for and what to do.
Result<std::string> FindPythonPlugin(const std::string& worker_exe);

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
