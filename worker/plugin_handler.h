// The `plugin` handler: a user's shared library (include/shoal/plugin.h),
// loaded once per worker and called in process for each item.
//
// MakePluginHandler loads plugin.library (job/plugin_library.h: dlopen,
// shoal_plugin_v1, the ABI check) and calls init with plugin.config. Any
// failure there is a Status naming the library and what to do; the worker
// then does not start, and the master stops the run with that message.
//
// Run calls process with a sink whose calls become the Outcome: write appends
// to Outcome.output (past kInlineOutput everything moves to
// {run}/spill/<index>.output, named by Outcome.output_file), log goes to the
// LogSink, fail sets Outcome.reason. The destructor calls finish and unloads
// the library. A crash inside the plugin kills the worker; the master retries
// or fails the item ("worker died: signal N"), as for any worker death.
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/handler.h"

namespace shoal {

Result<std::unique_ptr<Handler>> MakePluginHandler(const HandlerContext& context);

// handler = "python": the same handler over shoal-python.so (python/), found
// beside this worker executable, with [python] as its config
// (job/python_job.h).
Result<std::unique_ptr<Handler>> MakePythonHandler(const HandlerContext& context);

}  // namespace shoal
