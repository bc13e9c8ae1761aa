// The walk never eats its own output (issue 12): with input.path = "." and
// output.dir = "runs" beside the settings, a second run walks the same items
// as the first, not the first run's records, and its log says what it left
// out. Hidden entries are items unless input.hidden = false, which is logged.

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class Walk : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    job_ = dir_ / "job";
    WriteFile(job_ / "settings.toml",
              "[job]\nname = \"walk\"\nhandler = \"sha256\"\nworkers = 1\n\n"
              "[input]\npath = \".\"\n\n[output]\ndir = \"runs\"\n");
    WriteFile(job_ / "data" / "a.txt", "a\n");
    WriteFile(job_ / "data" / "b.txt", "b\n");
    WriteFile(job_ / ".hidden", "h\n");
  }

  // `shoal run job/settings.toml EXTRA...`: exit 0, one new run directory
  // under job/runs, its items sorted.
  void RunOnce(const std::vector<std::string>& extra, fs::path* run,
               std::vector<std::string>* items) {
    std::set<fs::path> before;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(job_ / "runs", ec)) before.insert(e.path());
    std::vector<std::string> args{"run", (job_ / "settings.toml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Shoal(args);
    ASSERT_EQ(r.status, 0) << Describe(r);
    std::vector<fs::path> added;
    for (const auto& e : fs::directory_iterator(job_ / "runs", ec)) {
      if (!before.count(e.path())) added.push_back(e.path());
    }
    ASSERT_EQ(added.size(), 1u);
    *run = added[0];
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(*run, &results, &errors));
    EXPECT_TRUE(errors.empty());
    *items = Items(results);
  }

  static size_t CountLines(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (const std::string& line : Lines(text)) n += line.find(part) != std::string::npos;
    return n;
  }

  fs::path job_;
};

TEST_F(Walk, ASecondRunDoesNotWalkTheFirstRunsRecords) {
  const std::vector<std::string> want{".hidden", "data/a.txt", "data/b.txt", "settings.toml"};
  fs::path first, second;
  std::vector<std::string> items;
  ASSERT_NO_FATAL_FAILURE(RunOnce({}, &first, &items));
  EXPECT_EQ(items, want);
  ASSERT_TRUE(fs::exists(first / "results.jsonl"));

  ASSERT_NO_FATAL_FAILURE(RunOnce({}, &second, &items));
  EXPECT_EQ(items, want) << "the second run walked into runs/";
  const std::string log = ReadFile(second / "log.txt");
  EXPECT_EQ(CountLines(log, "left out of the walk: 'runs': it is output.dir"), 1u) << log;
  EXPECT_EQ(CountLines(log, "left out of the walk"), 1u) << log;
}

TEST_F(Walk, HiddenEntriesLeftOutAreCountedInTheLog) {
  fs::path run;
  std::vector<std::string> items;
  ASSERT_NO_FATAL_FAILURE(RunOnce({"--set", "input.hidden=false"}, &run, &items));
  EXPECT_EQ(items, (std::vector<std::string>{"data/a.txt", "data/b.txt", "settings.toml"}));
  const std::string log = ReadFile(run / "log.txt");
  EXPECT_EQ(CountLines(log,
                       "input: left out 1 hidden entries (names that start with '.', "
                       "input.hidden = false), e.g. '.hidden'"),
            1u)
      << log;
}

// A limit on a user's processes and threads (ulimit -u) can leave no room
// for the threads that read a tree ahead: the walk then goes on with fewer
// of them, or on the master's own thread, says so, and hands out every item.
// RLIMIT_NPROC does not hold for root, so shoal runs as nobody here.
TEST_F(Walk, ALimitOnThreadsSlowsTheWalkButLosesNoItem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run shoal as nobody";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers' runtimes start threads of their own, which the limit counts";
#endif
  for (const char* d : {"a", "a/b", "c"}) {
    for (const char* f : {"1", "2", "3"}) WriteFile(dir_ / "tree" / d / f, "x\n");
  }
  WriteFile(dir_ / "walk.toml",
            "[job]\nname = \"w\"\nhandler = \"command\"\n[command]\nargv = [\"echo\", \"{}\"]\n"
            "[input]\npath = \"" +
                (dir_ / "tree").string() + "\"\nwalk_threads = 8\n");
  ASSERT_EQ(Run({"chmod", "-R", "a+rX", dir_.string()}).status, 0);
  auto as_nobody = [&](const std::string& nproc) {
    return Run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "prlimit",
                "--nproc=" + nproc, SHOAL_BIN, "run", (dir_ / "walk.toml").string(), "--dry-run"});
  };
  ProcessResult roomy = as_nobody("1000");
  if (roomy.status != 0) GTEST_SKIP() << "cannot run shoal as nobody here: " << Describe(roomy);
  ASSERT_EQ(Lines(roomy.out).size(), 9u) << roomy.out;
  // The main thread and two readers: the third reader and the thread that
  // reads the walk ahead cannot start.
  ProcessResult r = as_nobody("3");
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, roomy.out);
  EXPECT_NE(r.err.find("the walk goes on with 2 of 8 readers (input.walk_threads)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cannot start the thread that reads the input"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the walk runs on the master's thread"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
