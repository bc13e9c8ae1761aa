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

}  // namespace
}  // namespace e2e
}  // namespace shoal
