#include "config/load.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace shoal {
namespace {

namespace fs = std::filesystem;

Settings Parse(std::string_view text, const std::vector<Override>& overrides = {}) {
  Result<Settings> r = ParseSettings(text, "s.toml", "/base", overrides);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Settings{};
}

// The message of a failed parse ("" when it succeeded, which fails the test).
std::string Error(std::string_view text, const std::vector<Override>& overrides = {}) {
  Result<Settings> r = ParseSettings(text, "s.toml", "/base", overrides);
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  return r.ok() ? "" : r.status().message();
}

std::string Cwd() {
  return fs::current_path().string();
}

void ExpectSame(const Settings& a, const Settings& b) {
  EXPECT_EQ(a.job.name, b.job.name);
  EXPECT_EQ(a.job.workers, b.job.workers);
  EXPECT_EQ(a.job.handler, b.job.handler);
  EXPECT_EQ(a.job.timeout.count(), b.job.timeout.count());
  EXPECT_EQ(a.job.retries, b.job.retries);
  EXPECT_EQ(a.job.retry_delay.count(), b.job.retry_delay.count());
  EXPECT_EQ(a.job.max_failures, b.job.max_failures);
  EXPECT_EQ(a.job.max_failures_percent, b.job.max_failures_percent);
  EXPECT_EQ(a.job.grace.count(), b.job.grace.count());
  EXPECT_EQ(a.input.path, b.input.path);
  EXPECT_EQ(a.input.kind, b.input.kind);
  EXPECT_EQ(a.input.recursive, b.input.recursive);
  EXPECT_EQ(a.input.max_depth, b.input.max_depth);
  EXPECT_EQ(a.input.select, b.input.select);
  EXPECT_EQ(a.input.require, b.input.require);
  EXPECT_EQ(a.input.include, b.input.include);
  EXPECT_EQ(a.input.exclude, b.input.exclude);
  EXPECT_EQ(a.input.follow_links, b.input.follow_links);
  EXPECT_EQ(a.input.hidden, b.input.hidden);
  EXPECT_EQ(a.input.walk_threads, b.input.walk_threads);
  EXPECT_EQ(a.input.separator, b.input.separator);
  EXPECT_EQ(a.input.skip_header, b.input.skip_header);
  EXPECT_EQ(a.input.column, b.input.column);
  EXPECT_EQ(a.input.items, b.input.items);
  EXPECT_EQ(a.input.shard, b.input.shard);
  EXPECT_EQ(a.command.argv, b.command.argv);
  EXPECT_EQ(a.command.shell, b.command.shell);
  EXPECT_EQ(a.command.stdout_mode, b.command.stdout_mode);
  EXPECT_EQ(a.command.stdout_path, b.command.stdout_path);
  EXPECT_EQ(a.command.env, b.command.env);
  EXPECT_EQ(a.command.cwd, b.command.cwd);
  EXPECT_EQ(a.command.batch, b.command.batch);
  EXPECT_EQ(a.command.max_args, b.command.max_args);
  EXPECT_EQ(a.command.max_bytes, b.command.max_bytes);
  EXPECT_EQ(a.plugin.library, b.plugin.library);
  EXPECT_EQ(a.plugin.config, b.plugin.config);
  EXPECT_EQ(a.http, b.http);
  EXPECT_EQ(a.output.dir, b.output.dir);
  EXPECT_EQ(a.output.tree, b.output.tree);
  EXPECT_EQ(a.output.format, b.output.format);
  EXPECT_EQ(a.output.order, b.output.order);
  EXPECT_EQ(a.output.print, b.output.print);
  EXPECT_EQ(a.output.tag, b.output.tag);
  EXPECT_EQ(a.output.tagstring, b.output.tagstring);
  EXPECT_EQ(a.output.item_logs, b.output.item_logs);
  EXPECT_EQ(a.output.status_every.count(), b.output.status_every.count());
  EXPECT_EQ(a.output.mode, b.output.mode);
  EXPECT_EQ(a.queue.slots, b.queue.slots);
  EXPECT_EQ(a.queue.batch, b.queue.batch);
}

// The built-in defaults with their paths resolved against /base.
Settings Defaults() {
  Settings s;
  s.input.path = "/base/data";
  s.output.dir = "/base/runs";
  return s;
}

TEST(LoadTest, EmptyTextGivesDefaults) {
  Settings s = Parse("");
  ExpectSame(s, Defaults());
  EXPECT_EQ(s.job.name, "job");
  EXPECT_EQ(s.job.grace.count(), 10000);
  EXPECT_EQ(s.output.status_every.count(), 30000);
  EXPECT_EQ(s.command.stdout_path, "{out}/{name}.out");
  EXPECT_EQ(s.queue.slots, 1024);
}

TEST(LoadTest, EmptySectionsGiveDefaults) {
  ExpectSame(Parse("[job]\n[input]\n[command]\n[plugin]\n[output]\n[queue]\n"), Defaults());
}

constexpr char kEveryKey[] = R"(
[job]
name = "nightly"
workers = 12
handler = "plugin"
timeout = "1.5s"
retries = 3
retry_delay = "250ms"
max_failures = 40
grace = "1m"

[input]
path = "lists/ids.csv"
kind = "list"
recursive = false
max_depth = 4
select = "dirs"
require = "CMakeLists.txt"
include = ["*.csv", "a/**"]
exclude = [".git"]
follow_links = true
separator = "nul"
skip_header = true
column = 2
items = "failed.txt"
shard = "3/8"

[command]
argv = ["curl", "-sf", "https://x/{item}"]
shell = false
stdout = "file"
stdout_path = "{out}/{stem}.json"
env = { LC_ALL = "C", TOKEN = "t" }
cwd = "work"

[plugin]
library = "./libjob.so"
config = { level = 3, ratio = 0.5, fast = true, mode = "x" }

[output]
dir = "/abs/runs"
format = "tsv"
order = "input"
item_logs = true
status_every = "2h"

[queue]
slots = 64
batch = 8
)";

