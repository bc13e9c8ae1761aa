// The tables of verbs and options, and `shoal --help` printed from them. The
// texts are written by hand, wrapped for 80 columns: the man page refills
// them, so a line break here is never meaningful there.
#include "config/help.h"

#include <algorithm>

#include "config/load.h"

namespace shoal {
namespace {

constexpr unsigned kRun = VerbBit(Verb::kRun);
constexpr unsigned kRetry = VerbBit(Verb::kRetry);
constexpr unsigned kResume = VerbBit(Verb::kResume);
constexpr unsigned kCheck = VerbBit(Verb::kCheck);
constexpr unsigned kInit = VerbBit(Verb::kInit);
constexpr unsigned kMerge = VerbBit(Verb::kMerge);
constexpr unsigned kSlurm = VerbBit(Verb::kSlurm);
constexpr unsigned kReport = VerbBit(Verb::kReport);
constexpr unsigned kRunning = kRun | kRetry | kResume;
constexpr unsigned kSettingsVerbs = kRunning | kCheck | kSlurm;
constexpr unsigned kAll = kSettingsVerbs | kInit | kMerge | kReport;

using G = OptionGroup;
using A = ArgKind;

constexpr OptionSpec kOptions[] = {
    {"workers", 'j', "N", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.workers: worker processes; 0 = one per core; N% of\n"
     "the cores, +N or -N more or fewer (at least 1); also\n"
     "--jobs N, as parallel's",
     "-j 16    -j 50%    -j -1"},
    {"input", 'i', "PATH", false, A::kPath, G::kSettings, kSettingsVerbs,
     "input.path: a directory to walk, a list file, or - for stdin", "-i ./photos"},
    {"output-dir", 'o', "DIR", false, A::kDir, G::kSettings, kSettingsVerbs,
     "output.dir: where run directories are created", "-o /scratch/runs"},
    {"set", 0, "KEY=VALUE", false, A::kKey, G::kSettings, kSettingsVerbs,
     "any key of settings.toml, repeatable; VALUE is TOML\n"
     "when it parses as TOML, else a plain string",
     "--set job.timeout=30s --set 'command.argv=[\"echo\",\"{}\"]'\n"
     "--set command.env.LC_ALL=C"},
    {"handler", 0, "NAME", false, A::kText, G::kSettings, kInit,
     "job.handler of the file written (command, sha256, plugin,\n"
     "http, python); python also writes a job.py beside it",
     "shoal init --handler python"},
    {"items", 0, "FILE", false, A::kFile, G::kRun, kRunning,
     "run only the items listed in FILE, one per line\n"
     "(a failed.txt from an earlier run; - = stdin)",
     "--items runs/checksums-20261122-031500/failed.txt"},
    {"dry-run", 0, "", false, A::kNone, G::kRun, kRunning,
     "print each item's command line, shell-quoted, one per\n"
     "line on stdout; run nothing and create nothing ({run}\n"
     "and {out} show where a run started now would write)",
     "shoal run --dry-run | head"},
    {"progress", 0, "", false, A::kNone, G::kRun, kRunning,
     "a live progress line on stderr (done/total, failed,\n"
     "items/s, elapsed, ETA, a bar), even when stderr is not\n"
     "a terminal (default: only on a terminal, without -q)",
     "shoal run --progress 2>progress.log"},
    {"no-progress", 0, "", false, A::kNone, G::kRun, kRunning,
     "no live line: a plain status line every\n"
     "output.status_every instead, as when stderr is a file",
     "shoal run --no-progress --set output.status_every=1m"},
    {"shard", 0, "K/N", false, A::kText, G::kShard, kRun | kCheck | kRetry,
     "input.shard: run only shard K (0 to N-1) of N, the items\n"
     "whose text hashes to K; default: from the environment,\n"
     "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT of an array\n"
     "0-(N-1), or JOB_COMPLETION_INDEX with SHOAL_SHARDS=N",
     "--shard 2/8    (--shard 0/1: the whole input)"},
    {"shards", 0, "N", false, A::kText, G::kSlurm, kSlurm | kRetry,
     "array tasks, each running one shard of the input", ""},
    {"partition", 0, "P", false, A::kText, G::kSlurm, kSlurm | kRetry, "#SBATCH --partition=P",
     "--partition batch"},
    {"time", 0, "T", false, A::kText, G::kSlurm, kSlurm | kRetry,
     "#SBATCH --time=T, a limit per task", "--time 2:00:00"},
    {"cpus-per-task", 0, "C", false, A::kText, G::kSlurm, kSlurm | kRetry,
     "#SBATCH --cpus-per-task=C; each shard then runs C workers\n"
     "unless job.workers is set",
     ""},
    {"sbatch", 0, "ARG", true, A::kText, G::kSlurm, kSlurm | kRetry,
     "any other sbatch option, as an #SBATCH line; repeatable",
     "--sbatch=--mem=8G --sbatch=--account=proj"},
    {"submit", 0, "", false, A::kNone, G::kSlurm, kSlurm | kRetry,
     "submit with sbatch: the array, then the merge job\n"
     "(--dependency=afterany on the array)",
     ""},
    {"wait", 0, "", false, A::kNone, G::kSlurm, kSlurm | kRetry,
     "with --submit: wait for the merge job and exit with its\n"
     "status (0 all items ok, 1 some failed, 2 merge refused)",
     ""},
    // merge's -o is not output.dir but the merged run itself.
    {"output-dir", 'o', "DIR", false, A::kDir, G::kMerge, kMerge,
     "where the merged run directory goes (required)", ""},
    {"quiet", 'q', "", false, A::kNone, G::kMerge, kMerge, "print only errors", ""},
    {"verbose", 'v', "", false, A::kNone, G::kMerge, kMerge, "print more", ""},
    {"force", 0, "", false, A::kNone, G::kRun, kResume,
     "run the rest of a Slurm retry here although its job\n"
     "directory is in RUN_DIR/retries/K/ and the retry is not\n"
     "joined yet: once that job is cancelled (scancel)",
     "shoal resume runs/checksums-20261122-031500 --force"},
    {"open", 0, "", false, A::kNone, G::kOutput, kReport,
     "open the page with xdg-open (when there is one; else\n"
     "print its path only)",
     "shoal report runs/checksums-20261122-031500 --open"},
    {"quiet", 'q', "", false, A::kNone, G::kOutput, kSettingsVerbs,
     "print only errors: no progress or status lines, and no\n"
     "summary when every item succeeded (log.txt has it all)",
     "shoal run -q || cat runs/*/failed.txt"},
    {"verbose", 'v', "", false, A::kNone, G::kOutput, kSettingsVerbs,
     "also print log.txt as it is written: workers started\n"
     "and died, retries, handler log lines, the summary",
     "shoal run -v"},
    // The one-line form's options (run's too): the keys its defaults set.
    {"keep-order", 'k', "", false, A::kNone, G::kOutput, kRunning,
     "output.order = \"input\": records, and the printed output,\n"
     "in input order (a bounded window holds the early finishers)",
     "shoal -k echo {} ::: c b a"},
    {"group", 0, "", false, A::kNone, G::kOutput, kRunning,
     "output.print = \"group\": each item's stdout on shoal's\n"
     "stdout, its stderr on shoal's stderr, whole per item,\n"
     "never interleaved (the one-line form's default)",
     "shoal run jobs/grep.toml --group | sort"},
    {"line-buffer", 0, "", false, A::kNone, G::kOutput, kRunning,
     "output.print = \"line\": each line the commands print, as\n"
     "soon as it is whole; lines of two items interleave, never\n"
     "cut (with -k: the first unfinished item's lines as they\n"
     "come, the others' at their turn)",
     "shoal --line-buffer -j 4 ping -c 3 {} ::: host1 host2"},
    {"ungroup", 'u', "", false, A::kNone, G::kOutput, kRunning,
     "output.print = \"ungroup\": what the commands print, as it\n"
     "comes; two items' output may mix within a line",
     "shoal -u make -C {} ::: lib app"},
    {"tag", 0, "", false, A::kNone, G::kOutput, kRunning,
     "output.tag: each printed line after its item and a tab", "shoal --tag wc -l ::: *.txt"},
    {"tagstring", 0, "STR", false, A::kText, G::kOutput, kRunning,
     "output.tagstring: each printed line after STR, its\n"
     "placeholders expanded for the item, and a tab",
     "shoal --tagstring '{1}-{#}' wc -l ::: *.txt"},
    {"retries", 0, "N", false, A::kText, G::kSettings, kRunning,
     "up to N attempts of a failed item in all, as GNU\n"
     "parallel's --retries N: job.retries = N - 1 (the key\n"
     "counts the extra attempts; 0 and 1 both mean one attempt)",
     "shoal --retries 3 curl -fsO {} :::: urls.txt"},
    {"halt", 0, "WHEN,WHAT=N", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.halt: stop early, as parallel's --halt: WHEN soon\n"
     "(let running items finish) or now (kill them; resume\n"
     "runs them), WHAT fail, success or done, N a count or\n"
     "N% of the finished items; or never",
     "--halt now,fail=1    --halt soon,fail=20%"},
    {"delay", 0, "DURATION", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.delay: at least this long between two starts; a\n"
     "bare number is seconds, as parallel's --delay",
     "--delay 500ms    --delay 2"},
    {"memfree", 0, "SIZE", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.memfree: start no item while free memory\n"
     "(MemAvailable) is below SIZE; K, M, G, T",
     "--memfree 2G"},
    {"load", 0, "N", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.load: start no item while the 1-minute load\n"
     "average is N or more; N% of the online cores\n"
     "(100% = one per core)",
     "--load 8"},
    {"arg-file", 'a', "FILE", false, A::kFile, G::kSettings, kRun,
     "the items, a line each, from FILE (- = stdin): the same\n"
     "as :::: FILE after the command (parallel's -a)",
     "shoal -a urls.txt curl -fsO"},
    {"link", 0, "", false, A::kNone, G::kSettings, kRun,
     "every ::: source after the first zipped with the one\n"
     "before, as if each were :::+ (parallel's --link); the\n"
     "sources must be of the same length",
     "shoal --link echo {1}={2} ::: a b ::: 1 2"},
    {"colsep", 'C', "REGEX", false, A::kText, G::kSettings, kRun | kCheck | kSlurm,
     "input.colsep: fields {1} {2} ... of each item lie between\n"
     "the matches of this Perl regular expression (with --csv:\n"
     "the one-byte delimiter, \\t for a tab)",
     "shoal -C '\\s+' echo {2} {1} :::: pairs.txt"},
    {"csv", 0, "", false, A::kNone, G::kSettings, kRun | kCheck | kSlurm,
     "input.delimiter = \",\": each item a CSV record (RFC 4180\n"
     "quotes), its fields {1} {2} ...",
     "shoal --csv --header : curl -fsO {url} :::: list.csv"},
    {"header", 0, ":", false, A::kText, G::kSettings, kRun | kCheck | kSlurm,
     "input.header = true: the first item names the fields,\n"
     "{name} for each (parallel's --header :)",
     "shoal --header : -C , echo {region} ::: id,region 7,eu"},
    {"null", '0', "", false, A::kNone, G::kSettings, kRun | kCheck | kSlurm,
     "input.separator = \"nul\": items end at NUL bytes, not at\n"
     "line ends (find -print0)",
     "find . -name '*.log' -print0 | shoal -0 gzip -kf"},
    {"timeout", 0, "DURATION", false, A::kText, G::kSettings, kSettingsVerbs,
     "job.timeout: kill an attempt that runs longer; a bare\n"
     "number is seconds, as parallel's --timeout",
     "--timeout 30    --timeout 2m"},
    {"shell", 0, "", false, A::kNone, G::kSettings, kRunning,
     "command.shell = true: the command's words, joined by\n"
     "spaces, run by /bin/sh -c, each value shell-quoted",
     "shoal --shell 'gzip -c {} > {}.gz' ::: *.log"},
    {"context-replace", 'X', "", false, A::kNone, G::kSettings, kRunning,
     "command.batch = \"context\": many items per command\n"
     "line, each word holding a placeholder repeated per item\n"
     "with its context; a failed line is split to find the\n"
     "failing items (failed.txt names only those)",
     "shoal -X gzip -kf {} ::: *.log"},
    {"xargs", 'm', "", false, A::kNone, G::kSettings, kRunning,
     "command.batch = \"join\": many items per command line,\n"
     "one after another, a word's context once around them",
     "shoal -m sha256sum ::: *.iso"},
    {"max-args", 'n', "N", false, A::kText, G::kSettings, kRunning,
     "command.max_args: at most N items per command line\n"
     "(alone: command.batch = \"join\", as parallel -n)",
     "shoal -n 100 -X gzip -kf ::: *.log"},
    {"max-bytes", 0, "B", false, A::kText, G::kSettings, kRunning,
     "command.max_bytes: bytes of one command line at most\n"
     "(strings, NULs, pointers), under the system's ARG_MAX",
     "--max-bytes 65536"},
    {"help", 'h', "", false, A::kNone, G::kOutput, kAll, "show this help", "shoal $VERB --help"},
    {"version", 0, "", false, A::kNone, G::kOutput, kAll, "print the version", "shoal --version"},
};

constexpr ExampleSpec kRunExamples[] = {
    {"shoal run", "./settings.toml as written"},
    {"shoal run jobs/gzip.toml -j 8 -i /data", "eight workers over /data"},
    {"shoal run jobs/gzip.toml --items runs/gzip-20261122-031500/failed.txt", ""},
    {"shoal run jobs/gzip.toml --shard 0/4", "a quarter of the items, on this machine"},
    {"shoal run --set job.retries=2 --set job.retry_delay=5s --set job.max_failures=5%", ""},
};
constexpr ExampleSpec kRetryExamples[] = {
    {"shoal retry runs/checksums-20261122-031500", ""},
    {"shoal retry runs/checksums-20261122-031500 --set job.timeout=10m", ""},
    {"shoal retry runs/checksums-slurm/merged --shards 8 --submit",
     "the failed items as a Slurm array of 8 shards, joined into merged/"},
};
constexpr ExampleSpec kResumeExamples[] = {
    {"shoal resume runs/checksums-20261122-031500", ""},
    {"shoal resume runs/checksums-20261122-031500 -j 4", ""},
};
constexpr ExampleSpec kCheckExamples[] = {
    {"shoal check", ""},
    {"shoal check jobs/gzip.toml -j 8 --set job.timeout=1m", ""},
};
constexpr ExampleSpec kInitExamples[] = {
    {"shoal init", ""},
    {"shoal init jobs/resize.toml", ""},
};
constexpr ExampleSpec kMergeExamples[] = {
    {"shoal merge runs/checksums-*-shard-*-of-4 -o runs/checksums-all", ""},
    {"shoal merge runs/checksums-20261122-031500-slurm/shards/* -o /tmp/merged", ""},
    {"shoal merge RUN/retries/1/checksums-*-slurm/shards/* -o RUN", "a retry's shards join RUN"},
};
constexpr ExampleSpec kReportExamples[] = {
    {"shoal report runs/checksums-20261122-031500", ""},
    {"shoal report runs/checksums-20261122-031500 --open", "in the desktop's browser"},
    {"watch -n 60 shoal report runs/checksums-20261122-031500", "a run in progress, redrawn"},
};
constexpr ExampleSpec kSlurmExamples[] = {
    {"shoal slurm jobs/checksums.toml --shards 16 --partition batch --time 4:00:00", ""},
    {"shoal slurm jobs/checksums.toml --shards 4 --submit --wait", ""},
};
constexpr ExampleSpec kHelpExamples[] = {
    {"shoal help run", "the same as shoal run --help"},
    {"shoal help settings | less", ""},
    {"source <(shoal help completion bash)", "completion in this shell"},
};

constexpr VerbSpec kVerbs[] = {
    {"run", Verb::kRun, "run [SETTINGS] [OPTIONS]", A::kSettings,
     "Run the job that SETTINGS (default ./settings.toml) describes. Each run writes a\n"
     "new directory under output.dir: results.jsonl, errors.jsonl, failed.txt, log.txt.",
     kRunExamples,
     "While it runs: on a terminal, one live line on stderr (done/total, failed,\n"
     "items/s, elapsed, ETA, a bar); otherwise a status line every\n"
     "output.status_every, e.g. \"1200 done, 3 failed, 8800 remaining, 250 items/s,\n"
     "elapsed 4.8s, ETA 39s\". log.txt gets the same status lines, and at the end a\n"
     "summary: counts per failure reason, CPU time, item durations (p50/p95/p99/max)\n"
     "and the slowest items. A failed item is tried job.retries more times (--retries\n"
     "N: N attempts in all, as GNU parallel counts), after job.retry_delay, doubling\n"
     "each time. Once job.halt (--halt soon,fail=10 or fail=5%, success=N, done=N;\n"
     "job.max_failures = N is soon,fail=N) is met, no new items start: with soon the\n"
     "running ones finish, with now they are killed and get no record; 'shoal resume\n"
     "RUN_DIR' runs them and the rest. Halted, the run exits 1 if an item failed,\n"
     "else 0, and says which rule halted it. With output.order = \"input\", results\n"
     "are written in input order.",
     ""},
    {"retry", Verb::kRetry, "retry RUN_DIR [OPTIONS]", A::kRunDir,
     "Re-run the failed items of RUN_DIR with RUN_DIR/settings.toml, in RUN_DIR itself:\n"
     "each with its original index, so that RUN_DIR then holds every item's latest\n"
     "outcome exactly once. Options override those settings.",
     kRetryExamples,
     "With --shards N, nothing runs here: retry moves the failures aside (retry K)\n"
     "and writes (with --submit, submits) a Slurm job in RUN_DIR/retries/K/ as\n"
     "'shoal slurm' does: each array task runs 'shoal retry RUN_DIR --shard I/N', its\n"
     "share of the failed items in a shard run directory of its own, and the merge\n"
     "job, 'shoal merge SHARDS... -o RUN_DIR', joins them into RUN_DIR.",
     ""},
    {"resume", Verb::kResume, "resume RUN_DIR [OPTIONS]", A::kRunDir,
     "Finish an interrupted run in place: items already in results.jsonl or\n"
     "errors.jsonl are skipped, the rest run with RUN_DIR/settings.toml.\n"
     "Options override those settings.",
     kResumeExamples,
     "A retry of RUN_DIR on Slurm ('retry --shards N') that is not joined yet is\n"
     "refused (exit 2): its shards may be running those items. Wait for its merge\n"
     "job, or scancel it and resume with --force.",
     ""},
    {"check", Verb::kCheck, "check [SETTINGS] [OPTIONS]", A::kSettings,
     "Validate SETTINGS (default ./settings.toml) with the options applied, print the\n"
     "effective configuration as TOML, and exit: 0 if valid, 2 if not.",
     kCheckExamples, "", ""},
    {"init", Verb::kInit, "init [PATH]", A::kSettings,
     "Write an annotated settings file to PATH (default ./settings.toml): every key\n"
     "with its default and a comment. Edit it, then 'shoal check' and 'shoal run'.",
     kInitExamples, "", "Options"},
    {"merge", Verb::kMerge, "merge RUN_DIR... -o DIR", A::kRunDir,
     "Merge the run directories of the shards of one job (shoal run --shard K/N, or\n"
     "the tasks of 'shoal slurm') into DIR, which must not exist or be empty:\n"
     "results, errors.jsonl and failed.txt of all shards; log.txt with each shard's\n"
     "summary and the total; settings.toml without input.shard, so that\n"
     "'shoal retry DIR' re-runs every failed item. Refuses shards of different\n"
     "settings, a missing or duplicated shard, and a shard that did not finish;\n"
     "reports items that appear in two shards. The shards of 'shoal retry RUN\n"
     "--shards N' join RUN in place instead (-o RUN): their records that RUN lacks\n"
     "are appended, their files replace RUN's at the same paths, failed.txt is\n"
     "rebuilt, and run.json, written last, says the retry ended; a join that was\n"
     "killed is completed by the same merge run again.",
     kMergeExamples, "", "Options",
     "Exit status: 0 every item succeeded; 1 at least one item failed; 2 the shards\n"
     "cannot be merged (nothing written); 3 internal error."},
    {"slurm", Verb::kSlurm, "slurm [SETTINGS] --shards N [OPTIONS]", A::kSettings,
     "Run the job of SETTINGS on a Slurm cluster: an array of N tasks, each one a\n"
     "'shoal run' of its shard of the input on its node, then a job that merges the\n"
     "shards into one run directory. Writes <output.dir>/<job.name>-<stamp>-slurm/\n"
     "with settings.toml (the effective settings), shards.sbatch, merge.sbatch and\n"
     "submit.sh; with --submit also submits them. The shards write into shards/ of\n"
     "that directory, the merged run is merged/. shoal, the settings, the input and\n"
     "output.dir must be on a file system that every node sees at the same path.",
     kSlurmExamples, "", ""},
    {"report", Verb::kReport, "report RUN_DIR [--open]", A::kRunDir,
     "Write RUN_DIR/report.html, one self-contained page (no JavaScript, nothing fetched):\n"
     "throughput and failures over time, the workers' busy share over time (from\n"
     "timeline.jsonl), a log-scale histogram of item durations with p50/p95/p99,\n"
     "failures by reason with example items, the slowest items, the settings and\n"
     "the run's summary, and the same numbers as JSON in <script\n"
     "id=\"shoal-report\">. Prints the page's path.",
     kReportExamples,
     "It reads what is on disk: a run in progress shows its records so far. A merged\n"
     "run gets a throughput line per shard (from the shards' timelines, which merge\n"
     "keeps under timelines/); its other charts show the shards together. Memory\n"
     "and time stay flat in the number of items: the records are read once, into a\n"
     "fixed-size histogram, top list and time bins.",
     "Options"},
    {"help", Verb::kHelp, "help [COMMAND | settings [--markdown | --man] | --man]", A::kNone,
     "Print the help of COMMAND (the same as shoal COMMAND --help), or without one\n"
     "the overview of every command. 'shoal help settings' prints every key of\n"
     "settings.toml with its type, default and meaning; --markdown prints the same\n"
     "as Markdown (docs/settings.md), --man as the man page shoal-settings(5).\n"
     "'shoal help --man' prints this manual, shoal(1), as roff;\n"
     "'shoal help completion bash' (or zsh) a completion script for that shell.",
     kHelpExamples, "", ""},
};

constexpr UsageSpec kUsages[] = {
    {"run [SETTINGS] [OPTIONS]", "run a job (SETTINGS defaults to ./settings.toml)"},
    {"run SETTINGS --items FILE", "run only the items listed in FILE (e.g. a failed list)"},
    {"retry RUN_DIR [OPTIONS]", "re-run the failed items of a finished run, same settings"},
    {"resume RUN_DIR [OPTIONS]", "finish an interrupted run; items done or failed are skipped"},
    {"check [SETTINGS] [OPTIONS]", "validate settings, print the effective configuration"},
    {"init [PATH]", "write an annotated settings.toml to start from"},
    {"slurm SETTINGS --shards N",
     "write (--submit: submit) a Slurm job array over N\n"
     "shards of the input, and a job that merges them"},
    {"merge RUN_DIR... -o DIR", "merge the run directories of shards into one"},
    {"report RUN_DIR [--open]", "write RUN_DIR/report.html: the run in charts and tables"},
    {"help COMMAND", "help for one command (also: shoal COMMAND --help)"},
    {"help settings", "every key of settings.toml: type, default, meaning"},
    {"--version", "print the version"},
};

constexpr std::string_view kOneLineUsages[] = {
    "[OPTIONS] COMMAND [ARGS...] ::: ITEMS... [::: ITEMS... | :::+ ITEMS...]...",
    "[OPTIONS] COMMAND [ARGS...] :::: FILE",
    "[OPTIONS] COMMAND [ARGS...] < ITEMS",
};

constexpr std::string_view kOneLineText =
    "Without a settings file, as with GNU parallel or xargs: each item runs COMMAND\n"
    "with {} (and the other placeholders) replaced by the item, one process per item,\n"
    "no shell. The items come after :::, from FILE (one a line) after ::::, or from\n"
    "stdin when neither is given and stdin is not a terminal, read as it comes (find\n"
    ". -name '*.log' | shoal gzip -k). When no word of the command has a placeholder,\n"
    "{} is appended, as parallel and xargs do. Several ::: sources run their\n"
    "product, :::+ links a source to the one before (zipped): shoal echo {1}-{2} :::\n"
    "a b ::: 1 2 prints a-1 a-2 b-1 b-2; without a placeholder each value is appended.\n"
    "A COMMAND quoted as one word is split into its words when a shell would read\n"
    "nothing else in it ('convert {} {.}.png'); one with quotes, $, |, >, globs or a\n"
    "leading VAR= ('gzip -c {} > {}.gz') runs only with --shell: without, it is\n"
    "refused before anything runs (exit 2), as is a COMMAND on no directory of PATH.\n\n"
    "The options before COMMAND are shoal's (-j, -o, --set, -k, --tag, -q, --dry-run,\n"
    "...); every word from COMMAND on is the command's, so 'shoal gzip -kf {} :::\n"
    "a.log' passes -kf to gzip. A first word that is an option or no command\n"
    "(run, retry, ...) starts this form. To run a program named like a command or\n"
    "ending in .toml, write 'shoal -- run.sh ...' or 'shoal ./run ...'.\n\n"
    "Each item's stdout is printed on shoal's stdout, whole, once the item has\n"
    "finished, and its stderr on shoal's stderr (the records keep its last 4 KiB):\n"
    "the output of two items never interleaves (--group, output.print = \"group\"),\n"
    "in the order items finish, or with -k in input order. --line-buffer prints\n"
    "each line as soon as it is whole, lines of items running at once interleaved\n"
    "but never cut (a line over 64 KiB is printed in pieces); with -k, the lines of\n"
    "the first item in input order as they come and the others' at their turn, as\n"
    "parallel -k --line-buffer does. -u prints what comes as it comes. --tag and\n"
    "--tagstring STR put the item, or STR expanded, and a tab before each line (not\n"
    "with -u). shoal's own lines go to stderr, and only when stderr is a terminal\n"
    "or with -v; an error or a failed item is always reported, with the run\n"
    "directory.\n\n"
    "Many items per command line, for tools that take many paths (gzip, sha256sum):\n"
    "-X (command.batch = \"context\") repeats each word that holds a placeholder\n"
    "once per item, with its context (pre-{}-post gives pre-a-post pre-b-post); -m\n"
    "(\"join\") puts the items in one after another, the context once around them\n"
    "(pre-a b c-post, as parallel -m after its shell splits it: here each item stays\n"
    "one argument); -n N caps the items of a line (alone it means -m, as parallel's\n"
    "-n), --max-bytes the bytes (128 KiB by default, checked against ARG_MAX). The\n"
    "records stay per item: each item of a line that succeeds gets its own record,\n"
    "the line's stdout goes with its first item (and is printed once); a line that\n"
    "fails is run again in halves until the failing items stand alone, so\n"
    "failed.txt names exactly those and their reason is their own. So the items of\n"
    "a failed line run more than once: use a command that may run again (gzip -kf,\n"
    "not gzip); with --line-buffer, what they print comes out again too. Where\n"
    "shoal differs from parallel: {#} and {1} {2} stay the item's index and fields\n"
    "(parallel's -n makes {1} {2} the line's arguments and {#} the line's number);\n"
    "a line holds consecutive items, as parallel's (-n N: N of them; -X, -m: the\n"
    "queued items split evenly over the workers), but a retried item runs on a line\n"
    "of its own;\n"
    "command.stdout = \"file\", output.item_logs, a command.cwd with placeholders\n"
    "and -X with --shell are refused (no one item to name them by).\n\n"
    "A one-line run is a run like any other: its run directory is made under\n"
    "$XDG_STATE_HOME/shoal/runs (default ~/.local/state/shoal/runs; -o DIR for\n"
    "another), named after the program, and 'shoal retry RUN_DIR' and 'shoal resume\n"
    "RUN_DIR' work on it. The ::: items are kept in RUN_DIR/input.txt, which its\n"
    "settings.toml names; items from stdin are not kept: resume reads stdin again\n"
    "and checks that the items it recorded are the same, so pipe them in again\n"
    "(retry needs no input: it reruns the failed items from the records).";

constexpr ExitStatusSpec kExitStatuses[] = {
    {"0", "every item succeeded"},
    {"1", "at least one item failed"},
    {"2", "bad usage or bad settings (nothing ran)"},
    {"3", "internal error"},
    {"130 / 143",
     "interrupted by SIGINT / SIGTERM (the run directory is resumable with 'shoal resume')"},
};

// Greedy wrapping of one paragraph at `width` columns, every line after
// `indent` spaces.
std::string Wrap(std::string_view text, size_t width, size_t indent) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    start = end + 1;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

// Each line of `text` after `indent` spaces, the first one after `first`.
std::string Indented(std::string_view text, const std::string& first, size_t indent) {
  std::string out = first;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    if (start > 0) out += std::string(indent, ' ');
    out += std::string(text.substr(start, nl - start)) + "\n";
    start = nl + 1;
  }
  return out;
}

std::string Replaced(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
    out.replace(at, from.size(), to);
  }
  return out;
}

