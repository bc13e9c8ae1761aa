// The run directory's records under stress: a write that fails part-way,
// the master killed between and after the writes of its record files,
// inputs that change far into a run, symlinked record files, the modes of
// what a run creates, and resume from a relative path. After each, resume
// must finish the run with every item recorded exactly once.

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class Records : public E2e {
 protected:
  // items.txt holding "1".."n", a line each.
  void WriteItems(int n) {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
  }

  static std::vector<std::string> Numbers(int n) {
    std::vector<std::string> v;
    for (int i = 1; i <= n; ++i) v.push_back(std::to_string(i));
    return v;
  }

  // The only run directory under runs/.
  fs::path OnlyRun() {
    std::set<fs::path> dirs = RunDirs();
    EXPECT_EQ(dirs.size(), 1u);
    return dirs.empty() ? fs::path() : *dirs.begin();
  }

  // Keeps the first `keep` lines of `file`.
  static void KeepLines(const fs::path& file, size_t keep) {
    std::vector<std::string> lines = Lines(ReadFile(file));
    std::string kept;
    for (size_t i = 0; i < keep && i < lines.size(); ++i) kept += lines[i] + "\n";
    WriteFile(file, kept);
  }

  // `shoal run` with extra environment (SHOAL_FAULT), to its end.
  ProcessResult RunWithEnv(const std::vector<std::string>& env, seconds timeout = seconds(120)) {
    std::vector<std::string> argv{"env"};
    argv.insert(argv.end(), env.begin(), env.end());
    for (const std::string& a : WithShoal({"run", "settings.toml", "-o", runs_.string()})) {
      argv.push_back(a);
    }
    return Run(argv, timeout);
  }
};

// ---- resume with a relative run directory ----

TEST_F(Records, ResumeFromARelativePathWritesOutputsIntoTheRun) {
  WriteItems(20);
  fs::create_directories(dir_ / "sub");
  // The command runs in sub/: a relative {out} would land in sub/runs/...
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"rel\"\nworkers = 2\n[input]\npath = \"items.txt\"\n"
            "[command]\ncwd = \"sub\"\nargv = [\"sh\", \"-c\", \"echo hi > \\\"$1\\\"\", \"sh\", "
            "\"{out}/{item}.txt\"]\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run = OnlyRun();
  ASSERT_EQ(Lines(ReadFile(run / "results.jsonl")).size(), 20u);
  // Forget 15 items and their outputs: resume runs them again.
  KeepLines(run / "results.jsonl", 5);
  fs::remove_all(run / "out");
  fs::create_directories(run / "out");

  ProcessResult resumed = Shoal({"resume", "runs/" + run.filename().string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(20));
  size_t outputs = 0;
  for (const auto& entry : fs::directory_iterator(run / "out")) {
    outputs += entry.path().extension() == ".txt";
  }
  EXPECT_EQ(outputs, 15u);
  EXPECT_FALSE(fs::exists(dir_ / "sub" / "runs")) << "outputs written beside the command's cwd";
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
