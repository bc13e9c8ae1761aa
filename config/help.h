// The command line's vocabulary, each verb and option declared once: the
// parser (cli.cc), `shoal VERB --help` (help.cc), the man page (manpage.cc)
// and the shell completions (completion.cc) are all made from these tables,
// so none of them can know an option that another has forgotten.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/cli.h"

namespace shoal {

constexpr unsigned VerbBit(Verb verb) {
  return 1u << static_cast<unsigned>(verb);
}

// What a value (an option's, or a positional argument) names: how the
// completions complete it.
enum class ArgKind {
  kNone,      // a flag, or nothing to complete
  kText,      // a number, a duration, a Slurm word: nothing to offer
  kFile,      // any file
  kSettings,  // a settings file (*.toml)
  kDir,       // a directory
  kRunDir,    // a run directory (retry, resume, merge)
  kPath,      // a file or a directory
  kKey,       // SECTION.KEY=VALUE (--set)
};

// Options are printed in groups, in this order.
enum class OptionGroup { kSettings, kRun, kShard, kSlurm, kOutput, kMerge };

struct OptionSpec {
  std::string_view name;  // long name, without "--"
  char letter;            // short name, 0 = none
  std::string_view arg;   // the value's name in help ("N"); "" = a flag
  bool arg_after_equals;  // shown as --sbatch=ARG rather than --time T
  ArgKind arg_kind;
  OptionGroup group;
  unsigned verbs;  // VerbBit()s of the verbs that take it
  // Lines as printed by --help, '\n' between them (the man page refills them).
  std::string_view doc;
  // Example lines, each printed after "e.g. "; "" = none. $VERB stands for
  // the verb whose help is printed.
  std::string_view examples;
};

struct ExampleSpec {
  std::string_view command;
  std::string_view comment;  // "" = none
};

struct VerbSpec {
  std::string_view name;
  Verb verb;
  std::string_view usage;  // after "shoal ": "run [SETTINGS] [OPTIONS]"
  ArgKind positional;      // what its positional arguments name
  // Paragraphs, '\n' between lines, "\n\n" between paragraphs; before and
  // after the examples.
  std::string_view description;
  std::span<const ExampleSpec> examples;
  std::string_view notes;
  // One title for all its options instead of the groups ("Options:").
  std::string_view options_title;
  std::string_view epilogue = "";  // after the options
};

// A line of the overview's "Usage:" (and of the man page's SYNOPSIS).
struct UsageSpec {
  std::string_view synopsis;  // after "shoal "
  std::string_view summary;   // '\n' between lines
};

struct ExitStatusSpec {
  std::string_view status;
  std::string_view meaning;
};

// Every verb, in the order the parser lists them; help last.
std::span<const VerbSpec> Verbs();
std::span<const OptionSpec> Options();
std::span<const UsageSpec> Usages();
std::span<const ExitStatusSpec> ExitStatuses();

// The one-line form, shoal [OPTIONS] COMMAND [ARGS...] ::: ITEMS...: its
// synopses (after "shoal ") and its description, '\n' between lines and
// "\n\n" between paragraphs; for --help and the man page alike.
std::span<const std::string_view> OneLineUsages();
std::string_view OneLineText();

const VerbSpec* FindVerbSpec(std::string_view name);
std::string_view GroupTitle(OptionGroup group);  // "Run options", no colon
// "--name", or "-j, --workers": how an option is named in text.
std::string OptionLabel(const OptionSpec& option);
// The label with its value: "-j, --workers N", "--sbatch=ARG".
std::string OptionSynopsis(const OptionSpec& option);

// The man pages (roff, man(7) macros): shoal(1) and shoal-settings(5).
std::string ManPage();
std::string SettingsManPage();
// A completion script for "bash" or "zsh"; "" for another shell.
std::string CompletionScript(std::string_view shell);

// Text for a roff document: '\' '-' and a leading '.' or '\'' made literal.
std::string RoffEscape(std::string_view text);

}  // namespace shoal
