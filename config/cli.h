// The command line (Boost.Program_options). Parsing only: the
// verbs are carried out by master/. Options that set a key become Overrides,
// so the command line wins over settings.toml through one mechanism.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/load.h"

namespace shoal {

enum class Verb { kRun, kRetry, kResume, kCheck, kInit, kMerge, kSlurm, kReport, kHelp, kVersion };

// shoal slurm, and shoal retry --shards: how the sbatch scripts are written.
struct SlurmCommandLine {
  int shards = 0;  // --shards N; 0 = not given (retry then runs here)
  std::string partition;
  std::string time;
  int cpus_per_task = 0;                 // 0 = Slurm's default
  std::vector<std::string> sbatch_args;  // --sbatch=ARG, each an #SBATCH line
  bool submit = false;
  bool wait = false;  // with submit: until the merge job has ended
};

struct CommandLine {
  Verb verb = Verb::kHelp;
  std::string help_topic;             // verb named with --help ("run"), "settings", or ""
  std::string settings_path;          // run/check/slurm: default "settings.toml"
  bool settings_given = false;        // the user named a settings file
  std::string run_dir;                // retry/resume/report
  bool open = false;                  // report --open
  bool force = false;                 // resume --force: run a Slurm retry's items here
  bool link = false;                  // --link: every ::: source as if after :::+
  std::string arg_file;               // -a FILE: the one-line form's :::: FILE
  std::vector<std::string> run_dirs;  // merge: the shard run directories
  std::string merge_dir;              // merge: -o DIR
  SlurmCommandLine slurm;             // slurm, retry --shards
  std::string init_path;              // init: default "settings.toml"
  HandlerKind init_handler = HandlerKind::kCommand;  // init --handler
  std::vector<Override> overrides;
  std::string items_file;  // --items FILE ("" = none, "-" = stdin)
  bool dry_run = false;
  int progress = -1;  // -1 auto (terminal), 0 off, 1 on
  bool quiet = false;
  int verbose = 0;
  // The one-line form, shoal [OPTIONS] COMMAND [ARGS...] [::: ITEMS... |
  // :::: FILE]: verb is kRun, `overrides` start with what makes the words a
  // job (handler, command.argv, output.print, ...), then the options typed.
  bool one_line = false;
  std::vector<std::string> command;  // as run: " {}" appended when no word has a placeholder
  std::vector<std::string> items;    // ::: ITEMS, to be stored as the input
  std::string items_path;            // :::: FILE, or "-" (stdin) when no ::: was given
  // Several ::: sources: the items are the records of ForEachProductRecord,
  // {1} {2} ... their values (input.delimiter = " "); `items` is then empty.
  // linked[i]: source i came after :::+, zipped with the one before it.
  std::vector<std::vector<std::string>> sources;
  std::vector<bool> linked;
};

// The items of several ::: sources, in GNU parallel's order: the product of
// the groups (a source and the :::+ sources linked to it, zipped), the last
// group varying fastest. Each record holds one value per source, joined by a
// space, a value with a space or a quote CSV-quoted. Streams: memory does not
// grow with the number of records.
void ForEachProductRecord(const CommandLine& cl, const std::function<void(std::string_view)>& fn);

// Whether the text between a pair of braces could be a placeholder's name,
// right or misspelt: only letters, digits, bytes of UTF-8 letters and
// "_-./#%". Braces around anything else ("{print $1}", "{a,b}", "{x=1}")
// are literal text, as GNU parallel passes them (job/template.h).
bool CouldBePlaceholder(std::string_view name);

// Whether a word of a command holds a placeholder ({}, {.}, {1}, {path}):
// braces around a name CouldBePlaceholder accepts, not after '$' (a shell's
// ${VAR}), so awk's '{print $1}' does not.
bool HasPlaceholder(std::string_view word);

// Where a one-line run keeps its run directories: $XDG_STATE_HOME/shoal/runs,
// else $HOME/.local/state/shoal/runs, else ./runs.
std::string OneLineRunsDir(const char* xdg_state_home, const char* home);

// The one-line form's COMMAND quoted as one word, as parallel users write
// it ('convert {} {.}.png'): its words, split at spaces and tabs, when it
// holds nothing a shell would read otherwise (only letters, digits,
// placeholders and _.,:/+-@^=%; no leading VAR=value) and is not a
// program's path; else none, and it stays one word (which the job's check
// refuses, naming --shell).
std::vector<std::string> PlainCommandWords(const std::string& word);

// A one-line run's job.name, which names its run directories: the file name
// of the program's first word ("sh -c 'exit {}'" is "sh"), without its
// placeholders, each run of characters other than letters, digits and ._+-
// as one '-', so that the directory needs no quoting; "shoal" when nothing
// is left.
std::string OneLineJobName(std::string_view program);

// Usage errors come back as a Status whose message ends with a hint
// ("see 'shoal run --help'"); they mean exit 2.
Result<CommandLine> ParseCommandLine(int argc, const char* const* argv);

// Help text for a verb ("" = overview), every option with an example; for
// "settings" the reference of every settings key ("settings --markdown": the
// same as Markdown, the text of docs/settings.md).
std::string HelpText(const std::string& topic);

extern const char kShoalVersion[];

}  // namespace shoal