TEST(LoadTest, EveryKeyIsRead) {
  Settings s = Parse(kEveryKey);
  EXPECT_EQ(s.job.name, "nightly");
  EXPECT_EQ(s.job.workers, 12);
  EXPECT_EQ(s.job.handler, HandlerKind::kPlugin);
  EXPECT_EQ(s.job.timeout.count(), 1500);
  EXPECT_EQ(s.job.retries, 3);
  EXPECT_EQ(s.job.retry_delay.count(), 250);
  EXPECT_EQ(s.job.max_failures, 40);
  EXPECT_EQ(s.job.max_failures_percent, 0);
  EXPECT_EQ(s.job.grace.count(), 60000);
  EXPECT_EQ(s.input.path, "/base/lists/ids.csv");
  EXPECT_EQ(s.input.kind, InputKind::kList);
  EXPECT_FALSE(s.input.recursive);
  EXPECT_EQ(s.input.max_depth, 4);
  EXPECT_EQ(s.input.select, Select::kDirs);
  EXPECT_EQ(s.input.require, "CMakeLists.txt");
  EXPECT_EQ(s.input.include, (std::vector<std::string>{"*.csv", "a/**"}));
  EXPECT_EQ(s.input.shard, "3/8");
  EXPECT_EQ(s.input.exclude, (std::vector<std::string>{".git"}));
  EXPECT_TRUE(s.input.follow_links);
  EXPECT_EQ(s.input.separator, Separator::kNul);
  EXPECT_TRUE(s.input.skip_header);
  EXPECT_EQ(s.input.column, 2);
  EXPECT_EQ(s.input.items, "/base/failed.txt");
  EXPECT_EQ(s.command.argv, (std::vector<std::string>{"curl", "-sf", "https://x/{item}"}));
  EXPECT_FALSE(s.command.shell);
  EXPECT_EQ(s.command.stdout_mode, StdoutMode::kFile);
  EXPECT_EQ(s.command.stdout_path, "{out}/{stem}.json");
  EXPECT_EQ(s.command.env, (std::map<std::string, std::string>{{"LC_ALL", "C"}, {"TOKEN", "t"}}));
  EXPECT_EQ(s.command.cwd, "/base/work");
  EXPECT_EQ(s.plugin.library, "/base/libjob.so");
  EXPECT_EQ(s.plugin.config,
            (std::map<std::string, std::string>{
                {"fast", "true"}, {"level", "3"}, {"mode", "x"}, {"ratio", "0.5"}}));
  EXPECT_EQ(s.output.dir, "/abs/runs");
  EXPECT_EQ(s.output.format, OutputFormat::kTsv);
  EXPECT_EQ(s.output.order, OutputOrder::kInput);
  EXPECT_TRUE(s.output.item_logs);
  EXPECT_EQ(s.output.status_every.count(), 7200000);
  EXPECT_EQ(s.queue.slots, 64);
  EXPECT_EQ(s.queue.batch, 8);
}

TEST(LoadTest, OtherEnumValues) {
  Settings s = Parse(
      "[job]\nhandler = \"sha256\"\n[input]\nkind = \"tree\"\n"
      "[command]\nstdout = \"discard\"\nshell = true\nargv = [\"gzip {path}\"]\n");
  EXPECT_EQ(s.job.handler, HandlerKind::kSha256);
  EXPECT_EQ(s.input.kind, InputKind::kTree);
  EXPECT_EQ(s.command.stdout_mode, StdoutMode::kDiscard);
  EXPECT_TRUE(s.command.shell);
}

TEST(LoadTest, SyntaxErrorHasPosition) {
  EXPECT_EQ(Error("[job]\nworkers = \n"),
            "s.toml:2:11: error while parsing key-value pair: expected value, saw '\\n'; "
            "fix the TOML syntax there (https://toml.io)");
  EXPECT_EQ(Error("[job]\nworkers = 1\nworkers = 2\n").substr(0, 13), "s.toml:3:11: ");
}

TEST(LoadTest, WrongTypes) {
  EXPECT_EQ(Error("[job]\nworkers = true\n"),
            "s.toml:2:11: job.workers must be a count or a share of the cores, got boolean true; "
            "write e.g. workers = 8, \"50%\", \"+2\" or \"-1\"");
  EXPECT_EQ(Error("[input]\nrecursive = \"yes\"\n"),
            "s.toml:2:13: input.recursive must be true or false, got string \"yes\"; "
            "write e.g. recursive = true");
  EXPECT_EQ(Error("[job]\nname = 7\n"),
            "s.toml:2:8: job.name must be a string, got integer 7; "
            "write e.g. name = \"checksums\"");
  EXPECT_EQ(Error("[job]\ntimeout = 10\n"),
            "s.toml:2:11: job.timeout must be a duration string, got integer 10; "
            "write e.g. timeout = \"2m\"");
  EXPECT_EQ(Error("[command]\nargv = \"ls\"\n"),
            "s.toml:2:8: command.argv must be an array of strings, got string \"ls\"; "
            "write e.g. argv = [\"gzip\", \"-kf\", \"{path}\"]");
  EXPECT_EQ(Error("[input]\ninclude = ['a', 3]\n"),
            "s.toml:2:17: input.include[1] must be a string, got integer 3; "
            "quote it, write e.g. include = [\"*.log\"]");
  EXPECT_EQ(Error("[command]\nenv = { A = 1 }\n"),
            "s.toml:2:13: command.env.A must be a string, got integer 1; quote it, e.g. A = \"1\"");
  EXPECT_EQ(Error("[plugin]\nconfig = { a = [1] }\n"),
            "s.toml:2:16: plugin.config.a must be a string, number or boolean, got array; "
            "pass structured values as one string, e.g. \"a,b,c\"");
  EXPECT_EQ(Error("[queue]\nslots = 1.5\n"),
            "s.toml:2:9: queue.slots must be an integer, got float 1.5; write e.g. slots = 1024");
  EXPECT_EQ(Error("job = 3\n"),
            "s.toml:1:1: 'job' must be a section, got integer; "
            "write [job] on a line of its own, then its keys below it");
}

