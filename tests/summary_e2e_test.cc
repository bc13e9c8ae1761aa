// The terminal says what happened and what to do (issue 12): after a run with
// failures, stderr holds the counts by reason, one example and the command
// that retries them, every line within 80 columns, and that command works
// when pasted; a program that is not on PATH is said at once, while the run
// is still going, not only in the records.

#include <sys/stat.h>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class Summary : public E2e {
 protected:
  // The command that `what` (a line's start after "shoal: ") introduces: on
  // its line after ": ", or alone on the next line.
  static std::string CommandAfter(const std::vector<std::string>& lines, const std::string& what) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string head = "shoal: " + what;
      if (!lines[i].starts_with(head)) continue;
      std::string rest = lines[i].substr(head.size());
      if (rest == ":" && i + 1 < lines.size() && lines[i + 1].starts_with("shoal:   ")) {
        return lines[i + 1].substr(9);
      }
      if (rest.starts_with(": ")) return rest.substr(2);
    }
    return "";
  }
};

TEST_F(Summary, FailuresAreCountedByReasonWithAnExampleAndARetryThatWorks) {
  // Items a* fail with exit 3 and a message while the file "broken" exists,
  // b* with exit 1; the rest succeed.
  WriteFile(dir_ / "items.txt", "ok1\na1\nok2\nb1\na2\nok3\n");
  WriteFile(dir_ / "broken", "");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"sum\"\nworkers = 1\n\n[input]\npath = \"items.txt\"\n\n"
            "[command]\nargv = [\"sh\", \"-c\", '''"
            "[ -e " +
                (dir_ / "broken").string() +
                " ] || exit 0; case $1 in a*) echo \"cannot read $1\" >&2; exit 3;; "
                "b*) exit 1;; esac''', \"sh\", \"{item}\"]\n");
  ProcessResult r = Shoal({"run", "settings.toml", "-o", "runs"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  const std::vector<std::string> lines = Lines(r.err);
  for (const std::string& l : lines) {
    EXPECT_LE(l.size(), 80u) << l;
    EXPECT_TRUE(l.starts_with("shoal: ")) << l;
  }
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  // As they happen: the first of each reason, with the command's last words.
  EXPECT_TRUE(has("shoal: item 2 'a1' failed: exit 3 (cannot read a1)")) << r.err;
  EXPECT_TRUE(has("shoal: item 4 'b1' failed: exit 1")) << r.err;
  EXPECT_FALSE(has("shoal: item 5 'a2' failed: exit 3 (cannot read a2)")) << "said twice";
  // The summary.
  EXPECT_NE(r.err.find("shoal: 3 ok, 3 failed, 6 items in "), std::string::npos) << r.err;
  EXPECT_TRUE(has("shoal: failed: exit 3 x2, exit 1 x1")) << r.err;
  EXPECT_TRUE(has("shoal: e.g. item 2 'a1': exit 3")) << r.err;
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  EXPECT_TRUE(has("shoal: run directory: " + run.string())) << r.err;
  const std::string retry = CommandAfter(lines, "to retry the 3 failed items");
  EXPECT_EQ(retry, std::string(SHOAL_BIN) + " retry runs/" + run.filename().string()) << r.err;

  // Pasted into a shell where the run was started, it runs exactly the
  // failed items, which now succeed.
  fs::remove(dir_ / "broken");
  std::set<fs::path> before = RunDirs();
  ProcessResult again = Run({"sh", "-c", retry});
  ASSERT_EQ(again.status, 0) << Describe(again);
  // The retry completes the run's own directory: every item ok, once.
  EXPECT_EQ(RunDirs(), before);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::vector<std::string> items = Items(results);
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items.size(), 6u);
  EXPECT_EQ(std::set<std::string>(items.begin(), items.end()).size(), 6u);
  for (const char* fixed : {"a1", "a2", "b1"}) {
    EXPECT_TRUE(std::binary_search(items.begin(), items.end(), fixed)) << fixed;
  }
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(CommandAfter(Lines(again.err), "to retry"), "") << again.err;
}

// A command that is not on PATH: its first item's failure is on stderr while
// the run still runs (the other item waits for the test to see it).
TEST_F(Summary, AProgramNotOnPathIsSaidAtOnce) {
  const fs::path wait = dir_ / "wait.sh";
  WriteFile(wait, "#!/bin/sh\nwhile [ ! -e \"$1\" ]; do sleep 0.02; done\n");
  ASSERT_EQ(chmod(wait.c_str(), 0755), 0);
  WriteFile(dir_ / "items.txt", "gzipp\n" + wait.string() + "\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"nf\"\nworkers = 2\n\n[input]\npath = \"items.txt\"\n\n"
            "[command]\nargv = [\"{item}\", \"" +
                (dir_ / "go").string() + "\"]\n");
  Child child(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  const std::string said =
      "shoal: item 1 'gzipp' failed: not found: gzipp (no such "
      "program on PATH)";
  const bool seen = test::WaitFor(
      [&] { return child.StderrSoFar().find(said + "\n") != std::string::npos; }, seconds(60));
  EXPECT_FALSE(child.Exited()) << "the run ended before the test let it";
  WriteFile(dir_ / "go", "");
  ProcessResult r = child.Wait(seconds(60));
  ASSERT_TRUE(seen) << Describe(r);
  EXPECT_EQ(r.status, 1) << Describe(r);
  const std::vector<std::string> lines = Lines(r.err);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), said), 1) << r.err;
  EXPECT_NE(r.err.find("shoal: failed: not found: gzipp x1\n"), std::string::npos) << r.err;
  // Not with -q: the summary then, for a run that failed, but no line per reason.
  r = RunJob({"-q"});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(r.err.find("' failed: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shoal: to retry the 1 failed item"), std::string::npos) << r.err;
}

// After an interrupt: the command that resumes, and it finishes the run.
TEST_F(Summary, AnInterruptedRunSaysHowToResume) {
  const fs::path wait = dir_ / "wait.sh";
  WriteFile(wait, "#!/bin/sh\n: > \"$1.started\"\nwhile [ ! -e \"$1\" ]; do sleep 0.02; done\n");
  ASSERT_EQ(chmod(wait.c_str(), 0755), 0);
  WriteFile(dir_ / "items.txt", "one\ntwo\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"int\"\nworkers = 1\ngrace = \"0s\"\n\n[input]\npath = "
            "\"items.txt\"\n\n[command]\nargv = [\"" +
                wait.string() + "\", \"" + (dir_ / "go").string() + "\"]\n");
  Child child(WithShoal({"run", "settings.toml", "-o", "runs"}), dir_, NextCapture());
  ASSERT_TRUE(test::WaitFor([&] { return fs::exists(dir_ / "go.started"); }, seconds(60)));
  ::kill(child.pid(), SIGTERM);
  ProcessResult r = child.Wait(seconds(60));
  ASSERT_EQ(r.status, 143) << Describe(r);
  const std::vector<std::string> lines = Lines(r.err);
  for (const std::string& l : lines) EXPECT_LE(l.size(), 80u) << l;
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  const std::string resume = CommandAfter(lines, "interrupted by SIGTERM; to finish the run");
  EXPECT_EQ(resume, std::string(SHOAL_BIN) + " resume runs/" + run.filename().string()) << r.err;
  WriteFile(dir_ / "go", "");
  ProcessResult again = Run({"sh", "-c", resume});
  EXPECT_EQ(again.status, 0) << Describe(again);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_EQ(Items(results), (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
