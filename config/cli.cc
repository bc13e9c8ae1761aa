// The command line: a verb, then Boost.Program_options for its options. The
// parsed options are walked in the order typed, so "-j 4 --set job.workers=8"
// and "--set job.workers=8 -j 4" mean different things, as a user expects.
#include "config/cli.h"

#include <unistd.h>

#include <cctype>

#include <boost/program_options.hpp>

#include <algorithm>
#include <string_view>

#include "config/help.h"
#include "config/keys.h"
#include "config/toml_text.h"

namespace shoal {

const char kShoalVersion[] = "0.1.0";

namespace {

namespace po = boost::program_options;

// help is a verb of the table but not one the parser looks up: it has its
// own arguments ("help settings --man").
std::vector<std::string> VerbNames() {
  std::vector<std::string> names;
  for (const VerbSpec& v : Verbs()) {
    if (v.verb != Verb::kHelp) names.emplace_back(v.name);
  }
  return names;
}

bool FindVerb(std::string_view name, Verb* verb) {
  const VerbSpec* spec = FindVerbSpec(name);
  if (spec == nullptr || spec->verb == Verb::kHelp) return false;
  *verb = spec->verb;
  return true;
}

// No "shoal: " prefix: main puts it before every error it prints.
Status UsageError(const std::string& what, const std::string& topic) {
  return Status::Error(what + "; see 'shoal " + (topic.empty() ? "" : topic + " ") + "--help'");
}

// What each verb accepts, from the one table of options (config/help.cc).
po::options_description OptionsFor(Verb verb) {
  po::options_description desc;
  auto add = desc.add_options();
  for (const OptionSpec& o : Options()) {
    if (!(o.verbs & VerbBit(verb))) continue;
    const std::string name = std::string(o.name) + (o.letter ? std::string(",") + o.letter : "");
    if (o.arg.empty()) {
      add(name.c_str(), "");
    } else {
      add(name.c_str(), po::value<std::string>(), "");
    }
  }
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

// "-j -1" as parallel users write it: the parser would take "-1" for an
// option, so it is joined to its option first.
std::vector<std::string> JoinNegativeWorkers(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& next = i + 1 < args.size() ? args[i + 1] : "";
    const bool negative = next.size() >= 2 && next[0] == '-' &&
                          next.find_first_not_of("0123456789", 1) == std::string::npos;
    if ((args[i] == "-j" || args[i] == "--workers") && negative) {
      out.push_back("--workers=" + next);
      ++i;
    } else {
      out.push_back(args[i]);
    }
  }
  return out;
}

// parallel's --timeout and --delay are in seconds; the keys want a unit.
std::string SecondsIfBare(const std::string& value) {
  const bool number = !value.empty() && value.find_first_not_of("0123456789.") == std::string::npos;
  return number ? value + "s" : value;
}

// GNU parallel's long names of shoal's options: --jobs is -j.
std::string OurSpelling(const std::string& token) {
  if (token == "--jobs") return "--workers";
  if (token.starts_with("--jobs=")) return "--workers=" + token.substr(7);
  return token;
}

// GNU parallel's options that shoal has no option for, and what it has
// instead: a parallel user's first guess gets the way, not a look-alike.
std::string ParallelInstead(std::string_view name) {
  struct Instead {
    std::string_view names[2];  // parallel's spellings ("" = none)
    std::string_view instead;
  };
  static constexpr Instead kInstead[] = {
      {{"--bar", "--eta"},
       "shoal's live line (--progress, on a terminal by default) has the bar and ETA"},
      {{"--joblog", ""},
       "every item has a record in the run directory (results.jsonl, errors.jsonl, failed.txt; "
       "'shoal report RUN_DIR' draws them); -o DIR chooses where"},
      {{"--results", ""},
       "each item's output is in the run directory's results.jsonl; --set command.stdout=file "
       "writes each item's stdout to a file of its own"},
      {{"--resume", ""}, "'shoal resume RUN_DIR' finishes an interrupted run"},
      {{"--resume-failed", "--retry-failed"},
       "'shoal retry RUN_DIR' runs the failed items of a run again"},
      {{"--pipe", ""},
       "shoal gives each command its items as arguments, not blocks of its stdin: split the "
       "input into files first (split -l), then run over them"},
      {{"--sshlogin", "-S"},
       "shoal runs on this machine; over a cluster, 'shoal slurm' runs shards"},
      {{"--wd", "--workdir"}, "--set command.cwd=DIR starts every command in DIR"},
      {{"--env", ""},
       "commands get shoal's environment; --set command.env.NAME=VALUE sets one more"},
      {{"--will-cite", "--no-notice"}, "shoal prints no citation notice: leave it out"},
      {{"--max-chars", "-s"}, "--max-bytes B bounds a command line of -X, -m or -n N"},
      {{"--max-procs", "-P"}, "-j N runs N at once (0 = one per core)"},
      {{"-I", ""}, "the placeholder is {} (and {.}, {/}, {1}, ...): write the command with it"},
      {{"--nice", ""},
       "run shoal itself under nice (nice -n 10 shoal ...): its commands inherit it"},
  };
  for (const Instead& i : kInstead) {
    if (name == i.names[0] || (!i.names[1].empty() && name == i.names[1])) {
      return std::string(i.instead);
    }
  }
  return "";
}

Status ParseOptions(const std::vector<std::string>& typed, const std::string& verb_name,
                    CommandLine* cl, std::vector<std::string>* positionals) {
  std::vector<std::string> spelled;
  for (const std::string& t : typed) spelled.push_back(OurSpelling(t));
  const std::vector<std::string> args = JoinNegativeWorkers(spelled);
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
    if (std::string instead = ParallelInstead(name); !instead.empty()) {
      return UsageError("unknown option '" + name + "': " + instead, verb_name);
    }
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

  Override colsep, csv;  // the last of each, combined at the end
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
    } else if (key == "handler") {
      const KeySpec* spec = FindKey("job", "handler");
      const auto names = Choices(*spec);
      const auto it = std::find(names.begin(), names.end(), value);
      if (it == names.end()) {
        return UsageError(
            "--handler takes command, sha256, plugin, http or python, got '" + value + "'",
            verb_name);
      }
      cl->init_handler = static_cast<HandlerKind>(it - names.begin());
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
    } else if (key == "open") {
      cl->open = true;
    } else if (key == "force") {
      cl->force = true;
    } else if (key == "link") {
      cl->link = true;
    } else if (key == "arg-file") {
      cl->arg_file = value;
    } else if (key == "set") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return UsageError(
            "--set takes SECTION.KEY=VALUE, got '" + value + "'; e.g. --set job.workers=8",
            verb_name);
      }
      cl->overrides.push_back(Override{value.substr(0, eq), value.substr(eq + 1), false, origin});
    } else if (key == "delay") {
      cl->overrides.push_back(Override{"job.delay", SecondsIfBare(value), true, origin});
    } else if (key == "halt" || key == "memfree" || key == "load") {
      cl->overrides.push_back(Override{"job." + key, value, true, origin});
    } else if (key == "keep-order") {
      cl->overrides.push_back(Override{"output.order", "input", true, origin});
    } else if (key == "group") {
      cl->overrides.push_back(Override{"output.print", "group", true, origin});
    } else if (key == "line-buffer") {
      cl->overrides.push_back(Override{"output.print", "line", true, origin});
    } else if (key == "ungroup") {
      cl->overrides.push_back(Override{"output.print", "ungroup", true, origin});
    } else if (key == "tag") {
      cl->overrides.push_back(Override{"output.tag", "true", false, origin});
    } else if (key == "tagstring") {
      cl->overrides.push_back(Override{"output.tagstring", value, true, origin});
    } else if (key == "retries") {
      // parallel's count: attempts in all, where job.retries counts the extra ones.
      int attempts = 0;
      Status st = ParseCount(value, "--retries", 0, 1000000, verb_name, &attempts);
      if (!st.ok()) return st;
      cl->overrides.push_back(
          Override{"job.retries", std::to_string(std::max(attempts - 1, 0)), true, origin});
    } else if (key == "context-replace" || key == "xargs") {
      cl->overrides.push_back(
          Override{"command.batch", key == "xargs" ? "join" : "context", false, origin});
    } else if (key == "max-args") {
      cl->overrides.push_back(Override{"command.max_args", value, true, origin});
    } else if (key == "max-bytes") {
      cl->overrides.push_back(Override{"command.max_bytes", value, true, origin});
    } else if (key == "shell") {
      cl->overrides.push_back(Override{"command.shell", "true", false, origin});
    } else if (key == "colsep") {
      colsep = Override{"input.colsep", value, true, origin};
      cl->overrides.push_back(colsep);
    } else if (key == "csv") {
      csv = Override{"input.delimiter", ",", true, origin};
      cl->overrides.push_back(csv);
    } else if (key == "header") {
      if (value != ":") {
        return UsageError("--header takes ':' (the first item names the fields), got '" + value +
                              "'; shoal does not match the header by a pattern",
                          verb_name);
      }
      cl->overrides.push_back(Override{"input.header", "true", false, origin});
    } else if (key == "null") {
      cl->overrides.push_back(Override{"input.separator", "nul", true, origin});
    } else if (key == "timeout") {
      cl->overrides.push_back(Override{"job.timeout", SecondsIfBare(value), true, origin});
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
  if (!csv.key.empty() && !colsep.key.empty()) {
    // --csv --colsep ';', as parallel: the colsep is the CSV delimiter.
    const std::string delimiter = colsep.value == "\\t" ? "\t" : colsep.value;
    if (delimiter.size() != 1) {
      return UsageError(
          "with --csv, --colsep is the CSV delimiter, one byte (e.g. ';' or '\\t'), "
          "got '" +
              colsep.value + "'",
          verb_name);
    }
    std::erase_if(cl->overrides, [](const Override& o) { return o.key == "input.colsep"; });
    cl->overrides.push_back(
        Override{"input.delimiter", delimiter, true, csv.origin + " " + colsep.origin});
  }
  return Status::Ok();
}