TEST(LoadTest, Ranges) {
  EXPECT_EQ(Error("[job]\nworkers = 4097\n"),
            "s.toml:2:11: job.workers must be between 0 and 4096, got 4097; "
            "write e.g. workers = 8");
  EXPECT_EQ(Error("[job]\nworkers = -1\n").substr(0, 13), "s.toml:2:11: ");
  EXPECT_EQ(Error("[job]\nretries = -1\n"),
            "s.toml:2:11: job.retries must be 0 or more, got -1; write e.g. retries = 2");
  EXPECT_EQ(Error("[queue]\nslots = 0\n"),
            "s.toml:2:9: queue.slots must be between 1 and 1048576, got 0; "
            "write e.g. slots = 1024");
  EXPECT_NE(Error("[queue]\nslots = 1048577\n").find("got 1048577"), std::string::npos);
  EXPECT_EQ(Parse("[queue]\nslots = 1048576\n").queue.slots, 1048576);
  EXPECT_EQ(Parse("[job]\nworkers = 4096\n").job.workers, 4096);
  EXPECT_NE(Error("[queue]\nbatch = -2\n").find("queue.batch must be 0 or more, got -2"),
            std::string::npos);
  EXPECT_NE(Error("[input]\nmax_depth = -1\n").find("s.toml:2:13: input.max_depth must be 0"),
            std::string::npos);
  EXPECT_NE(Error("[input]\ncolumn = -1\n").find("s.toml:2:10: input.column must be 0"),
            std::string::npos);
  // Beyond int: no silent truncation.
  EXPECT_NE(Error("[job]\nretries = 4294967296\n")
                .find("job.retries must be at most 2147483647, got 4294967296"),
            std::string::npos);
}

TEST(LoadTest, EnumsListAcceptedValues) {
  EXPECT_EQ(
      Error("[job]\nhandler = \"shell\"\n"),
      "s.toml:2:11: job.handler must be one of \"command\", \"sha256\", \"plugin\", \"http\", "
      "\"python\", got \"shell\"; write e.g. handler = \"command\"");
  EXPECT_EQ(Error("[input]\nkind = \"tre\"\n"),
            "s.toml:2:8: input.kind must be one of \"auto\", \"tree\", \"list\", got \"tre\"; "
            "did you mean \"tree\"?");
  EXPECT_NE(Error("[output]\nformat = \"csv\"\n").find("\"jsonl\", \"tsv\""), std::string::npos);
  EXPECT_NE(Error("[output]\norder = 1\n")
                .find("output.order must be one of \"completion\", \"input\", got integer 1"),
            std::string::npos);
  EXPECT_NE(Error("[command]\nstdout = \"pipe\"\n").find("\"result\", \"file\", \"discard\""),
            std::string::npos);
  EXPECT_NE(Error("[input]\nseparator = \"tab\"\n").find("\"newline\", \"nul\""),
            std::string::npos);
  EXPECT_NE(Error("[input]\nselect = \"links\"\n").find("\"files\", \"dirs\""), std::string::npos);
}

TEST(LoadTest, DurationErrors) {
  EXPECT_EQ(Error("[job]\ntimeout = \"5x\"\n"),
            "s.toml:2:11: job.timeout: duration \"5x\" has an unknown unit \"x\"; "
            "use ms, s, m or h, e.g. \"2m\"");
  EXPECT_EQ(Error("[job]\ngrace = \"10\"\n"),
            "s.toml:2:9: job.grace: duration \"10\" has no unit; "
            "write e.g. \"10s\" (units: ms, s, m, h)");
  EXPECT_EQ(Error("[output]\nstatus_every = \"-1s\"\n"),
            "s.toml:2:16: output.status_every: duration \"-1s\" is negative; "
            "write \"0s\" for none, or e.g. \"2m\"");
  EXPECT_NE(Error("[job]\nretry_delay = \"soon\"\n").find("s.toml:2:15: job.retry_delay: "),
            std::string::npos);
}

TEST(LoadTest, UnknownNamesSuggest) {
  EXPECT_EQ(Error("[job]\nworker = 4\n"),
            "s.toml:2:1: unknown key 'job.worker'; did you mean 'workers'?");
  EXPECT_EQ(Error("[job]\nmax_fail = 4\n"),
            "s.toml:2:1: unknown key 'job.max_fail'; did you mean 'max_failures'?");
  EXPECT_EQ(Error("[jbo]\nworkers = 4\n"),
            "s.toml:1:2: unknown section [jbo]; did you mean 'job'?");
  EXPECT_EQ(Error("[queue]\nfoo = 1\n"),
            "s.toml:2:1: unknown key 'queue.foo'; the keys of [queue] are slots, batch");
  EXPECT_EQ(Error("[zzz]\n"),
            "s.toml:1:2: unknown section [zzz]; the sections are "
            "[job], [input], [command], [plugin], [http], [python], [output], [queue]");
  EXPECT_EQ(Error("workers = 4\n"),
            "s.toml:1:1: key 'workers' is outside any section; move it under [job]");
  EXPECT_NE(Error("job.wrokers = 4\n")
                .find("s.toml:1:5: unknown key 'job.wrokers'; "
                      "did you mean 'workers'?"),
            std::string::npos);
}

TEST(LoadTest, DidYouMean) {
  const std::vector<std::string> keys = {"workers", "retries", "retry_delay", "name"};
  EXPECT_EQ(DidYouMean("worker", keys), "workers");
  EXPECT_EQ(DidYouMean("wokrers", keys), "workers");    // distance 2
  EXPECT_EQ(DidYouMean("retry", keys), "retry_delay");  // a prefix
  EXPECT_EQ(DidYouMean("nmae", keys), "name");
  EXPECT_EQ(DidYouMean("workers_count", keys), "workers");
  EXPECT_EQ(DidYouMean("zzzzzz", keys), "");
  EXPECT_EQ(DidYouMean("", keys), "");
}

