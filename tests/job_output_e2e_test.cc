// The jobs' output on shoal's own stdout and stderr in the one-line form
// (issue 13, items 2 and 6): --line-buffer and -u as items print, --tagstring,
// each item's whole stderr, and --retries counted as GNU parallel counts it.
#include <unistd.h>

#include "tests/e2e_support.h"

namespace shoal::e2e {
namespace {

class JobOutputTest : public E2e {
 protected:
  ProcessResult Line(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", runs_.string()});
    return Shoal(args);
  }
  // A shell line with $SHOAL standing for `shoal -o RUNS`.
  ProcessResult Sh(const std::string& line) {
    return Run({"/bin/sh", "-c",
                "SHOAL='" + WithShoal({}).front() + " -o " + runs_.string() + "'; " + line});
  }
};

// Waits (inside an item) until CONDITION holds, giving up after ~20 s so that
// a broken shoal fails the test rather than hang it.
std::string Until(const std::string& condition) {
  return "n=0; until " + condition + " || [ $n -ge 2000 ]; do sleep 0.01; n=$((n+1)); done; ";
}

// Item A prints a line and half of another, then waits until item B's line
// is on shoal's stdout; B prints its line only once A's first line is there.
// So A's first line came out while A ran, and B's line came out whole between
// A's lines, not inside A's unfinished one.
TEST_F(JobOutputTest, LineBufferInterleavesWholeLines) {
  const std::string script = "if [ \"$1\" = A ]; then echo a1; printf 'a2-head'; touch a_mid; " +
                             Until("grep -qx b1 out.txt") +
                             "echo ' a2-tail'; echo a-err >&2; else " +
                             Until("grep -qx a1 out.txt && [ -e a_mid ]") + "echo b1; fi";
  WriteFile(dir_ / "item.sh", script);
  ProcessResult r = Sh("$SHOAL --line-buffer -j 2 sh item.sh ::: A B > out.txt");
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(ReadFile(dir_ / "out.txt"), "a1\nb1\na2-head a2-tail\n");
  EXPECT_EQ(r.err, "a-err\n");
  // The records keep each item's stdout whole, as always.
  ASSERT_EQ(RunDirs().size(), 1u);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(*RunDirs().begin(), &results, &errors));
  ASSERT_EQ(results.size(), 2u);
}

// -k --line-buffer, as parallel: item 1 (first in input order) prints its
// first line and waits until the test has seen it on shoal's stdout, so that
// line came out while item 1 ran. Items 2 and 3 finish meanwhile; their
// output waits for their turn (item 2's 200 KiB in a file under spill/, not
// in memory) and comes after all of item 1's, in input order.
TEST_F(JobOutputTest, KeepOrderLineBufferPrintsTheFirstItemLive) {
  WriteFile(dir_ / "item.sh", "case $1 in 1) echo first; " + Until("[ -e go ]") +
                                  "echo second;; 2) seq 40000; echo two >&2;; *) echo three;; "
                                  "esac");
  const fs::path capture = NextCapture();
  Child shoal(WithShoal({"-o", runs_.string(), "-k", "--line-buffer", "-j", "3", "sh", "item.sh",
                         ":::", "1", "2", "3"}),
              dir_, capture);
  const fs::path out = capture.string() + ".out";
  ASSERT_TRUE(WaitFor([&] { return ReadFile(out) == "first\n" || shoal.Exited(); }, seconds(60)))
      << "-k --line-buffer: item 1's first line is not on stdout while item 1 runs";
  ASSERT_EQ(ReadFile(out), "first\n") << "shoal ended, or printed more than item 1's line";
  // Held, not printed: past the bound in memory, in a file of the run.
  ASSERT_EQ(RunDirs().size(), 1u);
  const fs::path held = *RunDirs().begin() / "spill" / "held" / "2.stdout";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(held) || shoal.Exited(); }, seconds(60)))
      << "item 2's output is not held in " << held;
  EXPECT_EQ(ReadFile(out), "first\n");
  WriteFile(dir_ / "go", "");
  ProcessResult r = shoal.Wait(seconds(120));
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::string expected = "first\nsecond\n";
  for (int i = 1; i <= 40000; ++i) expected += std::to_string(i) + "\n";
  expected += "three\n";
  EXPECT_TRUE(r.out == expected) << r.out.substr(0, 200);
  EXPECT_EQ(r.err, "two\n");
  EXPECT_FALSE(fs::exists(held)) << "left behind once printed";
}

