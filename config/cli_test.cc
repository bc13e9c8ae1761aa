#include "config/cli.h"

#include <gtest/gtest.h>

#include "config/help.h"

namespace shoal {
namespace {

Result<CommandLine> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "shoal");
  return ParseCommandLine(static_cast<int>(args.size()), args.data());
}

CommandLine Ok(std::vector<const char*> args) {
  Result<CommandLine> r = Parse(args);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : CommandLine{};
}

std::string Error(std::vector<const char*> args) {
  Result<CommandLine> r = Parse(args);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

void ExpectOverride(const Override& o, const std::string& key, const std::string& value, bool raw,
                    const std::string& origin) {
  EXPECT_EQ(o.key, key);
  EXPECT_EQ(o.value, value);
  EXPECT_EQ(o.raw, raw);
  EXPECT_EQ(o.origin, origin);
}

// The words of command.argv, from the override the one-line form made.
std::string ArgvOverride(const CommandLine& cl) {
  for (const Override& o : cl.overrides) {
    if (o.key == "command.argv") return o.value;
  }
  return "";
}

std::string OverrideValue(const CommandLine& cl, const std::string& key) {
  std::string value = "<none>";
  for (const Override& o : cl.overrides) {
    if (o.key == key) value = o.value;  // the last wins, as when loading
  }
  return value;
}

TEST(CliTest, OneLineItemsAfterTripleColon) {
  CommandLine cl = Ok({"echo", "{}", ":::", "a", "b c"});
  EXPECT_EQ(cl.verb, Verb::kRun);
  EXPECT_TRUE(cl.one_line);
  EXPECT_EQ(cl.command, (std::vector<std::string>{"echo", "{}"}));
  EXPECT_EQ(cl.items, (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(cl.items_path, "");
  EXPECT_EQ(ArgvOverride(cl), "[\"echo\", \"{}\"]");
  EXPECT_EQ(OverrideValue(cl, "job.handler"), "command");
  EXPECT_EQ(OverrideValue(cl, "output.print"), "group");
  EXPECT_EQ(OverrideValue(cl, "job.name"), "echo");
  EXPECT_EQ(OverrideValue(cl, "input.path"), "<none>");  // the master stores the items
}

// parallel 'convert {} {.}.png' ::: *.jpg: the words apart, no shell needed.
TEST(CliTest, OneLineCommandInOneWordIsSplitWhenNoShellWouldReadItOtherwise) {
  EXPECT_EQ(ArgvOverride(Ok({"convert {} {.}.png", ":::", "a.jpg"})),
            "[\"convert\", \"{}\", \"{.}.png\"]");
  EXPECT_EQ(ArgvOverride(Ok({"gzip  -k\t-9", "x", ":::", "a"})),
            "[\"gzip\", \"-k\", \"-9\", \"x\", \"{}\"]");  // {} appended after the words
  EXPECT_EQ(OverrideValue(Ok({"wc -l", ":::", "a"}), "job.name"), "wc");
  for (const char* shells : {"gzip -c {} > {}.gz", "echo '{}'", "echo $HOME {}", "ls *.txt",
                             "LC_ALL=C sort {}", "a;b {}", "echo \"{}\""}) {
    EXPECT_TRUE(PlainCommandWords(shells).empty()) << shells;
    EXPECT_EQ(Ok({shells, ":::", "a"}).command.front(), shells);
  }
  EXPECT_TRUE(PlainCommandWords("gzip").empty());  // one word already
  EXPECT_TRUE(PlainCommandWords(" \t ").empty());  // blanks: no program at all
  // With --shell the line is the shell's, as typed.
  EXPECT_EQ(ArgvOverride(Ok({"--shell", "convert {} {.}.png", ":::", "a"})),
            "[\"convert {} {.}.png\"]");
}

TEST(CliTest, OneLineFileAndStdin) {
  CommandLine file = Ok({"wc", "-l", "::::", "list.txt"});
  EXPECT_EQ(file.items_path, "list.txt");
  EXPECT_EQ(OverrideValue(file, "input.path"), "list.txt");
  CommandLine in = Ok({"/usr/bin/gzip", "-k"});
  EXPECT_EQ(in.items_path, "-");
  EXPECT_TRUE(in.items.empty());
  EXPECT_EQ(OverrideValue(in, "input.path"), "-");
  EXPECT_EQ(OverrideValue(in, "job.name"), "gzip");
  EXPECT_EQ(Error({"wc", "::::"}), ":::: takes one FILE (- = stdin); see 'shoal --help'");
  EXPECT_EQ(Error({"wc", ":::"}), "::: needs items after it; see 'shoal --help'");
}

TEST(CliTest, OneLineAppendsThePlaceholderOnlyWhenNoneIsThere) {
  EXPECT_EQ(Ok({"gzip", "-k", ":::", "a"}).command, (std::vector<std::string>{"gzip", "-k", "{}"}));
  EXPECT_EQ(Ok({"cp", "{}", "{.}.bak", ":::", "a"}).command,
            (std::vector<std::string>{"cp", "{}", "{.}.bak"}));
  EXPECT_EQ(Ok({"echo", "x{1}y", ":::", "a"}).command.size(), 2u);
  // Braces around text with a space are awk's, not a placeholder.
  EXPECT_EQ(Ok({"awk", "{print $1}", ":::", "a"}).command,
            (std::vector<std::string>{"awk", "{print $1}", "{}"}));
  EXPECT_TRUE(HasPlaceholder("{}"));
  EXPECT_TRUE(HasPlaceholder("pre{path}post"));
  EXPECT_FALSE(HasPlaceholder("{ x }"));
  EXPECT_FALSE(HasPlaceholder("}{"));
  EXPECT_FALSE(HasPlaceholder("BEGIN{x=1}"));
  EXPECT_FALSE(HasPlaceholder("${HOME}"));
  EXPECT_FALSE(HasPlaceholder("{{path}}"));
  EXPECT_TRUE(HasPlaceholder("{nmae}"));  // a misspelt one: the template says so
  EXPECT_TRUE(HasPlaceholder("${HOME}{}"));
}

TEST(CliTest, OneLineOptionsBeforeTheCommandOnly) {
  CommandLine cl = Ok({"-j", "3", "--keep-order", "--tag", "-o", "/r", "--set", "job.retries=2",
                       "gzip", "-kf", "-j", "{}", ":::", "a.log"});
  EXPECT_EQ(cl.command, (std::vector<std::string>{"gzip", "-kf", "-j", "{}"}));
  EXPECT_EQ(OverrideValue(cl, "job.workers"), "3");
  EXPECT_EQ(OverrideValue(cl, "output.order"), "input");
  EXPECT_EQ(OverrideValue(cl, "output.tag"), "true");
  EXPECT_EQ(OverrideValue(cl, "output.dir"), "/r");  // the typed -o wins over the default
  EXPECT_EQ(OverrideValue(cl, "job.retries"), "2");
  // Attached values, and -k as parallel spells it.
  CommandLine attached = Ok({"-j4", "--output-dir=/o", "-k", "echo", ":::", "a"});
  EXPECT_EQ(OverrideValue(attached, "job.workers"), "4");
  EXPECT_EQ(OverrideValue(attached, "output.dir"), "/o");
  EXPECT_EQ(OverrideValue(attached, "output.order"), "input");
  // parallel's --retries counts attempts in all; job.retries the extra ones.
  EXPECT_EQ(OverrideValue(Ok({"--retries", "3", "echo", ":::", "a"}), "job.retries"), "2");
  EXPECT_EQ(OverrideValue(Ok({"--retries=1", "echo", ":::", "a"}), "job.retries"), "0");
  EXPECT_EQ(OverrideValue(Ok({"--retries", "0", "echo", ":::", "a"}), "job.retries"), "0");
  EXPECT_NE(Error({"--retries", "x", "echo", ":::", "a"}).find("--retries takes a whole number"),
            std::string::npos);
  CommandLine out = Ok({"--line-buffer", "--tagstring", "{1}-{#}", "echo", ":::", "a"});
  EXPECT_EQ(OverrideValue(out, "output.print"), "line");
  EXPECT_EQ(OverrideValue(out, "output.tagstring"), "{1}-{#}");
  EXPECT_EQ(OverrideValue(Ok({"-u", "echo", ":::", "a"}), "output.print"), "ungroup");
  EXPECT_EQ(Error({"--bogus", "echo"}), "unknown option '--bogus'; see 'shoal --help'");
  // GNU parallel's options that shoal does otherwise: the way, not a guess.
  EXPECT_EQ(Error({"--joblog", "log", "echo"}).substr(0, 60),
            "unknown option '--joblog': every item has a record in the ru");
  EXPECT_NE(Error({"--bar", "echo"}).find("(--progress, on a terminal by default)"),
            std::string::npos);
  EXPECT_NE(Error({"--pipe", "wc"}).find("not blocks of its stdin"), std::string::npos);
  EXPECT_NE(Error({"--will-cite", "echo"}).find("no citation notice"), std::string::npos);
  EXPECT_NE(Error({"--wd", "/tmp", "echo"}).find("--set command.cwd=DIR"), std::string::npos);
  // ... and parallel's spellings of shoal's own: --jobs is -j, --delay
  // and --timeout take seconds.
  EXPECT_EQ(OverrideValue(Ok({"--jobs", "3", "echo", ":::", "a"}), "job.workers"), "3");
  EXPECT_EQ(OverrideValue(Ok({"--jobs=4", "echo", ":::", "a"}), "job.workers"), "4");
  EXPECT_EQ(OverrideValue(Ok({"run", "--jobs", "2"}), "job.workers"), "2");
  EXPECT_EQ(OverrideValue(Ok({"--delay", "0.5", "echo", ":::", "a"}), "job.delay"), "0.5s");
  EXPECT_EQ(OverrideValue(Ok({"--delay", "20ms", "echo", ":::", "a"}), "job.delay"), "20ms");
  // A word of the command is the command's, whatever it looks like.
  EXPECT_EQ(Ok({"mycmd", "--jobs", "3", ":::", "a"}).command,
            (std::vector<std::string>{"mycmd", "--jobs", "3", "{}"}));
  EXPECT_EQ(Error({"-j", "2"}),
            "no command: write shoal [OPTIONS] COMMAND [ARGS...] ::: ITEMS...; see 'shoal --help'");
}

TEST(CliTest, OneLineDashesAndLookalikes) {
  // After --, a verb's name or a .toml is the program.
  EXPECT_EQ(Ok({"--", "run", ":::", "a"}).command, (std::vector<std::string>{"run", "{}"}));
  EXPECT_EQ(Ok({"-q", "--", "-weird", ":::", "a"}).command,
            (std::vector<std::string>{"-weird", "{}"}));
  EXPECT_EQ(Ok({"--", "x.toml", ":::", "a"}).command.front(), "x.toml");
  EXPECT_NE(Error({"x.toml"}).find("looks like a settings file: 'shoal run x.toml' runs it"),
            std::string::npos);
  EXPECT_EQ(Ok({"rnu", ":::", "a"}).command.front(), "rnu");
  EXPECT_EQ(Error({"echo", ":::", "a", "::::", "f"}),
            ":::: FILE is the only source it can be: several sources are ::: ITEMS... each; see "
            "'shoal --help'");
  EXPECT_EQ(Error({"echo", ":::+", "a"}),
            ":::+ links to the source before it; the first source takes :::; see 'shoal --help'");
  EXPECT_EQ(Error({"echo", ":::", "a", ":::+", "1", "2"}),
            ":::+ links sources of the same length (shoal does not wrap the shorter, as parallel "
            "does); got 1 and 2 items; see 'shoal --help'");
  // The shell joins the words into one line.
  EXPECT_EQ(ArgvOverride(Ok({"--shell", "echo", "{}", "|", "wc", ":::", "a"})),
            "[\"echo {} | wc\"]");
}

std::vector<std::string> Records(const CommandLine& cl) {
  std::vector<std::string> out;
  ForEachProductRecord(cl, [&](std::string_view r) { out.emplace_back(r); });
  return out;
}

TEST(CliTest, OneLineProductAndLink) {
  CommandLine cl = Ok({"echo", ":::", "a", "b", ":::", "1", "2", "3"});
  EXPECT_TRUE(cl.items.empty());
  EXPECT_EQ(cl.command, (std::vector<std::string>{"echo", "{1}", "{2}"}));  // one arg a value
  EXPECT_EQ(OverrideValue(cl, "input.delimiter"), " ");
  EXPECT_EQ(Records(cl), (std::vector<std::string>{"a 1", "a 2", "a 3", "b 1", "b 2", "b 3"}));
  // :::+ zips with the source before; the groups still make a product.
  CommandLine linked =
      Ok({"echo", "{1}{2}{3}", ":::", "a", "b", ":::+", "1", "2", ":::", "x", "y"});
  EXPECT_EQ(Records(linked), (std::vector<std::string>{"a 1 x", "a 1 y", "b 2 x", "b 2 y"}));
  // Values with a space or a quote are CSV-quoted, so {1} gives them back.
  CommandLine quoted = Ok({"echo", "{1}", ":::", "a b", "q\"x", "", ":::", "1"});
  EXPECT_EQ(Records(quoted), (std::vector<std::string>{"\"a b\" 1", "\"q\"\"x\" 1", " 1"}));
  EXPECT_NE(Error({"echo", ":::", "a\nb", ":::", "1"}).find("holds a line end"), std::string::npos);
  // One source: plain items, no fields.
  EXPECT_TRUE(Records(Ok({"echo", ":::", "a"})).empty());
}

TEST(CliTest, OneLineJobNameNeedsNoQuoting) {
  EXPECT_EQ(OneLineJobName("gzip"), "gzip");
  EXPECT_EQ(OneLineJobName("/usr/bin/sha256sum"), "sha256sum");
  EXPECT_EQ(OneLineJobName("./bin/my_tool-2.1+x"), "my_tool-2.1+x");
  // A command line in one word: its first word's name, not a slash inside it.
  EXPECT_EQ(OneLineJobName("sh -c \"exit {}\""), "sh");
  EXPECT_EQ(OneLineJobName("grep -c x /data/{} | wc -l"), "grep");
  EXPECT_EQ(OneLineJobName("it's \"odd\""), "it-s");
  EXPECT_EQ(OneLineJobName("--x"), "x");
  EXPECT_EQ(OneLineJobName("/opt/{1}/bin/run-{2}"), "run");
  EXPECT_EQ(OneLineJobName(std::string(100, 'a')), std::string(64, 'a'));
  for (const char* nothing : {"{}", "", "..", "/", "\xc3\xa9", "{1}"}) {
    EXPECT_EQ(OneLineJobName(nothing), "shoal") << nothing;
  }
  EXPECT_EQ(OverrideValue(Ok({"sh -c 'exit {}'", ":::", "1"}), "job.name"), "sh");
}

TEST(CliTest, OneLineRunsDir) {
  EXPECT_EQ(OneLineRunsDir("/st", "/home/u"), "/st/shoal/runs");
  EXPECT_EQ(OneLineRunsDir("rel", "/home/u"), "/home/u/.local/state/shoal/runs");
  EXPECT_EQ(OneLineRunsDir(nullptr, nullptr), "runs");
  EXPECT_EQ(Error({"-i", "l.txt", "echo"}),
            "'-i l.txt' in the one-line form: give the items after ::: or with :::: FILE (- = "
            "stdin) instead; see 'shoal --help'");
}

TEST(CliTest, RunDefaults) {
  CommandLine cl = Ok({"run"});
  EXPECT_EQ(cl.verb, Verb::kRun);
  EXPECT_EQ(cl.settings_path, "settings.toml");
  EXPECT_FALSE(cl.settings_given);
  EXPECT_TRUE(cl.overrides.empty());
  EXPECT_EQ(cl.items_file, "");
  EXPECT_FALSE(cl.dry_run);
  EXPECT_EQ(cl.progress, -1);
  EXPECT_FALSE(cl.quiet);
  EXPECT_EQ(cl.verbose, 0);
}

TEST(CliTest, RunWithEveryOption) {
  CommandLine cl =
      Ok({"run", "jobs/a.toml", "-j", "4", "--input", "in", "-o", "out", "--items", "failed.txt",
          "--set", "job.timeout=1m", "--dry-run", "--no-progress", "-q", "-vv", "--verbose"});
  EXPECT_EQ(cl.verb, Verb::kRun);
  EXPECT_EQ(cl.settings_path, "jobs/a.toml");
  EXPECT_TRUE(cl.settings_given);
  ASSERT_EQ(cl.overrides.size(), 4u);
  ExpectOverride(cl.overrides[0], "job.workers", "4", true, "-j 4");
  ExpectOverride(cl.overrides[1], "input.path", "in", true, "--input in");
  ExpectOverride(cl.overrides[2], "output.dir", "out", true, "-o out");
  ExpectOverride(cl.overrides[3], "job.timeout", "1m", false, "--set job.timeout=1m");
  EXPECT_EQ(cl.items_file, "failed.txt");
  EXPECT_TRUE(cl.dry_run);
  EXPECT_EQ(cl.progress, 0);
  EXPECT_TRUE(cl.quiet);
  EXPECT_EQ(cl.verbose, 3);
}

TEST(CliTest, OverridesKeepCommandLineOrder) {
  CommandLine cl = Ok({"run", "--set", "job.workers=8", "-j4", "--set=job.name=x", "--workers=2",
                       "--set", "command.argv=[\"echo\",\"{}\"]"});
  ASSERT_EQ(cl.overrides.size(), 5u);
  ExpectOverride(cl.overrides[0], "job.workers", "8", false, "--set job.workers=8");
  ExpectOverride(cl.overrides[1], "job.workers", "4", true, "-j4");
  ExpectOverride(cl.overrides[2], "job.name", "x", false, "--set=job.name=x");
  ExpectOverride(cl.overrides[3], "job.workers", "2", true, "--workers=2");
  ExpectOverride(cl.overrides[4], "command.argv", "[\"echo\",\"{}\"]", false,
                 "--set command.argv=[\"echo\",\"{}\"]");
}

TEST(CliTest, HaltingAndPacingOptionsSetTheirKeys) {
  CommandLine cl = Ok({"run", "--halt", "now,fail=1", "--delay", "500ms", "--memfree", "2G",
                       "--load=4", "-j", "50%"});
  ASSERT_EQ(cl.overrides.size(), 5u);
  ExpectOverride(cl.overrides[0], "job.halt", "now,fail=1", true, "--halt now,fail=1");
  ExpectOverride(cl.overrides[1], "job.delay", "500ms", true, "--delay 500ms");
  ExpectOverride(cl.overrides[2], "job.memfree", "2G", true, "--memfree 2G");
  ExpectOverride(cl.overrides[3], "job.load", "4", true, "--load=4");
  ExpectOverride(cl.overrides[4], "job.workers", "50%", true, "-j 50%");
}

TEST(CliTest, FewerWorkersThanCoresIsAValueNotAnOption) {
  CommandLine cl = Ok({"run", "-j", "-1"});
  ASSERT_EQ(cl.overrides.size(), 1u);
  ExpectOverride(cl.overrides[0], "job.workers", "-1", true, "--workers=-1");
  cl = Ok({"run", "--workers", "-2"});
  ExpectOverride(cl.overrides[0], "job.workers", "-2", true, "--workers=-2");
  // The one-line form too; its command keeps its own -1.
  cl = Ok({"-j", "-1", "head", "-1", ":::", "a"});
  EXPECT_EQ(OverrideValue(cl, "job.workers"), "-1");
  EXPECT_EQ(cl.command, (std::vector<std::string>{"head", "-1", "{}"}));
}

TEST(CliTest, SetValueMayHoldEquals) {
  CommandLine cl = Ok({"run", "--set", "command.env.OPTS=a=b"});
  ASSERT_EQ(cl.overrides.size(), 1u);
  EXPECT_EQ(cl.overrides[0].key, "command.env.OPTS");
  EXPECT_EQ(cl.overrides[0].value, "a=b");
}

TEST(CliTest, ProgressLastWins) {
  EXPECT_EQ(Ok({"run", "--no-progress", "--progress"}).progress, 1);
  EXPECT_EQ(Ok({"run", "--progress", "--no-progress"}).progress, 0);
}

TEST(CliTest, ItemsFromStdinAndNegativeNumbers) {
  EXPECT_EQ(Ok({"run", "--items", "-"}).items_file, "-");
  // -j takes the next word whatever it is; the value is checked by LoadSettings.
  CommandLine cl = Ok({"run", "-j", "-1"});
  ASSERT_EQ(cl.overrides.size(), 1u);
  EXPECT_EQ(cl.overrides[0].value, "-1");
}

TEST(CliTest, DoubleDashEndsOptions) {
  CommandLine cl = Ok({"run", "--", "-odd.toml"});
  EXPECT_EQ(cl.settings_path, "-odd.toml");
  EXPECT_TRUE(cl.settings_given);
}

TEST(CliTest, Report) {
  CommandLine cl = Ok({"report", "runs/x-1"});
  EXPECT_EQ(cl.verb, Verb::kReport);
  EXPECT_EQ(cl.run_dir, "runs/x-1");
  EXPECT_FALSE(cl.open);
  EXPECT_TRUE(Ok({"report", "runs/x-1", "--open"}).open);
  EXPECT_EQ(Error({"report"}), "report needs a RUN_DIR; see 'shoal report --help'");
  EXPECT_EQ(Error({"run", "--open"}).substr(0, 23), "unknown option '--open'");
}

TEST(CliTest, RetryAndResume) {
  CommandLine cl = Ok({"retry", "runs/x-1", "-j", "2", "--dry-run"});
  EXPECT_EQ(cl.verb, Verb::kRetry);
  EXPECT_EQ(cl.run_dir, "runs/x-1");
  ASSERT_EQ(cl.overrides.size(), 1u);
  EXPECT_TRUE(cl.dry_run);
  cl = Ok({"resume", "runs/x-1", "--set", "job.grace=1s"});
  EXPECT_EQ(cl.verb, Verb::kResume);
  EXPECT_EQ(cl.run_dir, "runs/x-1");
  ASSERT_EQ(cl.overrides.size(), 1u);
  EXPECT_EQ(Error({"retry"}), "retry needs a RUN_DIR; see 'shoal retry --help'");
  EXPECT_EQ(Error({"resume", "a", "b"}),
            "unexpected argument 'b', resume takes one RUN_DIR; see 'shoal resume --help'");
}

TEST(CliTest, Check) {
  CommandLine cl = Ok({"check"});
  EXPECT_EQ(cl.verb, Verb::kCheck);
  EXPECT_EQ(cl.settings_path, "settings.toml");
  EXPECT_FALSE(cl.settings_given);
  cl = Ok({"check", "x.toml", "-j", "3", "-v"});
  EXPECT_EQ(cl.settings_path, "x.toml");
  EXPECT_TRUE(cl.settings_given);
  EXPECT_EQ(cl.overrides.size(), 1u);
  EXPECT_EQ(cl.verbose, 1);
  EXPECT_EQ(Error({"check", "--dry-run"}), "unknown option '--dry-run'; see 'shoal check --help'");
}

TEST(CliTest, Init) {
  CommandLine cl = Ok({"init"});
  EXPECT_EQ(cl.verb, Verb::kInit);
  EXPECT_EQ(cl.init_path, "settings.toml");
  EXPECT_EQ(Ok({"init", "jobs/new.toml"}).init_path, "jobs/new.toml");
  EXPECT_EQ(Error({"init", "a", "b"}),
            "unexpected argument 'b', init takes one PATH; see 'shoal init --help'");
  EXPECT_EQ(Error({"init", "-j", "2"}), "unknown option '-j'; see 'shoal init --help'");
}

TEST(CliTest, HelpAndVersion) {
  CommandLine cl = Ok({});
  EXPECT_EQ(cl.verb, Verb::kHelp);
  EXPECT_EQ(cl.help_topic, "");
  EXPECT_EQ(Ok({"--help"}).verb, Verb::kHelp);
  EXPECT_EQ(Ok({"-h"}).help_topic, "");
  cl = Ok({"help", "retry"});
  EXPECT_EQ(cl.verb, Verb::kHelp);
  EXPECT_EQ(cl.help_topic, "retry");
  cl = Ok({"run", "--help"});
  EXPECT_EQ(cl.verb, Verb::kHelp);
  EXPECT_EQ(cl.help_topic, "run");
  cl = Ok({"check", "x.toml", "--bogus", "-h"});  // help wins over a bad option
  EXPECT_EQ(cl.verb, Verb::kHelp);
  EXPECT_EQ(cl.help_topic, "check");
  EXPECT_EQ(Ok({"--version"}).verb, Verb::kVersion);
  EXPECT_EQ(Ok({"run", "--version"}).verb, Verb::kVersion);
  EXPECT_EQ(Error({"help", "frobnicate"}),
            "no help for 'frobnicate', the commands are run retry resume check init merge slurm "
            "report; see 'shoal --help'");
  EXPECT_EQ(std::string(kShoalVersion), "0.1.0");
}

TEST(CliTest, UsageErrors) {
  EXPECT_EQ(Error({"run", "--foo"}), "unknown option '--foo'; see 'shoal run --help'");
  EXPECT_EQ(Error({"run", "--worker", "3"}),
            "unknown option '--worker' (did you mean '--workers'?); "
            "see 'shoal run --help'");
  EXPECT_EQ(Error({"run", "--work", "3"}).substr(0, 23),
            "unknown option '--work'");  // no abbreviations
  EXPECT_EQ(Error({"run", "-j"}), "option '--workers' needs a value; see 'shoal run --help'");
  EXPECT_EQ(Error({"run", "--dry-run=yes"}),
            "option '--dry-run' takes no value; see 'shoal run --help'");
  EXPECT_EQ(Error({"run", "a.toml", "b.toml"}),
            "unexpected argument 'b.toml', run takes one SETTINGS file; "
            "see 'shoal run --help'");
  // Not a verb: the one-line form (OneLine tests below); a verb after
  // options is refused rather than run as a program.
  EXPECT_EQ(Error({"-j", "4", "run"}),
            "'run' after options is a shoal command: write 'shoal run OPTIONS...'; to run a "
            "program named run, write 'shoal -- run ...' or 'shoal ./run'; see 'shoal --help'");
  EXPECT_EQ(Error({"run", "--set", "job.workers"}),
            "--set takes SECTION.KEY=VALUE, got 'job.workers'; e.g. --set job.workers=8; "
            "see 'shoal run --help'");
  EXPECT_EQ(Error({"run", "--set", "=4"}).substr(0, 29), "--set takes SECTION.KEY=VALUE");
  EXPECT_EQ(Error({"--version", "x"}), "unexpected argument 'x'; see 'shoal --help'");
}

TEST(CliTest, ShardIsAnOverride) {
  CommandLine cl = Ok({"run", "--shard", "2/8", "-j", "4"});
  ASSERT_EQ(cl.overrides.size(), 2u);
  ExpectOverride(cl.overrides[0], "input.shard", "2/8", true, "--shard 2/8");
  cl = Ok({"check", "--shard=0/1"});
  ASSERT_EQ(cl.overrides.size(), 1u);
  ExpectOverride(cl.overrides[0], "input.shard", "0/1", true, "--shard=0/1");
  EXPECT_EQ(Error({"resume", "r", "--shard", "1/2"}),
            "unknown option '--shard'; see 'shoal resume --help'");
}

TEST(CliTest, Merge) {
  CommandLine cl = Ok({"merge", "runs/a-shard-0-of-2", "runs/a-shard-1-of-2", "-o", "merged"});
  EXPECT_EQ(cl.verb, Verb::kMerge);
  EXPECT_EQ(cl.run_dirs, (std::vector<std::string>{"runs/a-shard-0-of-2", "runs/a-shard-1-of-2"}));
  EXPECT_EQ(cl.merge_dir, "merged");
  EXPECT_TRUE(cl.overrides.empty()) << "-o of merge is the merged directory, not output.dir";
  EXPECT_EQ(Ok({"merge", "-o", "m", "a", "-q"}).run_dirs, (std::vector<std::string>{"a"}));
  EXPECT_EQ(Error({"merge", "a", "b"}),
            "merge needs -o DIR, the directory to write the merged run to; "
            "see 'shoal merge --help'");
  EXPECT_EQ(Error({"merge", "-o", "m"}),
            "merge needs the run directories of the shards; see 'shoal merge --help'");
  EXPECT_EQ(Error({"merge", "a", "-o", "m", "-j", "2"}),
            "unknown option '-j'; see 'shoal merge --help'");
}

TEST(CliTest, Slurm) {
  CommandLine cl = Ok({"slurm", "jobs/a.toml", "--shards", "16", "--partition", "batch", "--time",
                       "2:00:00", "--cpus-per-task", "8", "--sbatch=--mem=8G",
                       "--sbatch=--account=p", "--submit", "--wait", "-o", "/scratch/runs"});
  EXPECT_EQ(cl.verb, Verb::kSlurm);
  EXPECT_EQ(cl.settings_path, "jobs/a.toml");
  EXPECT_EQ(cl.slurm.shards, 16);
  EXPECT_EQ(cl.slurm.partition, "batch");
  EXPECT_EQ(cl.slurm.time, "2:00:00");
  EXPECT_EQ(cl.slurm.cpus_per_task, 8);
  EXPECT_EQ(cl.slurm.sbatch_args, (std::vector<std::string>{"--mem=8G", "--account=p"}));
  EXPECT_TRUE(cl.slurm.submit);
  EXPECT_TRUE(cl.slurm.wait);
  ASSERT_EQ(cl.overrides.size(), 1u);
  ExpectOverride(cl.overrides[0], "output.dir", "/scratch/runs", true, "-o /scratch/runs");
  EXPECT_EQ(Ok({"slurm", "--shards", "2"}).settings_path, "settings.toml");
  EXPECT_FALSE(Ok({"slurm", "--shards", "2"}).slurm.submit);

  EXPECT_EQ(Error({"slurm", "a.toml"}),
            "slurm needs --shards N, the number of array tasks; see 'shoal slurm --help'");
  EXPECT_EQ(Error({"slurm", "--shards", "0"}),
            "--shards takes a whole number from 1 to 100000, got '0'; see 'shoal slurm --help'");
  EXPECT_EQ(Error({"slurm", "--shards", "x"}).substr(0, 46),
            "--shards takes a whole number from 1 to 100000");
  EXPECT_EQ(Error({"slurm", "--shards", "2", "--wait"}),
            "--wait needs --submit (it waits for the submitted merge job); "
            "see 'shoal slurm --help'");
  EXPECT_EQ(Error({"slurm", "--shards", "2", "--partition", "a b\nc"}).substr(0, 14),
            "--partition 'a");
  EXPECT_EQ(Error({"slurm", "--shards", "2", "--sbatch=--x='y'"}).substr(0, 10), "--sbatch '");
  EXPECT_EQ(Error({"slurm", "--shards", "2", "--dry-run"}),
            "unknown option '--dry-run'; see 'shoal slurm --help'");
}

TEST(CliTest, RetryWithShards) {
  CommandLine cl = Ok({"retry", "runs/x-slurm/merged", "--shards", "4", "--submit"});
  EXPECT_EQ(cl.verb, Verb::kRetry);
  EXPECT_EQ(cl.run_dir, "runs/x-slurm/merged");
  EXPECT_EQ(cl.slurm.shards, 4);
  EXPECT_TRUE(cl.slurm.submit);
  EXPECT_EQ(Ok({"retry", "r"}).slurm.shards, 0);
  EXPECT_EQ(Error({"retry", "r", "--submit"}),
            "the Slurm options of retry need --shards N; see 'shoal retry --help'");
  EXPECT_EQ(Error({"retry", "r", "--partition", "p"}),
            "the Slurm options of retry need --shards N; see 'shoal retry --help'");
}

TEST(CliTest, HelpTextCoversEveryOption) {
  const std::string run = HelpText("run");
  for (const char* option : {"--workers", "-j,", "--input", "-i,", "--output-dir", "-o,", "--items",
                             "--set", "--dry-run", "--progress", "--no-progress", "--quiet",
                             "--verbose", "--help", "--version"}) {
    EXPECT_NE(run.find(option), std::string::npos) << option;
  }
  EXPECT_NE(run.find("e.g. -j 16"), std::string::npos);
  EXPECT_NE(run.find("Usage: shoal run"), std::string::npos);
  EXPECT_NE(HelpText("retry").find("Usage: shoal retry RUN_DIR"), std::string::npos);
  EXPECT_NE(HelpText("resume").find("Usage: shoal resume RUN_DIR"), std::string::npos);
  EXPECT_NE(HelpText("check").find("Usage: shoal check"), std::string::npos);
  EXPECT_EQ(HelpText("check").find("--dry-run"), std::string::npos);
  EXPECT_NE(HelpText("init").find("Usage: shoal init [PATH]"), std::string::npos);
  EXPECT_NE(run.find("--shard K/N"), std::string::npos);
  EXPECT_NE(run.find("SLURM_ARRAY_TASK_ID"), std::string::npos);
  const std::string slurm = HelpText("slurm");
  for (const char* option : {"Usage: shoal slurm", "--shards N", "--partition P", "--time T",
                             "--cpus-per-task C", "--sbatch=ARG", "--submit", "--wait", "--set"}) {
    EXPECT_NE(slurm.find(option), std::string::npos) << option;
  }
  EXPECT_NE(HelpText("retry").find("--shards N"), std::string::npos);
  EXPECT_NE(HelpText("merge").find("Usage: shoal merge RUN_DIR... -o DIR"), std::string::npos);
  const std::string overview = HelpText("");
  for (const char* verb : {"shoal run", "shoal retry", "shoal resume", "shoal check", "shoal init",
                           "shoal slurm", "shoal merge", "shoal help", "shoal --version"}) {
    EXPECT_NE(overview.find(verb), std::string::npos) << verb;
  }
  EXPECT_EQ(HelpText("help"), overview);
}

TEST(CliTest, GeneratedDocs) {
  EXPECT_EQ(Ok({"help", "--man"}).help_topic, "--man");
  EXPECT_EQ(Ok({"help", "completion", "bash"}).help_topic, "completion bash");
  EXPECT_EQ(Ok({"help", "completion", "zsh"}).help_topic, "completion zsh");
  EXPECT_EQ(Error({"help", "completion", "fish"}),
            "help completion takes a shell: bash or zsh; see 'shoal --help'");
  EXPECT_EQ(Error({"help", "completion"}),
            "help completion takes a shell: bash or zsh; see 'shoal --help'");
  EXPECT_EQ(HelpText("--man"), ManPage());
  EXPECT_EQ(HelpText("completion bash"), CompletionScript("bash"));
  EXPECT_NE(HelpText("completion zsh").find("#compdef shoal"), std::string::npos);
}

// Every option of the table is taken by exactly the verbs it names: the
// parser and the help are made from one table, and this holds them to it.
TEST(CliTest, OptionsTableIsWhatTheParserTakes) {
  for (const VerbSpec& verb : Verbs()) {
    if (verb.verb == Verb::kHelp) continue;
    const std::string help = HelpText(std::string(verb.name));
    for (const OptionSpec& option : Options()) {
      const std::string flag = "--" + std::string(option.name);
      std::vector<const char*> args = {verb.name.data(), flag.c_str()};
      if (!option.arg.empty()) args.push_back("1");
      if (flag == "--help" || flag == "--version") continue;  // they win over anything
      Result<CommandLine> r = Parse(args);
      const bool unknown = !r.ok() && r.status().message().starts_with("unknown option");
      const bool takes = (option.verbs & VerbBit(verb.verb)) != 0;
      // Another declaration of the same name may be the verb's (merge's -o).
      bool declared = takes;
      for (const OptionSpec& other : Options()) {
        if (other.name == option.name && (other.verbs & VerbBit(verb.verb))) declared = true;
      }
      EXPECT_EQ(unknown, !declared) << verb.name << " " << flag;
      if (takes) {
        EXPECT_NE(help.find(OptionSynopsis(option)), std::string::npos) << verb.name << " " << flag;
      }
    }
  }
  EXPECT_NE(HelpText("retry").find("e.g. shoal retry --help"), std::string::npos);
}

// shoal(1) names every verb and every option; no line of it starts with
// what roff would take as a request.
TEST(CliTest, ManPageNamesEveryVerbAndOption) {
  const std::string man = ManPage();
  EXPECT_EQ(man.find(".TH SHOAL 1 "), man.find(".TH"));
  for (const VerbSpec& verb : Verbs()) {
    EXPECT_NE(man.find(".SS \"\\fB" + std::string(verb.name) + "\\fR"), std::string::npos)
        << verb.name;
  }
  for (const OptionSpec& option : Options()) {
    EXPECT_NE(man.find("\\fB" + RoffEscape("--" + std::string(option.name)) + "\\fR"),
              std::string::npos)
        << option.name;
  }
  for (const ExitStatusSpec& status : ExitStatuses()) {
    EXPECT_NE(man.find(".TP\n\\fB" + std::string(status.status) + "\\fR\n"), std::string::npos)
        << status.status;
  }
  EXPECT_EQ(man.find("\n-"), std::string::npos);
  EXPECT_EQ(man.find("\n'"), std::string::npos);
}

TEST(CliTest, RoffEscape) {
  EXPECT_EQ(RoffEscape("a-b\\c"), "a\\-b\\ec");
  EXPECT_EQ(RoffEscape(".x\n'y\nz.w"), "\\&.x\n\\&'y\nz.w");
}

}  // namespace
}  // namespace shoal