TEST(LoadTest, JobName) {
  EXPECT_EQ(Error("[job]\nname = \"a/b\"\n"),
            "s.toml:2:8: job.name \"a/b\" contains '/'; "
            "it names the run directory: write e.g. name = \"checksums\"");
  EXPECT_NE(Error("[job]\nname = \"\"\n").find("s.toml:2:8: job.name is empty"), std::string::npos);
  EXPECT_NE(Error("[job]\nname = \"..\"\n").find("not a usable directory name"), std::string::npos);
  EXPECT_NE(Error("[job]\nname = \".\"\n").find("not a usable directory name"), std::string::npos);
  EXPECT_NE(Error("[job]\nname = \"a\\nb\"\n").find("control character"), std::string::npos);
  EXPECT_EQ(Parse("[job]\nname = \"resize-2026 v2\"\n").job.name, "resize-2026 v2");
}

TEST(LoadTest, CombinationsThatCannotWork) {
  EXPECT_EQ(Error("[job]\nhandler = \"plugin\"\n"),
            "s.toml:2:11: job.handler = \"plugin\" needs plugin.library; "
            "set library = \"./libmyjob.so\" under [plugin]");
  EXPECT_EQ(Error("[command]\nstdout = \"file\"\nstdout_path = \"{out}/x.out\"\n"),
            "s.toml:3:15: command.stdout = \"file\" with stdout_path \"{out}/x.out\" writes every "
            "item's output to the same file; put a placeholder in stdout_path, e.g. "
            "\"{out}/{name}.out\"");
  EXPECT_NE(Error("[command]\nshell = true\nargv = [\"a\", \"b\"]\n")
                .find("s.toml:2:9: command.shell = true takes argv as one command line, got 2"),
            std::string::npos);
  EXPECT_EQ(Error("[input]\nrequire = \"CMakeLists.txt\"\n"),
            "s.toml:2:11: input.require only applies to directories; "
            "set select = \"dirs\" under [input], or remove require");
  EXPECT_NE(Error("[input]\npath = \"\"\n").find("s.toml:2:8: input.path is empty"),
            std::string::npos);
  EXPECT_NE(Error("[output]\ndir = \"\"\n").find("s.toml:2:7: output.dir is empty"),
            std::string::npos);
  EXPECT_NE(Error("[command]\nenv = { \"A=B\" = \"1\" }\n").find("s.toml:2:9: "),
            std::string::npos);
}

TEST(LoadTest, AllProblemsReportedInFileOrder) {
  EXPECT_EQ(
      Error("[queue]\nslots = 0\n[job]\nworkers = \"x\"\n"),
      "s.toml:2:9: queue.slots must be between 1 and 1048576, got 0; write e.g. slots = 1024\n"
      "s.toml:4:11: job.workers \"x\" is not a number of workers: a count, \"N%\" of the online "
      "cores, \"+N\" or \"-N\" (N up to 4096) more or fewer than them; write e.g. workers = 8, "
      "\"50%\", \"+2\" or \"-1\"");
}