// The option of the one-line form (run's options) that `token` names:
// "--name", "--name=VALUE", "-x" or "-xVALUE"; null if none.
const OptionSpec* OneLineOption(std::string_view token) {
  for (const OptionSpec& o : Options()) {
    if (!(o.verbs & VerbBit(Verb::kRun))) continue;
    if (token.starts_with("--")) {
      std::string_view name = token.substr(2, token.find('=') - 2);
      if (name == o.name) return &o;
    } else if (token.size() >= 2 && token[0] == '-' && token[1] == o.letter && o.letter != 0) {
      return &o;
    }
  }
  return nullptr;
}

bool IsSourceMarker(std::string_view word) {
  return word == ":::" || word == "::::" || word == ":::+" || word == "::::+";
}

// shoal [OPTIONS] COMMAND [ARGS...] [::: ITEMS... | :::: FILE]. Options end
// at the first word that is not one of run's options (or at "--"): from
// there on every word is the command's, so "gzip -kf {}" keeps its -kf.
Result<CommandLine> ParseOneLine(const std::vector<std::string>& args) {
  const std::string topic = "";  // the overview documents the form
  CommandLine cl;
  cl.verb = Verb::kRun;
  cl.one_line = true;
  std::vector<std::string> option_tokens;
  size_t i = 0;
  while (i < args.size()) {
    const std::string a = OurSpelling(args[i]);
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    const OptionSpec* o = OneLineOption(a);
    if (o == nullptr) {
      // Unknown: the option parser names it (and a close one).
      option_tokens.push_back(a);
      break;
    }
    option_tokens.push_back(a);
    const bool attached = a.starts_with("--") ? a.find('=') != std::string::npos : a.size() > 2;
    if (!o->arg.empty() && !attached && i + 1 < args.size()) option_tokens.push_back(args[++i]);
    ++i;
  }
  Status parsed = ParseOptions(option_tokens, topic, &cl, &cl.command);
  if (!parsed.ok()) return parsed;
  if (!cl.command.empty()) {
    // Not reached by well-formed options: a stray value was taken as a word.
    return UsageError("unexpected argument '" + cl.command.front() + "' among the options", topic);
  }
  const bool after_dashes = i > 0 && args[i - 1] == "--";
  for (; i < args.size() && !IsSourceMarker(args[i]); ++i) cl.command.push_back(args[i]);
  if (cl.command.empty()) {
    return UsageError("no command: write shoal [OPTIONS] COMMAND [ARGS...] ::: ITEMS...", topic);
  }
  const bool shell = std::any_of(cl.overrides.begin(), cl.overrides.end(), [](const Override& o) {
    return o.key == "command.shell" && (o.value == "true" || o.raw);
  });
  if (std::vector<std::string> words = PlainCommandWords(cl.command.front());
      !shell && !words.empty()) {
    cl.command.erase(cl.command.begin());
    cl.command.insert(cl.command.begin(), words.begin(), words.end());
  }
  const std::string program = cl.command.front();
  if (!after_dashes && FindVerbSpec(program) != nullptr && !option_tokens.empty()) {
    return UsageError("'" + program + "' after options is a shoal command: write 'shoal " +
                          program + " OPTIONS...'; to run a program named " + program +
                          ", write 'shoal -- " + program + " ...' or 'shoal ./" + program + "'",
                      topic);
  }
  if (!after_dashes && program.ends_with(".toml")) {
    return UsageError("'" + program + "' looks like a settings file: 'shoal run " + program +
                          "' runs it; to run it as a command, write 'shoal -- " + program + "'",
                      topic);
  }
  // The sources: ::: ITEMS..., :::: FILE; several ::: make a product.
  std::vector<std::string> markers;
  while (i < args.size()) {
    const std::string marker = args[i++];
    size_t start = i;
    while (i < args.size() && !IsSourceMarker(args[i])) ++i;
    if (marker == ":::" || marker == ":::+") {
      if (i == start) return UsageError(marker + " needs items after it", topic);
      cl.sources.emplace_back(args.begin() + static_cast<long>(start),
                              args.begin() + static_cast<long>(i));
      cl.linked.push_back(marker == ":::+");
    } else {
      if (i - start != 1) return UsageError(":::: takes one FILE (- = stdin)", topic);
      cl.items_path = args[start];
    }
    markers.push_back(marker);
  }
  if (!markers.empty() && markers.front() == ":::+") {
    return UsageError(":::+ links to the source before it; the first source takes :::", topic);
  }
  if (!cl.arg_file.empty()) {
    if (!markers.empty()) {
      return UsageError("-a " + cl.arg_file +
                            " is the items' source: leave out the ::: and :::: after the command",
                        topic);
    }
    cl.items_path = cl.arg_file;
  }
  if (cl.link) std::fill(cl.linked.begin() + (cl.linked.empty() ? 0 : 1), cl.linked.end(), true);
  if (!cl.items_path.empty() && markers.size() > 1) {
    return UsageError(
        ":::: FILE is the only source it can be: several sources are ::: ITEMS... each", topic);
  }
  for (size_t s = 1; s < cl.sources.size(); ++s) {
    if (cl.linked[s] && cl.sources[s].size() != cl.sources[s - 1].size()) {
      return UsageError(std::string(cl.link ? "--link" : ":::+") +
                            " links sources of the same length (shoal does not wrap the "
                            "shorter, as parallel does); got " +
                            std::to_string(cl.sources[s - 1].size()) + " and " +
                            std::to_string(cl.sources[s].size()) + " items",
                        topic);
    }
  }
  const int sources = static_cast<int>(markers.size());
  if (cl.sources.size() == 1) {
    cl.items = std::move(cl.sources.front());
    cl.sources.clear();
    cl.linked.clear();
  }
  for (const std::vector<std::string>& source : cl.sources) {
    for (const std::string& v : source) {
      if (v.find_first_of("\n\r") != std::string::npos) {
        return UsageError(
            "a value of several ::: sources holds a line end; give such items "
            "with one ::: or in a file with input.separator = \"nul\"",
            topic);
      }
    }
  }
  if (sources == 0 && cl.arg_file.empty()) cl.items_path = "-";
  if (!std::any_of(cl.command.begin(), cl.command.end(), HasPlaceholder)) {
    // As parallel and xargs: the item last; of several sources, each value
    // an argument of its own.
    if (cl.sources.empty()) cl.command.push_back("{}");
    for (size_t s = 1; s <= cl.sources.size(); ++s)
      cl.command.push_back("{" + std::to_string(s) + "}");
  }

  for (const Override& o : cl.overrides) {
    if (o.key == "input.path") {
      return UsageError("'" + o.origin +
                            "' in the one-line form: give the items after ::: or "
                            "with :::: FILE (- = stdin) instead",
                        topic);
    }
  }
  // What makes the words a job, before the options typed, which win.
  std::vector<Override> base;
  auto add = [&](const std::string& key, const std::string& value, bool raw) {
    base.push_back(Override{key, value, raw, "the one-line form"});
  };
  add("job.name", OneLineJobName(program), true);
  add("job.handler", "command", true);
  add("input.kind", "list", true);
  add("output.print", "group", true);
  add("output.dir", OneLineRunsDir(::getenv("XDG_STATE_HOME"), ::getenv("HOME")), true);
  if (!cl.items_path.empty()) add("input.path", cl.items_path, true);
  if (!cl.sources.empty()) add("input.delimiter", " ", true);
  if (shell) {
    // One string for /bin/sh -c, the words joined as typed.
    std::string line;
    for (const std::string& w : cl.command) line += (line.empty() ? "" : " ") + w;
    add("command.argv", TomlArray({line}), false);
  } else {
    add("command.argv", TomlArray(cl.command), false);
  }
  base.insert(base.end(), cl.overrides.begin(), cl.overrides.end());
  cl.overrides = std::move(base);
  return cl;
}

}  // namespace