std::string OptionText(const OptionSpec& o, bool examples) {
  std::string label = (o.letter ? "  " : "      ") + OptionSynopsis(o);
  label += std::string(label.size() < 27 ? 27 - label.size() : 1, ' ');
  std::string out = Indented(o.doc, label, 27);
  if (examples && !o.examples.empty()) {
    const std::string e = "                             e.g. ";
    out += Indented(Replaced(o.examples, "\n", "\n" + e.substr(0, 29) + "e.g. "), e, 0);
  }
  return out;
}

std::string GroupText(OptionGroup group, Verb verb, std::string_view verb_name) {
  std::string out;
  for (const OptionSpec& o : kOptions) {
    if (o.group == group && (o.verbs & VerbBit(verb))) out += OptionText(o, true);
  }
  if (out.empty()) return "";
  std::string title(GroupTitle(group));
  if (group == OptionGroup::kSettings)
    title += " (they override settings.toml, in the order given)";
  return "\n" + title + ":\n" + Replaced(out, "$VERB", verb_name);
}

std::string ExamplesText(std::span<const ExampleSpec> examples) {
  // Comments line up after the longest command that leaves them room.
  size_t column = 0;
  for (const ExampleSpec& e : examples) {
    if (!e.comment.empty() && e.command.size() <= 40) column = std::max(column, e.command.size());
  }
  column += 2 + 5;
  std::string out = "\nExamples:\n";
  for (const ExampleSpec& e : examples) {
    out += "  " + std::string(e.command);
    if (e.comment.empty()) {
      out += "\n";
    } else if (2 + e.command.size() + 2 <= column) {
      out += std::string(column - 2 - e.command.size(), ' ') + std::string(e.comment) + "\n";
    } else {
      out += '\n';
      out.append(35, ' ').append(e.comment) += '\n';
    }
  }
  return out;
}