TEST(LoadTest, WorkersRelativeToTheCores) {
  Settings s = Parse("[job]\nworkers = \"50%\"\n");
  EXPECT_EQ(s.job.workers, 0);
  EXPECT_EQ(s.job.workers_share, "50%");
  EXPECT_EQ(Parse("[job]\nworkers = \"+2\"\n").job.workers_share, "+2");
  EXPECT_EQ(Parse("[job]\nworkers = \"-1\"\n").job.workers_share, "-1");
  EXPECT_EQ(Parse("[job]\nworkers = 3\n").job.workers_share, "");
  // The command line: -j 50%, -j -1 (a string: fewer than the cores), -j 8.
  EXPECT_EQ(Parse("", {{"job.workers", "50%", true, "-j 50%"}}).job.workers_share, "50%");
  EXPECT_EQ(Parse("", {{"job.workers", "-1", true, "-j -1"}}).job.workers_share, "-1");
  EXPECT_EQ(Parse("", {{"job.workers", "8", true, "-j 8"}}).job.workers, 8);
  // The last one wins, either way round.
  Settings both = Parse("[job]\nworkers = \"50%\"\n", {{"job.workers", "8", true, "-j 8"}});
  EXPECT_EQ(both.job.workers, 8);
  EXPECT_EQ(both.job.workers_share, "");
  for (std::string_view bad : {"x", "%", "0%", "-50%", "+", "+x", "1.5", "+5000", "-1%"}) {
    EXPECT_NE(Error("", {{"job.workers", std::string(bad), true, "-j " + std::string(bad)}})
                  .find("is not a number of workers"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(Error("", {{"job.workers", "x", true, "-j x"}}).find("; write e.g. -j 8, -j 50%"),
            std::string::npos);
  EXPECT_NE(Error("[job]\nworkers = -1\n").find("fewer than the cores is a string: \"-1\""),
            std::string::npos);
}

TEST(LoadTest, HaltAndMaxFailuresAreOneRule) {
  EXPECT_EQ(Parse("[job]\nhalt = \"now,fail=1\"\n").job.halt, "now,fail=1");
  EXPECT_NE(Error("[job]\nhalt = \"later,fail=1\"\n").find("WHEN is \"soon\" or \"now\""),
            std::string::npos);
  EXPECT_NE(
      Error("", {{"job.halt", "now", true, "--halt now"}}).find("write e.g. --halt now,fail=1"),
      std::string::npos);
  EXPECT_EQ(Error("[job]\nmax_failures = 3\nhalt = \"soon,fail=3\"\n"),
            "s.toml:3:8: job.max_failures and job.halt are both set; max_failures = N is the older "
            "spelling of halt = \"soon,fail=N\"; keep one of the two (job.halt says all that "
            "max_failures does, and \"now\" too)");
  // "never" with max_failures is no conflict.
  EXPECT_EQ(Parse("[job]\nmax_failures = 3\nhalt = \"never\"\n").job.max_failures, 3);
}

// sha256sum -c must read the sha256 handler's results.tsv: never compressed.
TEST(LoadTest, Sha256SumsAreNeverCompressed) {
  EXPECT_NE(Error("[job]\nhandler = \"sha256\"\n[output]\nformat = \"tsv\"\n"
                  "compress = \"zstd\"\n")
                .find("set format = \"jsonl\" under [output] to compress the records"),
            std::string::npos);
  EXPECT_EQ(Parse("[job]\nhandler = \"sha256\"\n[output]\ncompress = \"zstd\"\n").output.compress,
            Compression::kZstd);
  EXPECT_EQ(Parse("[output]\nformat = \"tsv\"\ncompress = \"zstd\"\n").output.compress,
            Compression::kZstd);
}

TEST(LoadTest, PacingKeys) {
  Settings s = Parse("[job]\ndelay = \"250ms\"\nmemfree = \"2G\"\nload = \"3.5\"\n");
  EXPECT_EQ(s.job.delay, Millis(250));
  EXPECT_EQ(s.job.memfree, "2G");
  EXPECT_EQ(s.job.load, "3.5");
  EXPECT_NE(Error("[job]\nmemfree = \"lots\"\n").find("job.memfree \"lots\" is not a size"),
            std::string::npos);
  EXPECT_NE(Error("", {{"job.load", "high", true, "--load high"}}).find("write e.g. --load 4"),
            std::string::npos);
  // A share of the online cores, as parallel's --load 100%.
  EXPECT_EQ(Parse("[job]\nload = \"100%\"\n").job.load, "100%");
  EXPECT_EQ(Parse("", {{"job.load", "50%", true, "--load 50%"}}).job.load, "50%");
  const std::string zero = Error("[job]\nload = \"0%\"\n");
  EXPECT_NE(zero.find("job.load \"0%\" is not a load average"), std::string::npos) << zero;
  EXPECT_NE(zero.find("write e.g. load = \"4\", \"2.5\" or \"100%\""), std::string::npos) << zero;
  EXPECT_NE(Error("", {{"job.load", "+2", true, "--load +2"}}).find("--load 100%"),
            std::string::npos);
  EXPECT_NE(Error("", {{"job.delay", "soon", true, "--delay soon"}}).find("--delay soon"),
            std::string::npos);
}

TEST(LoadTest, MaxFailures) {
  Settings s = Parse("[job]\nmax_failures = \"5%\"\n");
  EXPECT_EQ(s.job.max_failures, 0);
  EXPECT_DOUBLE_EQ(s.job.max_failures_percent, 5.0);
  EXPECT_DOUBLE_EQ(Parse("[job]\nmax_failures = \"12.5%\"\n").job.max_failures_percent, 12.5);
  EXPECT_DOUBLE_EQ(Parse("[job]\nmax_failures = \"100%\"\n").job.max_failures_percent, 100.0);
  EXPECT_EQ(Parse("[job]\nmax_failures = 7\n").job.max_failures, 7);
  EXPECT_EQ(Error("[job]\nmax_failures = \"0%\"\n"),
            "s.toml:2:16: job.max_failures percentage must be above 0% and at most 100%, got "
            "\"0%\"; write e.g. max_failures = 10 or max_failures = \"5%\"");
  EXPECT_NE(Error("[job]\nmax_failures = \"101%\"\n").find("at most 100%"), std::string::npos);
  EXPECT_NE(Error("[job]\nmax_failures = \"-5%\"\n").find("a count or a percentage"),
            std::string::npos);
  EXPECT_NE(Error("[job]\nmax_failures = \"5\"\n").find("got string \"5\""), std::string::npos);
  EXPECT_NE(Error("[job]\nmax_failures = \"%\"\n").find("a count or a percentage"),
            std::string::npos);
  EXPECT_NE(Error("[job]\nmax_failures = -1\n").find("job.max_failures must be 0 or more"),
            std::string::npos);
  EXPECT_NE(Error("[job]\nmax_failures = 2.5\n").find("got float 2.5"), std::string::npos);
}

struct DurationCase {
  const char* text;
  int64_t ms;
};

TEST(LoadTest, Shard) {
  EXPECT_EQ(Parse("[input]\nshard = \"0/1\"\n").input.shard, "0/1");
  EXPECT_EQ(Parse("[input]\nshard = \"15/16\"\n").input.shard, "15/16");
  EXPECT_EQ(Parse("").input.shard, "");
  EXPECT_EQ(Parse("[input]\nshard = \"\"\n").input.shard, "");
  EXPECT_EQ(Error("[input]\nshard = \"4/4\"\n"),
            "s.toml:2:9: input.shard \"4/4\": shard 4 does not exist, shards are numbered 0 to "
            "3; write K/N with K from 0 to N-1, e.g. shard = \"0/4\"");
  EXPECT_EQ(Error("[input]\nshard = \"1/0\"\n"),
            "s.toml:2:9: input.shard \"1/0\" has 0 shards; N must be between 1 and 1000000; "
            "write K/N with K from 0 to N-1, e.g. shard = \"0/4\"");
  for (const char* bad :
       {"1", "1/", "/4", "a/4", "-1/4", "1/4/2", " 1/4", "1/99999999999999999999"}) {
    const std::string e = Error(std::string("[input]\nshard = \"") + bad + "\"\n");
    EXPECT_EQ(e.rfind("s.toml:2:9: input.shard must be K/N, got", 0), 0u) << bad << ": " << e;
  }
  EXPECT_EQ(Error("[input]\nshard = 3\n"),
            "s.toml:2:9: input.shard must be a string, got integer 3; write e.g. shard = \"0/4\"");
  // From --shard: the message names the option.
  EXPECT_EQ(Parse("", {{"input.shard", "2/3", true, "--shard 2/3"}}).input.shard, "2/3");
  EXPECT_EQ(Error("", {{"input.shard", "3/3", true, "--shard 3/3"}}),
            "--shard 3/3: input.shard \"3/3\": shard 3 does not exist, shards are numbered 0 to "
            "2; write K/N with K from 0 to N-1, e.g. --shard 0/4");
}

TEST(DurationTest, Accepted) {
  const DurationCase cases[] = {
      {"0s", 0},          {"0ms", 0},    {"1500ms", 1500}, {"2m", 120000},   {"1h", 3600000},
      {"1.5s", 1500},     {"0.1s", 100}, {"10s", 10000},   {"1.25m", 75000}, {"1h30m", 5400000},
      {"1m30.5s", 90500}, {".5s", 500},  {"0.0004s", 0},   {"0.0005s", 1},   {"48h", 172800000},
  };
  for (const DurationCase& c : cases) {
    Result<Millis> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().message();
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(DurationTest, Refused) {
  const char* cases[] = {"",    "10",   "1.5", "5x",   "-1s",    "s",
                         "1 s", "1,5s", "abc", "1sec", "1.5.5s", "99999999999999999999h"};
  for (const char* c : cases) {
    Result<Millis> d = ParseDuration(c);
    EXPECT_FALSE(d.ok()) << c;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find(';'), std::string::npos) << c;
    }
  }
  EXPECT_EQ(ParseDuration("10").status().message(),
            "duration \"10\" has no unit; write e.g. \"10s\" (units: ms, s, m, h)");
  EXPECT_EQ(ParseDuration("abc").status().message(),
            "\"abc\" is not a duration; write a number and a unit (ms, s, m, h), "
            "e.g. \"2m\" or \"1.5s\"");
}

TEST(DurationTest, FormatIsExactAndReadable) {
  const DurationCase cases[] = {
      {"0s", 0},          {"250ms", 250},     {"1.5s", 1500},
      {"10s", 10000},     {"2m", 120000},     {"1h", 3600000},
      {"1h30m", 5400000}, {"1m30.5s", 90500}, {"1h250ms", 3600250},
      {"25h", 90000000},  {"1.001s", 1001},
  };
  for (const DurationCase& c : cases) {
    EXPECT_EQ(FormatDuration(Millis(c.ms)), c.text);
    Result<Millis> back = ParseDuration(FormatDuration(Millis(c.ms)));
    ASSERT_TRUE(back.ok()) << c.text;
    EXPECT_EQ(back->count(), c.ms);
  }
}

TEST(SettingsOverrideTest, AppliedInOrderOverTheFile) {
  const char* file = "[job]\nworkers = 2\n";
  EXPECT_EQ(Parse(file).job.workers, 2);
  EXPECT_EQ(Parse(file, {{"job.workers", "4", true, "-j 4"}}).job.workers, 4);
  EXPECT_EQ(Parse(file, {{"job.workers", "4", true, "-j 4"},
                         {"job.workers", "8", false, "--set job.workers=8"}})
                .job.workers,
            8);
  EXPECT_EQ(Parse(file, {{"job.workers", "8", false, "--set job.workers=8"},
                         {"job.workers", "4", true, "-j 4"}})
                .job.workers,
            4);
}

TEST(SettingsOverrideTest, ValuesAreTomlOrPlainStrings) {
  Settings s = Parse("", {
                             {"input.path", "data2", false, ""},
                             {"job.workers", "4", false, ""},
                             {"command.argv", "[\"echo\",\"{}\"]", false, ""},
                             {"job.timeout", "1m", false, ""},
                             {"job.name", "2024", false, ""},  // a string key keeps the text
                             {"job.max_failures", "5%", false, ""},
                             {"input.recursive", "false", false, ""},
                             {"command.env.LC_ALL", "C", false, ""},
                             {"command.env.N", "4", false, ""},
                             {"plugin.config.level", "3", false, ""},
                             {"input.require", "\"quoted name\"", false, ""},
                             {"input.select", "dirs", false, ""},
                         });
  EXPECT_EQ(s.input.path, Cwd() + "/data2");
  EXPECT_EQ(s.job.workers, 4);
  EXPECT_EQ(s.command.argv, (std::vector<std::string>{"echo", "{}"}));
  EXPECT_EQ(s.job.timeout.count(), 60000);
  EXPECT_EQ(s.job.name, "2024");
  EXPECT_DOUBLE_EQ(s.job.max_failures_percent, 5.0);
  EXPECT_FALSE(s.input.recursive);
  EXPECT_EQ(s.command.env, (std::map<std::string, std::string>{{"LC_ALL", "C"}, {"N", "4"}}));
  EXPECT_EQ(s.plugin.config.at("level"), "3");
  EXPECT_EQ(s.input.require, "quoted name");
}

TEST(SettingsOverrideTest, SubKeyAddsToTheFilesTable) {
  Settings s = Parse("[command]\nenv = { A = \"1\" }\n", {{"command.env.B", "2", false, ""}});
  EXPECT_EQ(s.command.env, (std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}}));
  s = Parse("[command]\nenv = { A = \"1\" }\n", {{"command.env", "{ C = \"3\" }", false, ""}});
  EXPECT_EQ(s.command.env, (std::map<std::string, std::string>{{"C", "3"}}));
}

TEST(SettingsOverrideTest, RawIntegerKey) {
  EXPECT_EQ(Parse("", {{"job.workers", "16", true, "-j 16"}}).job.workers, 16);
  EXPECT_EQ(Error("", {{"job.workers", "x", true, "-j x"}}),
            "-j x: job.workers \"x\" is not a number of workers: a count, \"N%\" of the online "
            "cores, \"+N\" or \"-N\" (N up to 4096) more or fewer than them; write e.g. -j 8, "
            "-j 50%, -j +2 or -j -1");
  EXPECT_EQ(Error("", {{"job.workers", "0x10", true, "--workers=0x10"}}).substr(0, 16),
            "--workers=0x10: ");
  // -j -1 is one fewer than the cores (a string); --set job.workers=-1 an integer.
  EXPECT_EQ(Parse("", {{"job.workers", "-1", true, "-j -1"}}).job.workers_share, "-1");
  EXPECT_EQ(Error("", {{"job.workers", "-1", false, "--set job.workers=-1"}}),
            "--set job.workers=-1: job.workers must be between 0 and 4096, got -1 (fewer than "
            "the cores is a string: \"-1\"); write e.g. job.workers=8");
  // Raw is a string even if it looks like TOML.
  EXPECT_EQ(Parse("", {{"input.path", "[1]", true, "-i [1]"}}).input.path, Cwd() + "/[1]");
}

TEST(SettingsOverrideTest, ErrorsNameTheOrigin) {
  EXPECT_EQ(Error("[job]\nworkers = 2\n", {{"job.workers", "x", false, "--set job.workers=x"}}),
            "--set job.workers=x: job.workers \"x\" is not a number of workers: a count, \"N%\" "
            "of the online cores, \"+N\" or \"-N\" (N up to 4096) more or fewer than them; "
            "write e.g. -j 8, -j 50%, -j +2 or -j -1");
  EXPECT_EQ(Error("", {{"job.worker", "4", false, "--set job.worker=4"}}),
            "--set job.worker=4: unknown key 'job.worker'; did you mean 'job.workers'?");
  EXPECT_EQ(Error("", {{"jbo.workers", "4", false, "--set jbo.workers=4"}}),
            "--set jbo.workers=4: unknown section 'jbo'; did you mean 'job'?");
  EXPECT_EQ(Error("", {{"workers", "4", false, "--set workers=4"}}),
            "--set workers=4: 'workers' is not a SECTION.KEY name; did you mean 'job.workers'?");
  EXPECT_EQ(Error("", {{"job.workers.x", "4", false, "--set job.workers.x=4"}}),
            "--set job.workers.x=4: 'job.workers.x' names no key; write job.workers=VALUE");
  EXPECT_EQ(Error("", {{"job.timeout", "10", false, "--set job.timeout=10"}}),
            "--set job.timeout=10: job.timeout: duration \"10\" has no unit; "
            "write e.g. \"10s\" (units: ms, s, m, h)");
  EXPECT_EQ(Error("", {{"plugin.config.N", "[1]", false, "--set plugin.config.N=[1]"}}),
            "--set plugin.config.N=[1]: plugin.config.N must be a string, number or boolean, got "
            "array; pass structured values as one string, e.g. \"a,b,c\"");
  // An env value is text: [1] stays "[1]".
  EXPECT_EQ(Parse("", {{"command.env.N", "[1]", false, ""}}).command.env.at("N"), "[1]");
  // Without an origin the override is shown as --set.
  EXPECT_EQ(Error("", {{"job.retries", "-3", false, ""}}).substr(0, 23), "--set job.retries=-3: j");
  // A file error is still reported under the file's position, overrides after it.
  EXPECT_EQ(
      Error("[queue]\nslots = 0\n", {{"job.workers", "x", true, "-j x"}}),
      "s.toml:2:9: queue.slots must be between 1 and 1048576, got 0; write e.g. slots = 1024\n"
      "-j x: job.workers \"x\" is not a number of workers: a count, \"N%\" of the online "
      "cores, \"+N\" or \"-N\" (N up to 4096) more or fewer than them; write e.g. -j 8, "
      "-j 50%, -j +2 or -j -1");
  // An override that fixes the file's value hides the file's error.
  EXPECT_EQ(Parse("[job]\nworkers = \"x\"\n", {{"job.workers", "3", true, "-j 3"}}).job.workers, 3);
}

TEST(SettingsPathTest, FilePathsAreRelativeToTheFile) {
  Settings s = Parse(
      "[input]\npath = \"../in/./x/\"\n[output]\ndir = \"out\"\n"
      "[plugin]\nlibrary = \"lib/../libp.so\"\n[command]\ncwd = \"w\"\n");
  EXPECT_EQ(s.input.path, "/in/x");
  EXPECT_EQ(s.output.dir, "/base/out");
  EXPECT_EQ(s.plugin.library, "/base/libp.so");
  EXPECT_EQ(s.command.cwd, "/base/w");
}

TEST(SettingsPathTest, OverridePathsAreRelativeToTheCurrentDirectory) {
  Settings s = Parse("[input]\npath = \"in\"\n", {{"input.path", "sub/x", true, "-i sub/x"},
                                                  {"output.dir", "../o", true, "-o ../o"},
                                                  {"command.cwd", "c", false, ""}});
  EXPECT_EQ(s.input.path, (fs::path(Cwd()) / "sub/x").lexically_normal().string());
  EXPECT_EQ(s.output.dir, (fs::path(Cwd()) / "../o").lexically_normal().string());
  EXPECT_EQ(s.command.cwd, Cwd() + "/c");
}

TEST(SettingsPathTest, SpecialValuesStay) {
  Settings s = Parse("[input]\npath = \"-\"\n[command]\ncwd = \"{dir}\"\n");
  EXPECT_EQ(s.input.path, "-");
  EXPECT_EQ(s.command.cwd, "{dir}");
  EXPECT_EQ(s.plugin.library, "");
  EXPECT_EQ(s.input.items, "");
  EXPECT_EQ(Parse("", {{"input.path", "-", true, "-i -"}}).input.path, "-");
  EXPECT_EQ(Parse("[input]\nitems = \"-\"\n").input.items, "-");
  EXPECT_EQ(Parse("", {{"input.items", "f.txt", false, ""}}).input.items, Cwd() + "/f.txt");
  EXPECT_EQ(Parse("[output]\ndir = \"/abs//x/\"\n").output.dir, "/abs/x");
}

TEST(SettingsPathTest, RelativeBaseDirIsMadeAbsolute) {
  Result<Settings> r = ParseSettings("", "s.toml", "conf", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input.path, Cwd() + "/conf/data");
}

TEST(SettingsToTomlTest, TomlTextGivesTheSameSettings) {
  Settings s = Parse(kEveryKey);
  s.job.name = "a \"quoted\" \\ name é";
  s.command.stdout_path = "{out}/{name}\t.out";
  s.input.require = "line\nbreak \x01 ctl";
  s.command.env = {{"WITH SPACE", "x"}, {"A.B", "y"}, {"Z", ""}};
  s.plugin.config = {{"k", "v \"q\""}, {"n", "3"}};
  s.job.max_failures = 0;
  s.job.max_failures_percent = 12.5;
  s.job.timeout = Millis(3600250);
  s.command.argv = {};

  const std::string text = SettingsToToml(s);
  Result<Settings> back = ParseSettings(text, "effective.toml", "/elsewhere", {});
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << text;
  ExpectSame(*back, s);
  EXPECT_NE(text.find("max_failures = \"12.5%\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("timeout = \"1h250ms\"\n"), std::string::npos) << text;
}

TEST(SettingsToTomlTest, TinyPercentage) {
  Settings s = Defaults();
  s.job.max_failures_percent = 0.00001;
  const std::string text = SettingsToToml(s);
  EXPECT_NE(text.find("max_failures = \"0.00001%\"\n"), std::string::npos) << text;
  Result<Settings> back = ParseSettings(text, "x", "/", {});
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->job.max_failures_percent, 0.00001);
}