void ForEachProductRecord(const CommandLine& cl, const std::function<void(std::string_view)>& fn) {
  // A group starts at each source not linked to the one before.
  std::vector<size_t> group_start;
  for (size_t s = 0; s < cl.sources.size(); ++s) {
    if (s == 0 || !cl.linked[s]) group_start.push_back(s);
  }
  const size_t groups = group_start.size();
  if (groups == 0) return;
  std::vector<size_t> at(groups, 0);  // the odometer: a position in each group
  std::string record;
  while (true) {
    record.clear();
    for (size_t g = 0; g < groups; ++g) {
      const size_t end = g + 1 < groups ? group_start[g + 1] : cl.sources.size();
      for (size_t s = group_start[g]; s < end; ++s) {
        const std::string& v = cl.sources[s][at[g]];
        if (!record.empty() || s > 0) record += ' ';
        if (v.find_first_of(" \"") == std::string::npos) {
          record += v;
          continue;
        }
        record += '"';
        for (char c : v) (c == '"' ? record += "\"\"" : record += c);
        record += '"';
      }
    }
    fn(record);
    size_t g = groups;
    while (g > 0) {
      --g;
      if (++at[g] < cl.sources[group_start[g]].size()) break;
      at[g] = 0;
      if (g == 0) return;
    }
  }
}