std::string VerbText(const VerbSpec& v) {
  std::string out = "Usage: shoal " + std::string(v.usage) + "\n\n" + std::string(v.description) +
                    "\n" + ExamplesText(v.examples);
  if (!v.notes.empty()) (out += '\n').append(v.notes) += '\n';
  if (!v.options_title.empty()) {
    (out += '\n').append(v.options_title) += ":\n";
    for (const OptionSpec& o : kOptions) {
      if (o.verbs & VerbBit(v.verb)) out += OptionText(o, false);
    }
    if (!v.epilogue.empty()) (out += '\n').append(v.epilogue) += '\n';
    return out;
  }
  for (OptionGroup g : {OptionGroup::kSettings, OptionGroup::kRun, OptionGroup::kShard,
                        OptionGroup::kSlurm, OptionGroup::kOutput, OptionGroup::kMerge}) {
    out += GroupText(g, v.verb, v.name);
  }
  return out;
}

std::string Overview() {
  std::string out = "shoal - run one job over many items, on every core\n\nUsage:\n";
  for (const UsageSpec& u : kUsages) {
    std::string synopsis = "  shoal ";
    synopsis += u.synopsis;
    synopsis += std::string(synopsis.size() < 37 ? 37 - synopsis.size() : 1, ' ');
    out += Indented(u.summary, synopsis, 37);
  }
  for (std::string_view u : kOneLineUsages) out += "  shoal " + std::string(u) + "\n";
  out +=
      "\nStart with:\n  shoal init && shoal check && shoal run\n"
      "  shoal gzip -k {} ::: *.log            (no settings file: see below)\n\n";
  std::string exits = "Exit status:";
  for (const ExitStatusSpec& e : kExitStatuses) {
    ((((exits += ' ') += e.status) += ' ') += e.meaning) += ';';
  }
  exits.back() = '.';
  out += Wrap(exits, 80, 0);
  // The overview explains the options too: most users never look further.
  out += "\nOptions of run, retry and resume ('shoal help COMMAND' for each command's):\n";
  for (OptionGroup g : {OptionGroup::kSettings, OptionGroup::kRun, OptionGroup::kOutput}) {
    out += GroupText(g, Verb::kRun, "run");
  }
  out += "\nOne line, no settings file:\n" + Indented(kOneLineText, "  ", 2);
  return out;
}

}  // namespace

