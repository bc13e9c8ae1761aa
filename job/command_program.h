// The program every command of a job runs, command.argv[0]. A program named
// literally is the same for every item, so it is looked for once, before
// anything runs: by the master (and `shoal check`) to refuse a job whose
// program is not there, and by the command handler in each worker, which
// then spawns that file for every item, with these functions.
#pragma once

#include <string>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// The first executable regular file named prog in the directories of
// path_list (':'-separated, "" = the current directory), as execvp would
// find it: 0 and *found, or ENOENT (none) or EACCES (one that is not
// executable). posix_spawnp searches the PATH of this process; this one
// takes the PATH a job gives in command.env.
int SearchPath(const std::string& prog, const std::string& path_list, std::string* found);

// The PATH the job's commands see: command.env's, else this process's; null
// when neither is set (then the C library's default applies).
const char* JobPath(const CommandSettings& command);

// Refuses (kUsage: exit 2) a command.argv[0] that cannot run: a literal
// name on no directory of the job's PATH, a path that is not an executable
// file (relative to a fixed command.cwd), and one word that holds spaces
// when it is not a program of that name: a command line written for a
// shell, which shoal runs only when asked (command.shell). Ok for
// command.shell, for argv = [] and for a program with placeholders that
// holds no space (judged per item).
Status CheckProgram(const CommandSettings& command);

}  // namespace shoal