bool CouldBePlaceholder(std::string_view name) {
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || u >= 0x80 || c == '_' || c == '-' || c == '.' || c == '/' ||
          c == '#' || c == '%')) {
      return false;
    }
  }
  return true;
}

bool HasPlaceholder(std::string_view word) {
  for (size_t open = word.find('{'); open != std::string_view::npos;
       open = word.find('{', open + 1)) {
    if (open + 1 < word.size() && word[open + 1] == '{') {
      ++open;  // "{{" is a literal brace
      continue;
    }
    size_t close = word.find_first_of("{}", open + 1);
    if (close == std::string_view::npos || word[close] != '}') continue;
    if (open > 0 && word[open - 1] == '$') continue;
    if (CouldBePlaceholder(word.substr(open + 1, close - open - 1))) return true;
  }
  return false;
}

std::string OneLineRunsDir(const char* xdg_state_home, const char* home) {
  // XDG: a relative XDG_STATE_HOME is to be ignored.
  if (xdg_state_home != nullptr && xdg_state_home[0] == '/') {
    return std::string(xdg_state_home) + "/shoal/runs";
  }
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/shoal/runs";
  return "runs";
}

std::vector<std::string> PlainCommandWords(const std::string& word) {
  if (word.find_first_of(" \t") == std::string::npos) return {};
  for (char c : word) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view(" \t_.,:/+-@^=%{}").find(c) == std::string_view::npos) {
      return {};  // quotes, $, |, >, globs, ...: a shell's to read
    }
  }
  if (::access(word.c_str(), X_OK) == 0) return {};  // a program whose name holds spaces
  std::vector<std::string> words;
  size_t at = 0;
  while ((at = word.find_first_not_of(" \t", at)) != std::string::npos) {
    const size_t end = std::min(word.find_first_of(" \t", at), word.size());
    words.push_back(word.substr(at, end - at));
    at = end;
  }
  if (words.empty() || words.front().find('=') != std::string::npos) {
    return {};  // only blanks; VAR=value cmd: the shell's
  }
  return words;
}

