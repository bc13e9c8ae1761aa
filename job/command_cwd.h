// command.cwd, the directory every command of a job starts in. A cwd with
// placeholders ("{dir}") is expanded per item and can only be judged then; a
// fixed one is the same for every item, so it is checked once, before anything
// runs: by the master (and `shoal check`) to refuse the job, and by the command
// handler in each worker, with this one function.
#pragma once

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// True when command.cwd holds placeholders (expanded per item).
bool CwdIsTemplate(const CommandSettings& command);

// A fixed command.cwd must be a directory the commands can enter. Its
// failures are bad settings (kUsage: exit 2) naming command.cwd. Ok for an
// empty cwd (the job's own working directory) and for a template.
Status CheckFixedCwd(const CommandSettings& command);

}  // namespace shoal
