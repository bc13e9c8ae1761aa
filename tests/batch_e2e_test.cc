// Many items per command line (issue 13, item 4): -X, -m and -n N, with the
// accounting per item. A command line that fails is split until its failing
// items stand alone, so failed.txt names exactly those; command.max_args and
// command.max_bytes bound each line; a worker killed mid-line loses nothing.
#include <signal.h>
#include <unistd.h>

#include <numeric>
#include <sstream>

#include "tests/e2e_support.h"

namespace shoal::e2e {
namespace {

class Batch : public E2e {
 protected:
  // shoal -o RUNS ARGS...
  ProcessResult Line(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", runs_.string()});
    return Shoal(args);
  }
  static std::vector<std::string> With(std::vector<std::string> words,
                                       const std::vector<std::string>& items) {
    words.push_back(":::");
    words.insert(words.end(), items.begin(), items.end());
    return words;
  }
};

// Items 3 and 17 of 40 make their command line fail (while the file
// "broken" exists); every line also records its items, so the test sees
// that lines held many items.
constexpr const char* kFailsOn3And17 =
    "echo \"$*\" >> lines; [ -e broken ] && for a; do case $a in 3|17) exit 4;; esac; done; "
    "exit 0";

TEST_F(Batch, FailedTxtNamesExactlyTheFailingItemsOfALine) {
  WriteFile(dir_ / "broken", "");
  ProcessResult r = Line(With({"-X", "-j", "1", "sh", "-c", kFailsOn3And17, "sh"}, Numbers(40)));
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(40));
  EXPECT_EQ(ReadFile(run / "failed.txt"), "3\n17\n");
  for (const Record& e : errors) EXPECT_EQ(e.reason.value_or(""), "exit 4") << e.item;
  // The first line took all 40 items: the halving ran 3 and 17 alone.
  std::vector<std::string> lines = Lines(ReadFile(dir_ / "lines"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), [] {
    std::string all;
    for (const std::string& n : Numbers(40)) all += (all.empty() ? "" : " ") + n;
    return all;
  }());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "3"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "17"), lines.end());
  EXPECT_LT(lines.size(), 40u);

  // The failed list is an input like any other: fixed, retry completes it.
  fs::remove(dir_ / "broken");
  r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");
}

// job.timeout limits each command line: the line that holds the hanging
// item times out and is halved like any failed line, until only that item
// has "timeout"; job.retries gives each failed item its attempts alone.
TEST_F(Batch, TimeoutAndRetriesStayPerItem) {
  const std::string script =
      "for a; do [ \"$a\" = 4 ] && exec sleep 30; [ \"$a\" = 7 ] && echo x >> tries && exit 3; "
      "done; exit 0";
  ProcessResult r =
      Line(With({"-X", "-j", "1", "--set", "job.timeout=500ms", "--set", "job.retries=1", "--set",
                 "job.retry_delay=0s", "sh", "-c", script, "sh"},
                Numbers(10)));
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(10));
  EXPECT_EQ(ReasonsByItem(errors),
            (std::map<std::string, std::string>{{"4", "timeout"}, {"7", "exit 3"}}));
}

TEST_F(Batch, MaxArgsBoundsEachLine) {
  ProcessResult r =
      Line(With({"-n", "7", "-j", "2", "sh", "-c", "echo $# >> counts", "sh"}, Numbers(40)));
  ASSERT_EQ(r.status, 0) << Describe(r);
  int total = 0;
  size_t lines = 0;
  for (const std::string& count : Lines(ReadFile(dir_ / "counts"))) {
    EXPECT_LE(std::stoi(count), 7);
    total += std::stoi(count);
    ++lines;
  }
  EXPECT_EQ(total, 40);
  EXPECT_LT(lines, 40u);  // lines of many items, not one per item
}

// As parallel's: a line of -n 4 is 4 consecutive items, on either worker.
// Item 9 fails its line, both halves and itself alone (3 tries), then its
// retry runs on a line of its own and the lines around it stay whole.
TEST_F(Batch, LinesHoldConsecutiveItemsAndARetryRunsAlone) {
  WriteFile(dir_ / "tries", "");
  const std::string script =
      "echo \"$*\" >> lines; for a; do [ \"$a\" = 9 ] && [ $(wc -l < tries) -lt 3 ] && "
      "{ echo x >> tries; exit 3; }; done; exit 0";
  ProcessResult r =
      Line(With({"-n", "4", "-j", "2", "--retries", "2", "sh", "-c", script, "sh"}, Numbers(40)));
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(40));
  for (const std::string& rec : Lines(ReadFile(run / "results.jsonl"))) {
    const bool nine = rec.find("\"item\":\"9\"") != std::string::npos;
    EXPECT_NE(rec.find(nine ? "\"attempts\":2" : "\"attempts\":1"), std::string::npos) << rec;
  }
  size_t nines = 0;
  for (const std::string& line : Lines(ReadFile(dir_ / "lines"))) {
    std::vector<int> items;
    std::istringstream words(line);
    for (int n; words >> n;) items.push_back(n);
    ASSERT_FALSE(items.empty());
    for (size_t i = 1; i < items.size(); ++i) EXPECT_EQ(items[i], items[i - 1] + 1) << line;
    if (items.size() == 4) {
      EXPECT_EQ(items[0] % 4, 1) << line;  // 1-4, 5-8, ...
    }
    nines += line == "9";
  }
  EXPECT_EQ(nines, 2u);  // alone at the end of the halving, and its retry
}

