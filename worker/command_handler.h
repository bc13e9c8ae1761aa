// The `command` handler: one child process per item.
//
// Built once per worker: the argv templates are validated, the environment
// block (this process's environ + command.env), the working directory and the
// spawn attributes are prepared there. Per item, argv is expanded and run
// directly (posix_spawnp, PATH search) or, with command.shell or an empty argv,
// by /bin/sh -c. The child gets its own process group, an empty signal mask,
// default SIGINT/SIGTERM/SIGPIPE/SIGCHLD/SIGHUP/SIGQUIT, stdin from /dev/null,
// and stdout/stderr on pipes that Run drains until EOF before reaping, so
// output of any size never deadlocks and memory stays bounded (large stdout
// spills to {run}/spill/<index>.stdout).
//
// On timeout (job.timeout) or when HandlerContext::stop_fd becomes readable,
// the whole process group gets SIGTERM, then SIGKILL after kKillGrace. Processes
// still holding the pipes kOrphanGrace after the command itself exited are
// ended the same way: an item's processes do not outlive it while they hold
// its output. Processes that left the pipes and the group are not chased.
//
// With output.item_logs, each item also gets a transcript inside the run
// directory, logs/<rel>.log (tree) or logs/<index>.log (list): the command line
// (shell-quoted), start time, stdout (unless command.stdout = "file", which
// has its own file; with "discard" the log is where it is kept) and stderr
// streamed as whole lines in arrival order under "--- stdout ---" and
// "--- stderr ---" markers, then the end time, exit code or signal and
// status. A log that cannot be created fails the item before it runs.
#pragma once

#include <chrono>
#include <memory>

#include "common/status.h"
#include "worker/handler.h"

namespace shoal {

inline constexpr std::chrono::milliseconds kKillGrace{2000};
inline constexpr std::chrono::milliseconds kOrphanGrace{2000};

// A command.cwd with placeholders ("{dir}") is expanded per item; a chdir
// that fails then fails only that item.
//
// Fails (a settings error, before any item runs) on a bad template, shell =
// true with more than one argv string, or a fixed cwd that is not a directory.
Result<std::unique_ptr<Handler>> MakeCommandHandler(const HandlerContext& context);

}  // namespace shoal