TEST(SettingsToTomlTest, DefaultsAndCounts) {
  Settings s = Defaults();
  s.job.max_failures = 25;
  Result<Settings> back = ParseSettings(SettingsToToml(s), "x", "/nowhere", {});
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSame(*back, s);
}

// Keys of a TOML text, in order, as "section.key".
std::vector<std::string> KeysIn(const std::string& text) {
  std::vector<std::string> keys;
  std::string section;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ' ') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    keys.push_back(section + "." + line.substr(0, line.find(' ')));
  }
  return keys;
}

const std::vector<std::string> kSpecOrder = {
    // [job]
    "job.name",
    "job.workers",
    "job.handler",
    "job.timeout",
    "job.retries",
    "job.retry_delay",
    "job.retry_delay_max",
    "job.max_failures",
    "job.halt",
    "job.grace",
    "job.worker_timeout",
    "job.rate",
    "job.delay",
    "job.memfree",
    "job.load",
    // [input]
    "input.path",
    "input.kind",
    "input.recursive",
    "input.max_depth",
    "input.select",
    "input.require",
    "input.include",
    "input.exclude",
    "input.follow_links",
    "input.hidden",
    "input.walk_threads",
    "input.separator",
    "input.skip_header",
    "input.column",
    "input.delimiter",
    "input.colsep",
    "input.header",
    "input.field_names",
    "input.items",
    "input.shard",
    // [command]
    "command.argv",
    "command.shell",
    "command.stdout",
    "command.stdout_path",
    "command.env",
    "command.cwd",
    "command.batch",
    "command.max_args",
    "command.max_bytes",
    // [plugin]
    "plugin.library",
    "plugin.config",
    // [http]
    "http.url",
    "http.method",
    "http.headers",
    "http.body",
    "http.body_file",
    "http.body_encoding",
    "http.concurrency",
    "http.connect_timeout",
    "http.idle_timeout",
    "http.success",
    "http.retry_on",
    "http.max_body",
    "http.response",
    "http.response_path",
    "http.insecure",
    "http.ca_file",
    // [python]
    "python.module",
    "python.path",
    "python.function",
    "python.executable",
    "python.config",
    // [output]
    "output.dir",
    "output.tree",
    "output.format",
    "output.order",
    "output.compress",
    "output.records",
    "output.print",
    "output.tag",
    "output.tagstring",
    "output.item_logs",
    "output.status_every",
    "output.mode",
    // [queue]
    "queue.slots",
    "queue.batch",
};

