// The `plugin` handler: a user's shared library (include/shoal/plugin.h),
// loaded once per worker and called in process for each item.
//
// MakePluginHandler dlopens plugin.library (RTLD_NOW | RTLD_LOCAL: every
// symbol resolved at load, none leaked to other libraries), looks up
// shoal_plugin_v1, checks abi_version and calls init with plugin.config. Any
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
#include <string>

#include "common/status.h"
#include "worker/handler.h"

namespace shoal {

Result<std::unique_ptr<Handler>> MakePluginHandler(const HandlerContext& context);

// What can be checked in the master before anything runs: the library exists,
// loads, exports shoal_plugin_v1 and speaks this ABI version (init is not
// called). A failure is a bad setting: exit 2, no run directory.
Status CheckPluginLibrary(const std::string& library);

}  // namespace shoal
