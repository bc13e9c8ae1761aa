// --dry-run: print what each item would run, shell-quoted, one line each on
// stdout; with command.batch (-X, -m, -n), one line per command line, as a
// worker handed the items at once would split them. Nothing runs and nothing is created (no run directory, no shared
// memory); {run} and {out} name the directory a run started now would create.
// It is the run's own Scheduler over a pool that prints (ninja's
// DryRunCommandRunner): the same input loop, the same resume skip.
#pragma once

#include "config/settings.h"
#include "master/master.h"

namespace shoal {

Result<int> DryRun(const Settings& settings, const RunOptions& options);

}  // namespace shoal