TEST(SettingsToTomlTest, EveryKeyInSpecOrder) {
  EXPECT_EQ(KeysIn(SettingsToToml(Defaults())), kSpecOrder);
}

TEST(InitTemplateTest, AcceptedAndComplete) {
  const std::string text = InitTemplate();
  Result<Settings> r = ParseSettings(text, "settings.toml", "/base", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  Settings expected = Defaults();
  expected.command.argv = {"gzip", "-kf", "{path}"};
  expected.http.url = "https://api.example/customers/{item}";
  ExpectSame(*r, expected);
  EXPECT_EQ(KeysIn(text), kSpecOrder);
  EXPECT_NE(text.find("# "), std::string::npos);
}

class LoadFileTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_load_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(LoadFileTest, PathsRelativeToTheFilesDirectory) {
  const std::string path = Write("settings.toml", "[input]\npath = \"in\"\n");
  Result<Settings> r = LoadSettings(path, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->input.path, dir_ + "/in");
  EXPECT_EQ(r->output.dir, dir_ + "/runs");
}

TEST_F(LoadFileTest, ErrorsNameTheFileAsGiven) {
  const std::string path = Write("bad.toml", "[job]\nworkers = true\n");
  Result<Settings> r = LoadSettings(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path +
                                      ":2:11: job.workers must be a count or a share of the "
                                      "cores, got boolean true; write e.g. workers = 8, \"50%\", "
                                      "\"+2\" or \"-1\"");
}

TEST_F(LoadFileTest, MissingFile) {
  const std::string path = dir_ + "/none.toml";
  Result<Settings> r = LoadSettings(path, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path + ": no such file; create one with 'shoal init " + path + "' or name another");

  Result<Settings> d = LoadSettings(path, {{"job.workers", "3", true, "-j 3"}}, true);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->job.workers, 3);
  EXPECT_EQ(d->input.path, Cwd() + "/data");
}

