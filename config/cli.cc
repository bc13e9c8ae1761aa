// The command line: a verb, then Boost.Program_options for its options. The
// parsed options are walked in the order typed, so "-j 4 --set job.workers=8"
// and "--set job.workers=8 -j 4" mean different things, as a user expects.
#include "config/cli.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <string_view>

namespace shoal {

const char kShoalVersion[] = "0.1.0";

namespace {

namespace po = boost::program_options;

constexpr std::pair<std::string_view, Verb> kVerbs[] = {
    {"run", Verb::kRun},     {"retry", Verb::kRetry}, {"resume", Verb::kResume},
    {"check", Verb::kCheck}, {"init", Verb::kInit},   {"merge", Verb::kMerge},
    {"slurm", Verb::kSlurm},
};

std::vector<std::string> VerbNames() {
  std::vector<std::string> names;
  for (const auto& [name, verb] : kVerbs) names.emplace_back(name);
  return names;
}

bool FindVerb(std::string_view name, Verb* verb) {
  for (const auto& [n, v] : kVerbs) {
    if (n == name) {
      *verb = v;
      return true;
    }
  }
  return false;
}

// No "shoal: " prefix: main puts it before every error it prints.
Status UsageError(const std::string& what, const std::string& topic) {
  return Status::Error(what + "; see 'shoal " + (topic.empty() ? "" : topic + " ") + "--help'");
}

// What each verb accepts. Descriptions live in HelpText, written by hand so
// that every option comes with an example.
po::options_description OptionsFor(Verb verb) {
  po::options_description desc;
  auto add = desc.add_options();
  if (verb == Verb::kMerge) {
    add("output-dir,o", po::value<std::string>(), "");
    add("quiet,q", "");
    add("verbose,v", "");
  } else if (verb != Verb::kInit) {
    add("workers,j", po::value<std::string>(), "");
    add("input,i", po::value<std::string>(), "");
    add("output-dir,o", po::value<std::string>(), "");
    add("set", po::value<std::string>(), "");
    add("quiet,q", "");
    add("verbose,v", "");
  }
  if (verb == Verb::kRun || verb == Verb::kRetry || verb == Verb::kResume) {
    add("items", po::value<std::string>(), "");
    add("dry-run", "");
    add("progress", "");
    add("no-progress", "");
  }
  if (verb == Verb::kRun || verb == Verb::kCheck) add("shard", po::value<std::string>(), "");
  if (verb == Verb::kSlurm || verb == Verb::kRetry) {
    add("shards", po::value<std::string>(), "");
    add("partition", po::value<std::string>(), "");
    add("time", po::value<std::string>(), "");
    add("cpus-per-task", po::value<std::string>(), "");
    add("sbatch", po::value<std::string>(), "");
    add("submit", "");
    add("wait", "");
  }
  add("help,h", "");
  add("version", "");
  add("positional", po::value<std::vector<std::string>>(), "");
  return desc;
}

std::vector<std::string> LongNames(const po::options_description& desc) {
  std::vector<std::string> names;
  for (const auto& option : desc.options()) {
    if (option->long_name() != "positional") names.push_back("--" + option->long_name());
  }
  return names;
}

std::string Joined(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

// A whole number in [lo, hi] for an option such as --shards.
Status ParseCount(const std::string& value, const std::string& option, int lo, int hi,
                  const std::string& verb_name, int* out) {
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  long long n = digits && value.size() <= 9 ? std::stoll(value) : -1;
  if (n < lo || n > hi) {
    return UsageError(option + " takes a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", got '" + value + "'",
                      verb_name);
  }
  *out = static_cast<int>(n);
  return Status::Ok();
}

// Text that goes into an #SBATCH line verbatim: one line, no quotes to
// re-parse, so that an option cannot become a second directive.
Status CheckSbatchText(const std::string& value, const std::string& option,
                       const std::string& verb_name) {
  if (value.empty() || value.find_first_of("\n\r\"'\\") != std::string::npos) {
    return UsageError(
        option + " '" + value + "' must be non-empty, on one line, without quotes or backslashes",
        verb_name);
  }
  return Status::Ok();
}

Status ParseOptions(const std::vector<std::string>& args, const std::string& verb_name,
                    CommandLine* cl, std::vector<std::string>* positionals) {
  const po::options_description desc = OptionsFor(cl->verb);
  po::positional_options_description positional;
  positional.add("positional", -1);
  // No abbreviations: "--work" working today would break when "--workdir" comes.
  const int style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
  po::parsed_options parsed(&desc);
  try {
    parsed = po::command_line_parser(args).options(desc).positional(positional).style(style).run();
  } catch (const po::unknown_option& e) {
    const std::string name = e.get_option_name();
    std::string guess = name.starts_with("--") ? DidYouMean(name, LongNames(desc)) : "";
    return UsageError(
        "unknown option '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
        verb_name);
  } catch (const po::invalid_command_line_syntax& e) {
    if (e.kind() == po::invalid_syntax::missing_parameter) {
      return UsageError("option '" + e.get_option_name() + "' needs a value", verb_name);
    }
    if (e.kind() == po::invalid_syntax::extra_parameter) {
      return UsageError("option '" + e.get_option_name() + "' takes no value", verb_name);
    }
    return UsageError(e.what(), verb_name);
  } catch (const po::error& e) {
    return UsageError(e.what(), verb_name);
  }

  for (const po::option& option : parsed.options) {
    const std::string& key = option.string_key;
    const std::string value = option.value.empty() ? "" : option.value.front();
    const std::string origin = Joined(option.original_tokens);
    if (key == "positional") {
      positionals->push_back(value);
    } else if (key == "workers") {
      cl->overrides.push_back(Override{"job.workers", value, true, origin});
    } else if (key == "input") {
      cl->overrides.push_back(Override{"input.path", value, true, origin});
    } else if (key == "output-dir" && cl->verb == Verb::kMerge) {
      cl->merge_dir = value;
    } else if (key == "output-dir") {
      cl->overrides.push_back(Override{"output.dir", value, true, origin});
    } else if (key == "shard") {
      cl->overrides.push_back(Override{"input.shard", value, true, origin});
    } else if (key == "shards") {
      Status st = ParseCount(value, "--shards", 1, 100000, verb_name, &cl->slurm.shards);
      if (!st.ok()) return st;
    } else if (key == "cpus-per-task") {
      Status st =
          ParseCount(value, "--cpus-per-task", 1, 100000, verb_name, &cl->slurm.cpus_per_task);
      if (!st.ok()) return st;
    } else if (key == "partition" || key == "time" || key == "sbatch") {
      Status st = CheckSbatchText(value, "--" + key, verb_name);
      if (!st.ok()) return st;
      if (key == "partition") cl->slurm.partition = value;
      if (key == "time") cl->slurm.time = value;
      if (key == "sbatch") cl->slurm.sbatch_args.push_back(value);
    } else if (key == "submit") {
      cl->slurm.submit = true;
    } else if (key == "wait") {
      cl->slurm.wait = true;
    } else if (key == "set") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return UsageError(
            "--set takes SECTION.KEY=VALUE, got '" + value + "'; e.g. --set job.workers=8",
            verb_name);
      }
      cl->overrides.push_back(Override{value.substr(0, eq), value.substr(eq + 1), false, origin});
    } else if (key == "items") {
      cl->items_file = value;
    } else if (key == "dry-run") {
      cl->dry_run = true;
    } else if (key == "progress") {
      cl->progress = 1;
    } else if (key == "no-progress") {
      cl->progress = 0;
    } else if (key == "quiet") {
      cl->quiet = true;
    } else if (key == "verbose") {
      ++cl->verbose;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine cl;
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  if (args.empty()) return cl;  // the overview, as for --help
  const std::string first = args[0];

  if (first == "--version") {
    cl.verb = Verb::kVersion;
    if (args.size() > 1) return UsageError("unexpected argument '" + args[1] + "'", "");
    return cl;
  }
  if (first == "help" || first == "-h" || first == "--help") {
    cl.verb = Verb::kHelp;
    if (args.size() >= 2 && args[1] == "settings") {
      // Not a command: the reference of every settings key, as text or Markdown.
      if (args.size() > 3 || (args.size() == 3 && args[2] != "--markdown")) {
        return UsageError(
            "unexpected argument '" + args[2] + "', help settings takes only --markdown", "");
      }
      cl.help_topic = args.size() == 3 ? "settings --markdown" : "settings";
      return cl;
    }
    if (args.size() > 2) return UsageError("unexpected argument '" + args[2] + "'", "");
    if (args.size() == 2) {
      Verb verb;
      if (!FindVerb(args[1], &verb) && args[1] != "help") {
        return UsageError("no help for '" + args[1] + "', the commands are " + Joined(VerbNames()),
                          "");
      }
      cl.help_topic = args[1];
    }
    return cl;
  }
  if (!FindVerb(first, &cl.verb)) {
    if (first.starts_with("-")) {
      return UsageError("option '" + first + "' before the command; write the command first, " +
                            "as in 'shoal run " + first + " ...'",
                        "");
    }
    const std::string guess = DidYouMean(first, VerbNames());
    return UsageError("unknown command '" + first + "'" +
                          (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                      "");
  }

  std::vector<std::string> rest(args.begin() + 1, args.end());
  // --help and --version win over anything else typed with them, so that
  // "shoal run --bad --help" shows help rather than an error.
  for (const std::string& arg : rest) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      CommandLine help;
      help.help_topic = first;
      return help;
    }
    if (arg == "--version") {
      CommandLine version;
      version.verb = Verb::kVersion;
      return version;
    }
  }

  std::vector<std::string> positionals;
  Status status = ParseOptions(rest, first, &cl, &positionals);
  if (!status.ok()) return status;

  switch (cl.verb) {
    case Verb::kRun:
    case Verb::kCheck:
    case Verb::kSlurm:
      cl.settings_path = "settings.toml";
      if (positionals.size() > 1) {
        return UsageError(
            "unexpected argument '" + positionals[1] + "', " + first + " takes one SETTINGS file",
            first);
      }
      if (positionals.size() == 1) {
        cl.settings_path = positionals[0];
        cl.settings_given = true;
      }
      break;
    case Verb::kRetry:
    case Verb::kResume:
      if (positionals.empty()) return UsageError(first + " needs a RUN_DIR", first);
      if (positionals.size() > 1) {
        return UsageError(
            "unexpected argument '" + positionals[1] + "', " + first + " takes one RUN_DIR", first);
      }
      cl.run_dir = positionals[0];
      break;
    case Verb::kMerge:
      if (positionals.empty()) {
        return UsageError("merge needs the run directories of the shards", first);
      }
      if (cl.merge_dir.empty()) {
        return UsageError("merge needs -o DIR, the directory to write the merged run to", first);
      }
      cl.run_dirs = positionals;
      break;
    case Verb::kInit:
      cl.init_path = "settings.toml";
      if (positionals.size() > 1) {
        return UsageError("unexpected argument '" + positionals[1] + "', init takes one PATH",
                          first);
      }
      if (positionals.size() == 1) cl.init_path = positionals[0];
      break;
    case Verb::kHelp:
    case Verb::kVersion:
      break;
  }
  if (cl.verb == Verb::kSlurm && cl.slurm.shards == 0) {
    return UsageError("slurm needs --shards N, the number of array tasks", first);
  }
  if (cl.verb == Verb::kRetry && cl.slurm.shards == 0) {
    const SlurmCommandLine& s = cl.slurm;
    if (s.submit || s.wait || !s.partition.empty() || !s.time.empty() || s.cpus_per_task != 0 ||
        !s.sbatch_args.empty()) {
      return UsageError("the Slurm options of retry need --shards N", first);
    }
  }
  if (cl.slurm.wait && !cl.slurm.submit) {
    return UsageError("--wait needs --submit (it waits for the submitted merge job)", first);
  }
  return cl;
}

namespace {

constexpr char kOverview[] = R"(shoal - run one job over many items, on every core

Usage:
  shoal run [SETTINGS] [OPTIONS]     run a job (SETTINGS defaults to ./settings.toml)
  shoal run SETTINGS --items FILE    run only the items listed in FILE (e.g. a failed list)
  shoal retry RUN_DIR [OPTIONS]      re-run the failed items of a finished run, same settings
  shoal resume RUN_DIR [OPTIONS]     finish an interrupted run; items done or failed are skipped
  shoal check [SETTINGS] [OPTIONS]   validate settings, print the effective configuration
  shoal init [PATH]                  write an annotated settings.toml to start from
  shoal slurm SETTINGS --shards N    write (--submit: submit) a Slurm job array over N
                                     shards of the input, and a job that merges them
  shoal merge RUN_DIR... -o DIR      merge the run directories of shards into one
  shoal help COMMAND                 help for one command (also: shoal COMMAND --help)
  shoal help settings                every key of settings.toml: type, default, meaning
  shoal --version                    print the version

Start with:
  shoal init && shoal check && shoal run

Exit status: 0 every item succeeded; 1 at least one item failed; 2 bad usage or
bad settings (nothing ran); 3 internal error; 130 / 143 interrupted by SIGINT /
SIGTERM (the run directory is resumable with 'shoal resume').
)";

constexpr char kOverrideOptions[] = R"(
Settings options (they override settings.toml, in the order given):
  -j, --workers N          job.workers: worker processes; 0 = one per core
                             e.g. -j 16
  -i, --input PATH         input.path: a directory to walk, a list file, or - for stdin
                             e.g. -i ./photos
  -o, --output-dir DIR     output.dir: where run directories are created
                             e.g. -o /scratch/runs
      --set KEY=VALUE      any key of settings.toml, repeatable; VALUE is TOML
                           when it parses as TOML, else a plain string
                             e.g. --set job.timeout=30s --set 'command.argv=["echo","{}"]'
                             e.g. --set command.env.LC_ALL=C
)";

constexpr char kRunOptions[] = R"(
Run options:
      --items FILE         run only the items listed in FILE, one per line
                           (a failed.txt from an earlier run; - = stdin)
                             e.g. --items runs/checksums-20261122-031500/failed.txt
      --dry-run            print each item's command line, shell-quoted, one per
                           line on stdout; run nothing and create nothing ({run}
                           and {out} show where a run started now would write)
                             e.g. shoal run --dry-run | head
      --progress           a live progress line on stderr (done/total, failed,
                           items/s, elapsed, ETA, a bar), even when stderr is not
                           a terminal (default: only on a terminal, without -q)
                             e.g. shoal run --progress 2>progress.log
      --no-progress        no live line: a plain status line every
                           output.status_every instead, as when stderr is a file
                             e.g. shoal run --no-progress --set output.status_every=1m
)";

