// shoal(1), printed by `shoal help --man` from the tables of help.cc; the
// build installs its output. What has no table of its own in config/ (the
// placeholders of job/template.cc, the run directory's files) is written
// here, and docs/CMakeLists.txt tests it against what the built shoal says.
#include <string>
#include <string_view>

#include "config/help.h"

namespace shoal {
namespace {

struct Entry {
  std::string_view term;  // roff already: "\\fB{path}\\fR, \\fB{}\\fR"
  std::string_view text;  // plain text, escaped when printed
};

constexpr Entry kPlaceholders[] = {
    {"\\fB{item}\\fR",
     "the item as read: a line of the list, or for a tree its path relative to input.path."},
    {"\\fB{path}\\fR, \\fB{}\\fR",
     "the item as a path: for a tree input.path/{item}, for a list the item itself."},
    {"\\fB{rel}\\fR",
     "the item relative to input.path, made safe for naming files in the run directory: a "
     "leading /, ./ and empty components are dropped, .. removes the component before it and "
     "is dropped at the top (../../etc/passwd becomes etc/passwd)."},
    {"\\fB{name}\\fR, \\fB{/}\\fR",
     "the last component of {path}, as basename(1): trailing slashes are dropped."},
    {"\\fB{dir}\\fR, \\fB{//}\\fR",
     "{path} without its last component, as dirname(1): \".\" when it has no slash."},
    {"\\fB{stem}\\fR, \\fB{/.}\\fR", "{name} without its last extension."},
    {"\\fB{ext}\\fR",
     "the last extension of {name}, without its dot; empty when there is none. The leading "
     "dots of a name are part of it (.bashrc and ..hidden have none, .hidden.tar.gz has gz), "
     "a trailing dot is no extension (file.), and a path that ends in / names a directory, "
     "which has none (x.y/ and dir/sub/ alike)."},
    {"\\fB{.}\\fR",
     "{path} without its last extension ({ext} and its dot), nothing else removed: a path "
     "with no extension, x.y/ and dir/sub/ included, is {path} unchanged."},
    {"\\fB{index}\\fR, \\fB{#}\\fR",
     "the item's number in the whole input, from 1: for a list the line its record starts on "
     "(blank lines and the header counted, so sed -n \"${index}p\" shows it), for a tree its "
     "position in the walk. A shard, a resume and a retry keep the numbers of the whole "
     "input."},
    {"\\fB{1}\\fR, \\fB{2}\\fR, ...",
     "the fields of a list record split by input.delimiter (CSV) or input.colsep (a regex); "
     "{1} alone, without either, is the whole record. A row with fewer fields fails that item. "
     "Each takes the path forms: {2/} {2//} {2.} {2/.}."},
    {"\\fB{\\fR\\fINAME\\fR\\fB}\\fR",
     "the field of that name in the header line (input.header = true) or in "
     "input.field_names, with the same forms ({region/}); a name no field has is an error "
     "before anything runs."},
    {"\\fB{worker}\\fR, \\fB{%}\\fR",
     "the number of the worker running the item, 1 to job.workers."},
    {"\\fB{run}\\fR", "the run directory."},
    {"\\fB{out}\\fR",
     "the directory of {rel} under {run}/out (for a tree, the mirror of the item's "
     "directory), created when a template uses it; --dry-run names it without creating it."},
    {"\\fB{{\\fR, \\fB}}\\fR", "a literal { and }."},
    {"Literal braces",
     "braces pass through as written when what they hold cannot be a placeholder: a "
     "character other than letters, digits, non-ASCII bytes and _ - . / # % (awk's "
     "{print $1}, BEGIN{n=0}, {a,b}, the outer braces of {\"k\": {#}}), or a name after $ "
     "(a shell's ${HOME}). Braces around only those characters are a placeholder or an "
     "error naming it, with the nearest known name (did you mean {name}?). A { or } with "
     "no partner is an error: write {{ or }}."},
};

constexpr Entry kRunFiles[] = {
    {"\\fBsettings.toml\\fR",
     "the effective settings of the run: what resume and retry use. It may hold secrets "
     "from command.env, so the run directory is private by default (output.mode)."},
    {"\\fBresults.jsonl\\fR", "one record per item that succeeded."},
    {"\\fBerrors.jsonl\\fR",
     "one record per item that failed, with its reason: exit N, signal N, timeout, worker "
     "died, not found, or another short cause."},
    {"\\fBfailed.txt\\fR",
     "one failed item per line, in the input's own form: a valid --items file, and what "
     "shoal retry runs."},
    {"\\fBlog.txt\\fR",
     "a timestamped log for people: run start and end, workers started and died, item log "
     "lines, status lines and the summary."},
    {"\\fBrun.json\\fR",
     "the run's state for programs: whether it ended, its exit status, the ok and failed "
     "counts."},
    {"\\fBout/\\fR", "files written by handlers: {out}."},
    {"\\fBlogs/\\fR", "a log per item, with output.item_logs = true."},
    {"\\fBspill/\\fR",
     "output too large for a record, named by the item's index; spill/held/, what -k "
     "--line-buffer holds until an item's turn (emptied when a run or resume starts)."},
    {"\\fBretries/\\fIN\\fB/\\fR",
     "retry N: the failure records it took out of errors.jsonl (errors.jsonl, failed.txt); "
     "with retry --shards, also the shards' frozen settings.toml and the Slurm job, whose "
     "shard run directories merge -o RUN_DIR joins into the run."},
};

constexpr Entry kEnvironment[] = {
    {"\\fBSLURM_ARRAY_TASK_ID\\fR, \\fBSLURM_ARRAY_TASK_COUNT\\fR, "
     "\\fBSLURM_ARRAY_TASK_MIN\\fR, \\fBSLURM_ARRAY_TASK_MAX\\fR",
     "without --shard or input.shard, a run in a Slurm array task numbered 0 to N-1 runs "
     "shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT; any other array is an error (exit "
     "status 2)."},
    {"\\fBJOB_COMPLETION_INDEX\\fR, \\fBSHOAL_SHARDS\\fR",
     "in a Kubernetes Indexed Job, with SHOAL_SHARDS=N, a run takes shard "
     "JOB_COMPLETION_INDEX of N."},
    {"\\fBSHOAL_WORKER\\fR",
     "the shoal-worker program to start, instead of the one shoal finds from its own "
     "location."},
    {"\\fBPATH\\fR", "where the program of command.argv is looked up."},
    {"\\fBSHOAL_FAULT\\fR", "fault points for shoal's own tests; leave it unset."},
};

constexpr Entry kDifferences[] = {
    {"No shell",
     "command.argv runs its program directly, each string one argument; only with "
     "command.shell = true (or an empty argv, which runs each item as a command line) does "
     "/bin/sh run it, and then every substituted value is shell-quoted."},
    {"Nothing appended",
     "a settings file's command.argv without a placeholder runs as written for every item: "
     "the item is not added at its end. The one-line form does append {}, as parallel and "
     "xargs do."},
    {"Strict templates",
     "braces around a name that is no placeholder ({nmae}, {2x}) are an error before anything "
     "runs, where parallel would pass them on; braces around other text ({print $1}) pass "
     "through as in parallel (see Literal braces). A lone brace is an error; {{ and }} write "
     "braces."},
    {"{/} and {//}",
     "follow basename(1) and dirname(1) on the whole {path}: a/b/ gives b and a (parallel: "
     "an empty {/}), / gives / (parallel: empty), and {//} of a name without a slash is "
     "\".\". {/.} follows {/}."},
    {"Extensions",
     "{.} and {/.} remove an extension only where {ext} has one: the leading dots of a name "
     "are part of it (.bashrc, ..hidden, .. and . have no extension; parallel gives an empty "
     "{.} for .hidden, dir/ for dir/.bashrc, . for ..) and a trailing dot is none (file. "
     "stays file.; parallel gives file). A trailing slash keeps {.} whole in both."},
    {"Shared output files",
     "two items of a run may not write the same command.stdout_path file (a/f, ./a/f and "
     "b/../a/f have one {rel}): the second fails naming the first (its index, and its text "
     "when short), also on a retry; an item rewrites its own file on a resume or retry. The "
     "owner is kept on the file (extended attribute user.shoal.owner), so memory does not "
     "grow with the items; on a file system without user extended attributes a file is "
     "replaced as before. Files a command writes itself under {out} are its own business."},
    {"Items the input cannot deliver",
     "a CSV row without the input.column field, an empty field, a stray quote or an item "
     "over 128 KiB fails with 0 attempts and the line in its reason; retry cannot run it (the "
     "same bytes fail the same way) and failed.txt leaves it out: the summary and retry say "
     "so. Fix the line and run it with --items, or start a new run."},
    {"{#}", "is the item's position in the input, not a count of the jobs started."},
    {"Output",
     "an item's stdout goes to its record, to a file of its own or nowhere "
     "(command.stdout); with output.print = \"group\" (the one-line form's default) it is "
     "also printed on shoal's stdout, whole per item, as parallel --group does, and its "
     "stderr on shoal's stderr; the records keep the last 4 KiB of stderr. Its exit status, "
     "reason and stderr tail are in the records."},
    {"--line-buffer and -u",
     "print what the commands print while they run, as parallel does; a line longer than "
     "64 KiB is printed in pieces (parallel holds it whole in memory). With -k, "
     "--line-buffer prints as parallel -k --line-buffer does: the lines of the first item "
     "in input order that has not finished as they come, the other items' held until their "
     "turn (64 KiB of each in memory, the rest in a file under the run directory's spill/held/, "
     "removed once printed), then printed, and the next item goes on live; a run that ends "
     "early (halted, interrupted) prints what is held, in input order. With -k, -u prints "
     "as --group does, each item whole at its turn, where parallel ignores -k."},
    {"--tagstring",
     "takes shoal's placeholders, expanded without shell quoting; {#} is the item's "
     "position (parallel 20221122 gives the first job's {#} in a tagstring as 2). The tag "
     "of a command line of many items (-X, -m, -n N) is made as parallel makes it: --tag is "
     "the items joined by spaces; with -X each word of the tagstring that holds a placeholder "
     "is repeated per item ('<{}>' gives '<a> <b>'), with -m and -n N each placeholder holds "
     "every item ('<a b>'). {#} is then every item's position ('1 2'), where parallel gives "
     "the line's number once."},
    {"-X, -m and -n N",
     "a command line is made of what one worker's queue holds, so with several workers its "
     "items need not be neighbours in the input (parallel -X ::: a b c d on 2 cores runs "
     "'a b' and 'c d'; shoal may run 'a c' and 'b d'). Each item still has its own record, "
     "and with -j 1 -n N the lines are parallel's."},
    {"--retries and job.retries",
     "--retries N means what it means to parallel: up to N attempts of a failed item in all "
     "(0 and 1: one attempt). The key job.retries counts the attempts after the first, so "
     "--retries N sets job.retries = N - 1; in a settings file, job.retries = 2 gives up to "
     "3 attempts."},
    {"The one-line form runs no shell",
     "shoal echo {} ::: a b runs echo itself, one argument a word; GNU parallel runs each "
     "line through a shell. --shell (command.shell = true) joins the words into one line for "
     "/bin/sh -c, each value shell-quoted: shoal --shell 'wc -l {} | sort' ::: *.log."},
    {"Several input sources",
     "::: a b ::: 1 2 runs the product in parallel's order (a 1, a 2, b 1, b 2) and :::+ links "
     "a source to the one before it (of the same length; parallel would wrap the shorter). "
     "{1} {2} are the values; {} is the record as stored, the values joined by spaces, a "
     "value with a space or a quote CSV-quoted (parallel joins them unquoted). :::: FILE is "
     "a source of its own only."},
    {"--halt",
     "now kills the running items, which then have no record: 'shoal resume' runs them again "
     "with the rest, so a halted run can always be finished. A percentage (fail=20%) is of "
     "the items finished so far, judged once 20 have finished; done=N% is refused, as the "
     "input is streamed, not counted first. A halted run exits 1 if an item failed, else 0 "
     "(parallel exits with the failing job's status); run.json's \"halted\" says why. "
     "job.max_failures = N is halt = \"soon,fail=N\"."},
    {"--memfree",
     "holds new items back while MemAvailable is below SIZE, and never kills a running one "
     "(parallel kills the youngest job below half of SIZE): that would throw its work and an "
     "attempt away on a guess, while the kernel's OOM killer picks better, and shoal retries "
     "what it kills as any dead worker's item."},
    {"--load",
     "takes N or N% of the online cores (100% = a load of one per core, not rounded), "
     "judged against the 1-minute load average of /proc/loadavg, where parallel counts the "
     "running processes; 0 is no limit (parallel reads 0 as 0.01), and +N and -N are not "
     "taken."},
    {"-j",
     "takes N, N%, +N and -N of the online cores, as parallel; 0 is one worker per core, not "
     "as many as possible, and a resumed run keeps the count its first run resolved to."},
};

std::string Line(std::string_view text) {
  return RoffEscape(text) + "\n";
}

std::string Bold(std::string_view text) {
  return "\\fB" + RoffEscape(text) + "\\fR";
}

// "run [SETTINGS] --shards N": literal words bold, the names of values italic.
std::string SynopsisRoff(std::string_view usage) {
  std::string out;
  size_t i = 0;
  while (i < usage.size()) {
    const char c = usage[i];
    size_t j = i;
    if ((c >= 'a' && c <= 'z') || c == '-') {
      while (j < usage.size() && ((usage[j] >= 'a' && usage[j] <= 'z') || usage[j] == '-')) ++j;
      out += Bold(usage.substr(i, j - i));
    } else if ((c >= 'A' && c <= 'Z') || c == '_') {
      while (j < usage.size() && ((usage[j] >= 'A' && usage[j] <= 'Z') || usage[j] == '_')) ++j;
      out += "\\fI" + RoffEscape(usage.substr(i, j - i)) + "\\fR";
    } else {
      j = i + 1;
      out += RoffEscape(usage.substr(i, 1));
    }
    i = j;
  }
  return out;
}

std::string OptionRoff(const OptionSpec& o) {
  std::string out = o.letter ? Bold(std::string("-") + o.letter) + ", " : "";
  out += Bold("--" + std::string(o.name));
  if (!o.arg.empty())
    ((out += o.arg_after_equals ? "=\\fI" : " \\fI") += RoffEscape(o.arg)) += "\\fR";
  return out;
}

std::string Paragraphs(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    out += ".PP\n" + Line(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

std::string Entries(std::span<const Entry> entries) {
  std::string out;
  for (const Entry& e : entries) out += ".TP\n" + std::string(e.term) + "\n" + Line(e.text);
  return out;
}

std::string VerbNamesOf(unsigned verbs) {
  std::string out;
  for (const VerbSpec& v : Verbs()) {
    if (verbs & VerbBit(v.verb)) out += (out.empty() ? "" : ", ") + std::string(v.name);
  }
  return out;
}

std::string Commands() {
  std::string out = ".SH COMMANDS\n";
  for (const VerbSpec& v : Verbs()) {
    out += ".SS \"" + SynopsisRoff(v.usage) + "\"\n" + Paragraphs(v.description);
    out += ".PP\nExamples:\n.RS\n.EX\n";
    for (const ExampleSpec& e : v.examples) {
      if (!e.comment.empty()) out += Line("# " + std::string(e.comment));
      out += Line(e.command);
    }
    out += ".EE\n.RE\n";
    out += Paragraphs(v.notes);
    std::string options;
    for (const OptionSpec& o : Options()) {
      if (!(o.verbs & VerbBit(v.verb))) continue;
      if (!options.empty()) options += ", ";
      options += Bold("--" + std::string(o.name));
    }
    if (!options.empty()) out += ".PP\nOptions (see OPTIONS): " + options + ".\n";
    out += Paragraphs(v.epilogue);
  }
  return out;
}

std::string OptionsSection() {
  std::string out =
      ".SH OPTIONS\n.PP\n" + Line(
                                 "Options that name a settings key override settings.toml, in the "
                                 "order given: -j 4 --set job.workers=8 runs 8 workers.");
  for (OptionGroup g : {OptionGroup::kSettings, OptionGroup::kRun, OptionGroup::kShard,
                        OptionGroup::kSlurm, OptionGroup::kOutput, OptionGroup::kMerge}) {
    out += ".SS \"" + std::string(GroupTitle(g)) + "\"\n";
    for (const OptionSpec& o : Options()) {
      if (o.group != g) continue;
      out += ".TP\n" + OptionRoff(o) + "\n" + Line(o.doc);
      size_t start = 0;
      while (start < o.examples.size()) {
        size_t end = o.examples.find('\n', start);
        if (end == std::string_view::npos) end = o.examples.size();
        std::string example(o.examples.substr(start, end - start));
        if (size_t at = example.find("$VERB"); at != std::string::npos) {
          example.replace(at, 5, "run");
        }
        out += ".br\ne.g. " + Bold(example) + "\n";
        start = end + 1;
      }
      out += ".br\n" + Line("Taken by: " + VerbNamesOf(o.verbs) + ".");
    }
  }
  return out;
}

}  // namespace

std::string RoffEscape(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    // A control character at the start of a line would make it a request.
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

std::string ManPage() {
  std::string out =
      ".\\\" Generated by `shoal help --man` from config/help.cc; do not edit.\n"
      ".TH SHOAL 1 \"\" \"shoal " +
      std::string(kShoalVersion) +
      "\" \"User Commands\"\n"
      // Option names and paths are long words: no hyphenation (groff resets .nh
      // at each paragraph unless HY is 0), a ragged right.
      ".nr HY 0\n.nh\n.ad l\n"
      ".SH NAME\nshoal \\- run one job over many items, on every core\n"
      ".SH SYNOPSIS\n.nf\n";
  for (const VerbSpec& v : Verbs()) out += "\\fBshoal\\fR " + SynopsisRoff(v.usage) + "\n";
  for (std::string_view usage : OneLineUsages()) {
    out += "\\fBshoal\\fR " + SynopsisRoff(usage) + "\n";
  }
  out += "\\fBshoal \\-\\-version\\fR\n.fi\n";
  out += ".SH DESCRIPTION\n" +
         Paragraphs(
             "shoal runs one job over many items (the files of a tree, the lines of a list) on "
             "every core of a Linux machine: a command, a SHA-256 of each file, or a plugin "
             "loaded in each worker. The master process starts worker processes that take the "
             "items from a shared-memory ring; a worker that dies or hangs is replaced and its "
             "items tried again.\n\n"
             "A failed item is never lost: every item ends in exactly one record, in "
             "results.jsonl or errors.jsonl, and a failed one also in failed.txt, a list that "
             "is itself a valid input; so shoal retry runs exactly what failed and shoal "
             "resume finishes an interrupted run.\n\n"
             "A job is a settings file, settings.toml, described in shoal-settings(5); "
             "options on the command line override it. Start with:") +
         ".PP\n.RS\n.EX\nshoal init && shoal check && shoal run\n.EE\n.RE\n";
  out += ".SH \"ONE-LINE FORM\"\n" + Paragraphs(OneLineText());
  out += Commands();
  out += OptionsSection();
  out += ".SH EXIT STATUS\n";
  for (const ExitStatusSpec& e : ExitStatuses()) {
    out += ".TP\n" + Bold(e.status) + "\n" + Line(e.meaning);
  }
  out += ".SH PLACEHOLDERS\n" +
         Paragraphs(
             "command.argv, command.cwd and command.stdout_path are templates: each "
             "placeholder in them is replaced by a value of the item. The GNU parallel "
             "spellings mean the same as the names beside them. Under command.shell = true "
             "every value is shell-quoted.") +
         Entries(kPlaceholders) +
         Paragraphs(
             "An unknown placeholder (see Literal braces) or an unbalanced brace is an error "
             "(exit status 2) before anything runs.");
  out += ".SH \"RUN DIRECTORY\"\n" +
         Paragraphs(
             "Each run writes a new directory under output.dir, named "
             "<job.name>-<YYYYmmdd-HHMMSS> (a shard's ends in -shard-K-of-N):") +
         Entries(kRunFiles) +
         Paragraphs(
             "A file that shoal writes under out/ itself (command.stdout = \"file\") appears "
             "at its final name only when its item succeeded.");
  out += ".SH ENVIRONMENT\n" + Entries(kEnvironment);
  out += ".SH FILES\n.TP\n\\fBsettings.toml\\fR\n" +
         Line(
             "the settings file that run, check and slurm read when none is named, and that "
             "init writes; see shoal-settings(5).") +
         ".TP\n\\fBruns/\\fR\n" +
         Line("where run directories go by default (output.dir), beside the settings file.") +
         ".TP\n\\fBshoal\\-worker\\fR\n" +
         Line("the worker program, started by shoal once per worker.");
  out += ".SH EXAMPLES\n.EX\n" +
         Line(
             "# SHA-256 of every file under /data, eight workers\n"
             "shoal run examples/checksums.toml -i /data -j 8\n"
             "# gzip each file of a list into the run directory\n"
             "shoal run --set 'command.argv=[\"gzip\",\"-c\",\"{path}\"]' \\\n"
             "    --set command.stdout=file --set 'command.stdout_path={out}/{name}.gz'\n"
             "# what would run, without running it\n"
             "shoal run --dry-run | head\n"
             "# run again exactly what failed\n"
             "shoal retry runs/checksums-20261122-031500\n"
             "# three machines (K = 0, 1, 2), then one run directory\n"
             "shoal run job.toml --shard K/3\n"
             "shoal merge runs/job-*-shard-*-of-3 -o runs/job-all") +
         ".EE\n";
  out += ".SH \"DIFFERENCES FROM GNU PARALLEL\"\n" +
         Paragraphs(
             "shoal takes GNU parallel's placeholder spellings, but it is a batch runner "
             "with records, not a drop-in replacement:");
  for (const Entry& e : kDifferences) out += ".TP\n" + Bold(e.term) + "\n" + Line(e.text);
  out +=
      ".SH \"SEE ALSO\"\n"
      "\\fBshoal\\-settings\\fR(5), \\fBparallel\\fR(1), \\fBxargs\\fR(1), \\fBsbatch\\fR(1)\n";
  return out;
}

}  // namespace shoal
