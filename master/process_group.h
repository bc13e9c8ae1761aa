// Signalling the process group of the command a worker runs. The master
// learns that group from shared memory (WorkerControl::child_pgid), which the
// worker writes and may have scribbled over: 1, 0, a negative number, another
// user's group or a pid that has since been reused. So the group is checked
// against /proc before any signal goes to it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace shoal {

// The fields of /proc/<pid>/stat that the check needs.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

// Parses the text of /proc/<pid>/stat. The command name comes second, in
// parentheses, and may itself hold spaces and ')': the fields after it start
// at the last ')'. nullopt when the text is not of that shape.
std::optional<ProcStat> ParseProcStat(std::string_view text);

// Sends `sig` to the process group `pgid` only if it is the group of a command
// that `worker_pid` runs: pgid > 1 and not our own group; the process `pgid`
// exists (a zombie counts: its group may still hold grandchildren), leads its
// own group, is a child of `worker_pid`, and its real uid is ours. Returns
// whether the signal was sent. The worker reaps its command only after the
// output is drained, so a leader checked here keeps its pid until then.
bool SignalChildGroup(pid_t worker_pid, int32_t pgid, int sig);

}  // namespace shoal