TEST_F(LoadFileTest, UnreadableFile) {
  Result<Settings> r = LoadSettings(dir_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), dir_ + ": Is a directory");
}

TEST_F(LoadFileTest, InitTemplateLoads) {
  const std::string path = Write("settings.toml", InitTemplate());
  Result<Settings> r = LoadSettings(path, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->input.path, dir_ + "/data");
}

// A run directory's settings.toml must read back as what the master runs by:
// a value TOML cannot hold is refused when loading, naming its key.
TEST_F(LoadFileTest, ValuesThatCannotBeStoredAreRefusedByName) {
  const std::string path = Write("settings.toml", "[command]\nargv = [\"true\"]\n");
  const std::string latin1 = dir_ + "/caf\xe9.txt";
  Result<Settings> r = LoadSettings(path, {{"input.path", latin1, true, "-i " + latin1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUsage);
  EXPECT_TRUE(r.status().message().starts_with("input.path cannot be stored"))
      << r.status().message();
  r = LoadSettings(path, {{"command.env.NAME", "caf\xe9", false, ""}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with("command.env")) << r.status().message();

  r = LoadSettings(path, {{"input.path", dir_ + "/caf\xc3\xa9.txt", true, ""}});  // UTF-8
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(CheckStorable(*r).ok());
}

}  // namespace
}  // namespace shoal