TEST_F(Batch, MaxBytesBoundsEachLineAsTheKernelCountsIt) {
  // Each line records the bytes of its arguments after the script's own.
  // ({{ and }} are literal braces: the script runs with ${#a}.)
  const std::string script = "n=0; for a; do n=$((n + ${{#a}} + 9)); done; echo $n >> bytes";
  const size_t fixed = 8 /* argv's null */ + (2 + 9) /* sh */ + (2 + 9) /* -c */ +
                       (script.size() - 2 + 9) + (2 + 9) /* $0 */;
  std::vector<std::string> items;
  for (int i = 0; i < 120; ++i) items.push_back(std::string(90, 'a' + i % 26) + std::to_string(i));
  ProcessResult r =
      Line(With({"-X", "--max-bytes", "4096", "-j", "1", "sh", "-c", script, "sh"}, items));
  ASSERT_EQ(r.status, 0) << Describe(r);
  size_t lines = 0;
  for (const std::string& bytes : Lines(ReadFile(dir_ / "bytes"))) {
    EXPECT_LE(fixed + std::stoul(bytes), 4096u);
    ++lines;
  }
  EXPECT_GE(lines, 120 * 100 / 4096u);  // about 37 items fit a line: at least 3 lines
  EXPECT_LT(lines, 120u);
  // A limit the system cannot give is refused before anything runs.
  r = Line({"-X", "--max-bytes", "1073741824", "echo", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("ARG_MAX"), std::string::npos) << r.err;
}

TEST_F(Batch, TheOutputGoesWithTheFirstItemOfItsLine) {
  ProcessResult r = Line({"-X", "-j", "1", "echo", ":::", "a", "b", "c"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "a b c\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ASSERT_EQ(results.size(), 3u);
  for (const Record& rec : results) {
    EXPECT_EQ(rec.output.value_or(""), rec.item == "a" ? "a b c\n" : "") << rec.item;
  }
}

TEST_F(Batch, SettingsThatArePerItemAreRefused) {
  ProcessResult r = Line({"-X", "--set", "command.stdout=file", "echo", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("command.stdout = \"file\""), std::string::npos) << r.err;
  r = Line({"-X", "--shell", "echo {}", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("batch = \"join\""), std::string::npos) << r.err;
}

// GNU parallel and shoal on the same batched one-liners, one job at a time
// (parallel spreads the items over its job slots; so does shoal over its
// workers): the same bytes.
TEST_F(Batch, SameStdoutAsGnuParallel) {
  if (::access("/usr/bin/parallel", X_OK) != 0) GTEST_SKIP() << "GNU parallel is not installed";
  const std::vector<std::vector<std::string>> lines = {
      {"-X", "echo", ":::", "a", "b", "c"},
      {"-m", "echo", ":::", "a", "b", "c"},
      {"-X", "echo", "pre-{}-post", ":::", "a", "b", "c"},
      {"-m", "echo", "pre-{}-post", ":::", "a", "b", "c"},
      {"-X", "echo", "{.}", "{/}", ":::", "dir/a.txt", "b.tar.gz", "/abs/c"},
      {"-n", "2", "echo", ":::", "a", "b", "c", "d", "e"},
      {"-n", "2", "-X", "echo", "x{}y", ":::", "a", "b", "c", "d", "e"},
      {"-n", "3", "echo", "[{}]", ":::", "1", "2", "3", "4", "5", "6", "7"},
  };
  for (const std::vector<std::string>& words : lines) {
    std::vector<std::string> p{"/usr/bin/parallel", "-k", "-j", "1"};
    p.insert(p.end(), words.begin(), words.end());
    ProcessResult theirs = Run(p);
    std::vector<std::string> s{"-k", "-j", "1"};
    s.insert(s.end(), words.begin(), words.end());
    ProcessResult ours = Line(s);
    ASSERT_EQ(theirs.status, 0) << Describe(theirs);
    ASSERT_EQ(ours.status, 0) << Describe(ours);
    EXPECT_EQ(ours.out, theirs.out) << words[0] << " " << words[1] << " " << words[2];
  }
}

// --dry-run prints the command lines the batches would run, as parallel's
// --dry-run -X does, not one line per item; the bytes are parallel's when
// it is installed.
TEST_F(Batch, DryRunPrintsTheBatchedLines) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-X", "echo", ":::", "a", "b", "c"}, "echo a b c\n"},
      {{"-m", "echo", "pre-{}-post", ":::", "a", "b", "c"}, "echo pre-a b c-post\n"},
      {{"-X", "echo", "pre-{}-post", ":::", "a", "b", "c"},
       "echo pre-a-post pre-b-post pre-c-post\n"},
      {{"-n", "2", "echo", ":::", "a", "b", "c", "d", "e"}, "echo a b\necho c d\necho e\n"},
  };
  const bool parallel = ::access("/usr/bin/parallel", X_OK) == 0;
  for (const auto& [words, expected] : cases) {
    std::vector<std::string> s{"--dry-run", "-k", "-j", "1"};
    s.insert(s.end(), words.begin(), words.end());
    ProcessResult ours = Line(s);
    ASSERT_EQ(ours.status, 0) << Describe(ours);
    EXPECT_EQ(ours.out, expected) << words[0] << " " << words[1];
    if (!parallel) continue;
    std::vector<std::string> p{"/usr/bin/parallel", "--dry-run", "-k", "-j", "1"};
    p.insert(p.end(), words.begin(), words.end());
    ProcessResult theirs = Run(p);
    ASSERT_EQ(theirs.status, 0) << Describe(theirs);
    EXPECT_EQ(ours.out, theirs.out) << words[0] << " " << words[1];
  }
  // Lines under command.max_bytes, every item in one of them.
  std::vector<std::string> items;
  for (int i = 0; i < 100; ++i) items.push_back(std::string(90, 'a' + i % 26));
  ProcessResult dry = Line(With({"--dry-run", "-X", "--max-bytes", "4096", "echo"}, items));
  ASSERT_EQ(dry.status, 0) << Describe(dry);
  size_t words = 0;
  const std::vector<std::string> printed = Lines(dry.out);
  for (const std::string& l : printed) {
    EXPECT_LT(l.size(), 4096u);
    words += static_cast<size_t>(std::count(l.begin(), l.end(), ' '));
  }
  EXPECT_EQ(words, items.size());
  EXPECT_GE(printed.size(), 3u);  // about 40 items of 99 bytes a line
  EXPECT_LT(printed.size(), items.size());
}

// A dry run hands items to as many workers as the run would: -X lines split
// the input among them as the run's do (and parallel's dry run: 7 items on
// 2 jobs are "1 2 3 4" and "5 6 7"), and -n lines stay in input order.
TEST_F(Batch, DryRunSplitsLinesAmongTheWorkersAsTheRunDoes) {
  const std::vector<std::string> seven = {"1", "2", "3", "4", "5", "6", "7"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-X", "-j", "2", "echo"}, "echo 1 2 3 4\necho 5 6 7\n"},
      {{"-X", "-j", "3", "echo"}, "echo 1 2 3\necho 4 5\necho 6 7\n"},
      {{"-n", "2", "-j", "2", "echo"}, "echo 1 2\necho 3 4\necho 5 6\necho 7\n"},
  };
  for (const auto& [words, expected] : cases) {
    std::vector<std::string> dry = {"--dry-run"};
    dry.insert(dry.end(), words.begin(), words.end());
    ProcessResult printed = Line(With(dry, seven));
    ASSERT_EQ(printed.status, 0) << Describe(printed);
    EXPECT_EQ(printed.out, expected) << words[0] << " -j " << words[2];
    // What the run's commands print, in input order (-k), is the same.
    std::vector<std::string> run = {"-k"};
    run.insert(run.end(), words.begin(), words.end());
    ProcessResult ran = Line(With(run, seven));
    ASSERT_EQ(ran.status, 0) << Describe(ran);
    std::string echoed;
    for (const std::string& l : Lines(expected)) echoed += l.substr(5) + "\n";
    EXPECT_EQ(ran.out, echoed) << words[0] << " -j " << words[2];
  }
}

// The worker is SIGKILLed while its line of 40 items runs: the items were
// taken, none had an outcome; each gets its next attempt (job.retries = 1)
// and ends in results.jsonl exactly once.
TEST_F(Batch, AWorkerKilledMidLineLosesNothing) {
  // The first line to run writes its worker's pid and waits to be killed
  // (bounded, so that a broken test ends); later lines succeed at once.
  const std::string script =
      "if mkdir first 2>/dev/null; then echo $PPID > pid.tmp; mv pid.tmp pid; n=0; "
      "while [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; exit 9; fi; exit 0";
  std::vector<std::string> args = WithShoal(With(
      {"-o", runs_.string(), "-X", "-j", "1", "--set", "job.retries=1", "sh", "-c", script, "sh"},
      Numbers(40)));
  Child shoal(args, dir_, NextCapture());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(dir_ / "pid"); }, seconds(60)));
  const pid_t worker = static_cast<pid_t>(std::stol(ReadFile(dir_ / "pid")));
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ProcessResult r = shoal.Wait(seconds(120));
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(40));
  EXPECT_TRUE(errors.empty());
  EXPECT_NE(ReadFile(run / "log.txt").find("died: signal 9, holding 40 item(s)"), std::string::npos)
      << ReadFile(run / "log.txt");
}

}  // namespace
}  // namespace shoal::e2e