constexpr char kShardOption[] = R"(
Shard option:
      --shard K/N          input.shard: run only shard K (0 to N-1) of N, the items
                           whose text hashes to K; default: from the environment,
                           SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT of an array
                           0-(N-1), or JOB_COMPLETION_INDEX with SHOAL_SHARDS=N
                             e.g. --shard 2/8    (--shard 0/1: the whole input)
)";

constexpr char kSlurmOptions[] = R"(
Slurm options:
      --shards N           array tasks, each running one shard of the input
      --partition P        #SBATCH --partition=P
                             e.g. --partition batch
      --time T             #SBATCH --time=T, a limit per task
                             e.g. --time 2:00:00
      --cpus-per-task C    #SBATCH --cpus-per-task=C; each shard then runs C workers
                           unless job.workers is set
      --sbatch=ARG         any other sbatch option, as an #SBATCH line; repeatable
                             e.g. --sbatch=--mem=8G --sbatch=--account=proj
      --submit             submit with sbatch: the array, then the merge job
                           (--dependency=afterany on the array)
      --wait               with --submit: wait for the merge job and exit with its
                           status (0 all items ok, 1 some failed, 2 merge refused)
)";

constexpr char kOutputOptions[] = R"(
Output options:
  -q, --quiet              print only errors: no progress or status lines, and no
                           summary when every item succeeded (log.txt has it all)
                             e.g. shoal run -q || cat runs/*/failed.txt
  -v, --verbose            also print log.txt as it is written: workers started
                           and died, retries, handler log lines, the summary
                             e.g. shoal run -v
  -h, --help               show this help
                             e.g. shoal run --help
      --version            print the version
                             e.g. shoal --version
)";

}  // namespace

std::string HelpText(const std::string& topic) {
  if (topic == "settings" || topic == "settings --markdown") {
    return SettingsReference(topic != "settings");
  }
  if (topic == "run") {
    return std::string(R"(Usage: shoal run [SETTINGS] [OPTIONS]

Run the job that SETTINGS (default ./settings.toml) describes. Each run writes a
new directory under output.dir: results.jsonl, errors.jsonl, failed.txt, log.txt.

Examples:
  shoal run                                  ./settings.toml as written
  shoal run jobs/gzip.toml -j 8 -i /data     eight workers over /data
  shoal run jobs/gzip.toml --items runs/gzip-20261122-031500/failed.txt
  shoal run jobs/gzip.toml --shard 0/4       a quarter of the items, on this machine
  shoal run --set job.retries=2 --set job.retry_delay=5s --set job.max_failures=5%

While it runs: on a terminal, one live line on stderr (done/total, failed,
items/s, elapsed, ETA, a bar); otherwise a status line every
output.status_every, e.g. "1200 done, 3 failed, 8800 remaining, 250 items/s,
elapsed 4.8s, ETA 39s". log.txt gets the same status lines, and at the end a
summary: counts per failure reason, CPU time, item durations (p50/p95/p99/max)
and the slowest items. A failed item is tried job.retries more times, after
job.retry_delay, doubling each time. Once job.max_failures ("10" or "5%")
items failed, no new items start: the running ones finish, the run exits 1,
and 'shoal resume RUN_DIR' runs the rest. With output.order = "input",
results are written in input order.
)") + kOverrideOptions +
           kRunOptions + kShardOption + kOutputOptions;
  }
  if (topic == "retry") {
    return std::string(R"(Usage: shoal retry RUN_DIR [OPTIONS]

Re-run the items in RUN_DIR/failed.txt with RUN_DIR/settings.toml, as a new run.
Options override those settings.

Examples:
  shoal retry runs/checksums-20261122-031500
  shoal retry runs/checksums-20261122-031500 --set job.timeout=10m
  shoal retry runs/checksums-slurm/merged --shards 8 --submit
                                   the failed items as a Slurm array of 8 shards

With --shards N, nothing runs here: retry writes (with --submit, submits) a
Slurm job array over RUN_DIR/failed.txt and a job that merges its shards, as
'shoal slurm' does.
)") + kOverrideOptions +
           kRunOptions + kSlurmOptions + kOutputOptions;
  }
  if (topic == "resume") {
    return std::string(R"(Usage: shoal resume RUN_DIR [OPTIONS]

Finish an interrupted run in place: items already in results.jsonl or
errors.jsonl are skipped, the rest run with RUN_DIR/settings.toml.
Options override those settings.

Examples:
  shoal resume runs/checksums-20261122-031500
  shoal resume runs/checksums-20261122-031500 -j 4
)") + kOverrideOptions +
           kRunOptions + kOutputOptions;
  }
  if (topic == "check") {
    return std::string(R"(Usage: shoal check [SETTINGS] [OPTIONS]

Validate SETTINGS (default ./settings.toml) with the options applied, print the
effective configuration as TOML, and exit: 0 if valid, 2 if not.

Examples:
  shoal check
  shoal check jobs/gzip.toml -j 8 --set job.timeout=1m
)") + kOverrideOptions +
           kShardOption + kOutputOptions;
  }
  if (topic == "slurm") {
    return std::string(R"(Usage: shoal slurm [SETTINGS] --shards N [OPTIONS]

Run the job of SETTINGS on a Slurm cluster: an array of N tasks, each one a
'shoal run' of its shard of the input on its node, then a job that merges the
shards into one run directory. Writes <output.dir>/<job.name>-<stamp>-slurm/
with settings.toml (the effective settings), shards.sbatch, merge.sbatch and
submit.sh; with --submit also submits them. The shards write into shards/ of
that directory, the merged run is merged/. shoal, the settings, the input and
output.dir must be on a file system that every node sees at the same path.

Examples:
  shoal slurm jobs/checksums.toml --shards 16 --partition batch --time 4:00:00
  shoal slurm jobs/checksums.toml --shards 4 --submit --wait
)") + kOverrideOptions +
           kSlurmOptions + kOutputOptions;
  }
  if (topic == "merge") {
    return R"(Usage: shoal merge RUN_DIR... -o DIR

Merge the run directories of the shards of one job (shoal run --shard K/N, or
the tasks of 'shoal slurm') into DIR, which must not exist or be empty:
results, errors.jsonl and failed.txt of all shards; log.txt with each shard's
summary and the total; settings.toml without input.shard, so that
'shoal retry DIR' re-runs every failed item. Refuses shards of different
settings, a missing or duplicated shard, and a shard that did not finish;
reports items that appear in two shards.

Examples:
  shoal merge runs/checksums-*-shard-*-of-4 -o runs/checksums-all
  shoal merge runs/checksums-20261122-031500-slurm/shards/* -o /tmp/merged

Options:
  -o, --output-dir DIR     where the merged run directory goes (required)
  -q, --quiet              print only errors
  -v, --verbose            print more
  -h, --help               show this help
      --version            print the version

Exit status: 0 every item succeeded; 1 at least one item failed; 2 the shards
cannot be merged (nothing written); 3 internal error.
)";
  }
  if (topic == "init") {
    return R"(Usage: shoal init [PATH]

Write an annotated settings file to PATH (default ./settings.toml): every key
with its default and a comment. Edit it, then 'shoal check' and 'shoal run'.

Examples:
  shoal init
  shoal init jobs/resize.toml

Options:
  -h, --help               show this help
      --version            print the version
)";
  }
  // The overview explains the options too: most users never look further.
  return std::string(kOverview) +
         "\nOptions of run, retry and resume ('shoal help COMMAND' for each command's):\n" +
         kOverrideOptions + kRunOptions + kOutputOptions;
}

}  // namespace shoal