TEST_F(JobOutputTest, UngroupPrintsWhatComesUntagged) {
  ProcessResult r = Line({"-u", "--tag", "-j", "2", "printf", "%s\\n", ":::", "x", "y"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(Sorted(Lines(r.out)), (std::vector<std::string>{"x", "y"}));
}

TEST_F(JobOutputTest, LineBufferTagsEachLine) {
  ProcessResult r =
      Line({"--line-buffer", "--tagstring", "<{#}>", "-j", "2", "printf", "1\\n2\\n", ":::", "x"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "<1>\t1\n<1>\t2\n");
}

TEST_F(JobOutputTest, TagstringPlaceholders) {
  ProcessResult r =
      Line({"-k", "--tagstring", "{1}-{#}", "echo", ":::", "a", "b", ":::", "1", "2"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "a-1\ta 1\na-2\ta 2\nb-3\tb 1\nb-4\tb 2\n");
  r = Line({"-k", "--tagstring", "{/.}:", "cat", ":::", "d/x.txt"});
  EXPECT_EQ(r.status, 1);  // d/x.txt is missing: its stderr is tagged too
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("x:\tcat: d/x.txt: No such file or directory\n"), std::string::npos)
      << r.err;
  // --tag is --tagstring {}.
  r = Line({"-k", "--tag", "echo", ":::", "a", ":::", "1"});
  EXPECT_EQ(r.out, "a 1\ta 1\n");
}

TEST_F(JobOutputTest, BadTagstringFailsBeforeAnythingRuns) {
  ProcessResult r = Line({"--tagstring", "{bogus}", "touch", "ran", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("output.tagstring"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "ran"));
  EXPECT_TRUE(RunDirs().empty());
}

// 100 KiB of stderr: all of it on shoal's stderr, not only the last 4 KiB;
// the records keep the tail they always kept, and the file that carried it
// is gone once printed.
TEST_F(JobOutputTest, WholeStderrPerItem) {
  std::string big;
  for (int i = 0; big.size() < 100 * 1024; ++i) big += "err line " + std::to_string(i) + "\n";
  WriteFile(dir_ / "big.txt", big);
  ProcessResult r = Line({"sh", "-c", "cat big.txt >&2", "sh", ":::", "a"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.err.size(), big.size());
  EXPECT_TRUE(r.err == big);
  // Two at once, failing: each whole, never interleaved, and the errors
  // records hold the tail only.
  r = Line({"-j", "2", "sh", "-c", "sed \"s/^/$1 /\" big.txt >&2; exit 3", "sh", ":::", "A", "B"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  for (const std::string who : {"A", "B"}) {
    std::string mine;
    for (const std::string& l : Lines(big)) mine += who + " " + l + "\n";
    EXPECT_NE(r.err.find(mine), std::string::npos) << who << " not whole";
  }
  std::set<fs::path> runs = RunDirs();
  ASSERT_EQ(runs.size(), 2u);
  for (const fs::path& run : runs) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(run / "spill", ec)) {
      ADD_FAILURE() << "left behind: " << e.path();
    }
    if (errors.empty()) continue;  // the first run's item succeeded
    ProcessResult sizes = Run({"python3", "-c",
                               "import json, sys\n"
                               "for l in open(sys.argv[1]): print(len(json.loads(l)['stderr']))",
                               (run / "errors.jsonl").string()});
    ASSERT_EQ(sizes.status, 0) << Describe(sizes);
    for (const std::string& n : Lines(sizes.out)) {
      EXPECT_LE(std::stoul(n), 4096u);
      EXPECT_GT(std::stoul(n), 3000u);
    }
  }
}

// parallel's --retries N is N attempts in all; job.retries counts the extra ones.
TEST_F(JobOutputTest, RetriesCountsAttemptsAsParallel) {
  const std::string script = "echo x >> \"$1\"; exit 1";
  ProcessResult r = Line(
      {"--retries", "2", "--set", "job.retry_delay=0s", "sh", "-c", script, "sh", ":::", "two"});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(ReadFile(dir_ / "two"), "x\nx\n");
  r = Line({"--set", "job.retries=2", "--set", "job.retry_delay=0s", "sh", "-c", script, "sh",
            ":::", "three"});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(ReadFile(dir_ / "three"), "x\nx\nx\n");
  if (::access("/usr/bin/parallel", X_OK) == 0) {
    r = Run({"/usr/bin/parallel", "--retries", "2", "sh", "-c", "'" + script + "'", "sh",
             ":::", "theirs"});
    EXPECT_EQ(ReadFile(dir_ / "theirs"), "x\nx\n");
  }
}

// GNU parallel and shoal on the same one-liners: the same bytes on stdout.
TEST_F(JobOutputTest, SameStdoutAsGnuParallel) {
  if (::access("/usr/bin/parallel", X_OK) != 0) GTEST_SKIP() << "GNU parallel is not installed";
  const std::vector<std::vector<std::string>> lines = {
      // parallel's {#} in a tagstring is off by one for the first job
      // (20221122), so the side by side keeps to the values.
      {"-k", "--tagstring", "{2}/{1}", "echo", ":::", "a", "b", ":::", "1", "2"},
      {"-k", "--tagstring", "[{/.}]", "echo", "{}", ":::", "d/x.txt", "y.tar.gz"},
      {"-k", "--tag", "echo", ":::", "a", "b", ":::", "1"},
      // No backslashes: parallel runs the line through a shell, shoal does not.
      {"-k", "--line-buffer", "seq", ":::", "3", "1", "2"},
      {"-k", "--line-buffer", "--tag", "seq", ":::", "2", "3"},
      {"-k", "--line-buffer", "--tagstring", "{}:{}", "seq", "2", ":::", "4", "5"},
      // The first item live, the others at their turn; stderr is not compared.
      {"-k", "--line-buffer", "-j", "3", "sh", "lines.sh", ":::", "3", "1", "2"},
      {"-k", "--line-buffer", "--tag", "-j", "2", "sh", "lines.sh", ":::", "2", "1"},
      {"-k", "--link", "echo", "{1}{2}", ":::", "a", "b", ":::", "1", "2"},
      // Fields: -C, --header : with named fields.
      {"-k", "-C", " ", "echo", "{2}-{1}", ":::", "a b", "c d"},
      {"-k", "--header", ":", "--colsep", ",", "echo", "{region}-{id}", ":::", "id,region", "1,x",
       "2,y"},
      // One worker: completion order is input order, printed as it comes.
      {"-j", "1", "--line-buffer", "--tagstring", "{}", "echo", ":::", "x", "y"},
  };
  WriteFile(dir_ / "lines.sh", "echo \"a $1\"; echo \"e $1\" >&2; seq $1; printf 'b %s\\n' $1");
  for (const std::vector<std::string>& words : lines) {
    std::vector<std::string> p{"/usr/bin/parallel"};
    p.insert(p.end(), words.begin(), words.end());
    ProcessResult theirs = Run(p);
    ProcessResult ours = Line(words);
    ASSERT_EQ(theirs.status, 0) << Describe(theirs);
    ASSERT_EQ(ours.status, 0) << Describe(ours);
    EXPECT_EQ(ours.out, theirs.out) << words[0] << " " << words[1] << " " << words[2];
  }
}

}  // namespace
}  // namespace shoal::e2e