std::span<const VerbSpec> Verbs() {
  return kVerbs;
}
std::span<const OptionSpec> Options() {
  return kOptions;
}
std::span<const std::string_view> OneLineUsages() {
  return kOneLineUsages;
}
std::string_view OneLineText() {
  return kOneLineText;
}
std::span<const UsageSpec> Usages() {
  return kUsages;
}
std::span<const ExitStatusSpec> ExitStatuses() {
  return kExitStatuses;
}

const VerbSpec* FindVerbSpec(std::string_view name) {
  for (const VerbSpec& v : kVerbs) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string_view GroupTitle(OptionGroup group) {
  switch (group) {
    case OptionGroup::kSettings:
      return "Settings options";
    case OptionGroup::kRun:
      return "Run options";
    case OptionGroup::kShard:
      return "Shard option";
    case OptionGroup::kSlurm:
      return "Slurm options";
    case OptionGroup::kOutput:
      return "Output options";
    case OptionGroup::kMerge:
      return "Merge options";
  }
  return "";
}

std::string OptionLabel(const OptionSpec& o) {
  std::string label = "--" + std::string(o.name);
  return o.letter ? std::string("-") + o.letter + ", " + label : label;
}

std::string OptionSynopsis(const OptionSpec& o) {
  if (o.arg.empty()) return OptionLabel(o);
  return OptionLabel(o) + (o.arg_after_equals ? "=" : " ") + std::string(o.arg);
}

std::string HelpText(const std::string& topic) {
  if (topic == "settings" || topic == "settings --markdown") {
    return SettingsReference(topic != "settings");
  }
  if (topic == "settings --man") return SettingsManPage();
  if (topic == "--man") return ManPage();
  if (topic.starts_with("completion ")) return CompletionScript(topic.substr(11));
  const VerbSpec* verb = FindVerbSpec(topic);
  if (verb == nullptr || verb->verb == Verb::kHelp) return Overview();
  return VerbText(*verb);
}

}  // namespace shoal