std::string OneLineJobName(std::string_view program) {
  std::string_view word = program.substr(0, program.find_first_of(" \t\n"));
  if (size_t slash = word.find_last_of('/'); slash != std::string_view::npos) {
    word.remove_prefix(slash + 1);
  }
  std::string name;
  int depth = 0;  // inside a placeholder, which says nothing of the job
  for (char c : word) {
    depth += c == '{' ? 1 : c == '}' && depth > 0 ? -1 : 0;
    if (depth == 0 && c != '}' &&
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
         c == '-')) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '-') {
      name.push_back('-');
    }
  }
  name.erase(0, name.find_first_not_of('-'));  // not an option's look, in a shell
  while (!name.empty() && (name.back() == '-' || name.size() > 64)) name.pop_back();
  if (name.empty() || name.find_first_not_of('.') == std::string::npos) return "shoal";
  return name;
}

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
      // Not a command: the reference of every settings key, as text,
      // Markdown (docs/settings.md) or roff (shoal-settings.5).
      if (args.size() > 3 || (args.size() == 3 && args[2] != "--markdown" && args[2] != "--man")) {
        return UsageError(
            "unexpected argument '" + args[2] + "', help settings takes only --markdown or --man",
            "");
      }
      cl.help_topic = args.size() == 3 ? "settings " + args[2] : "settings";
      return cl;
    }
    // What the build generates and installs: shoal.1 and the completions.
    if (args.size() == 2 && args[1] == "--man") {
      cl.help_topic = "--man";
      return cl;
    }
    if (args.size() >= 2 && args[1] == "completion") {
      if (args.size() != 3 || (args[2] != "bash" && args[2] != "zsh")) {
        return UsageError("help completion takes a shell: bash or zsh", "");
      }
      cl.help_topic = "completion " + args[2];
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
  // Any other first word starts the one-line form: an option of run's, or
  // the command itself.
  if (!FindVerb(first, &cl.verb)) return ParseOneLine(args);

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
  if (!cl.arg_file.empty()) {
    return UsageError(
        "-a FILE is the one-line form's source (shoal -a FILE COMMAND); a settings "
        "file's run takes -i PATH or --items FILE",
        first);
  }
  if (cl.link) {
    return UsageError(
        "--link zips the ::: sources of the one-line form (shoal --link COMMAND "
        "::: A... ::: B...); a settings file's run has one input",
        first);
  }

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
    case Verb::kReport:
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

}  // namespace shoal
