// The files shoal writes for items: one at its final path means the item
// succeeded, and a stdout path that cannot be inside the run directory is
// refused before anything runs.
#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// Every file below `dir`, relative to it, sorted.
std::vector<std::string> FilesBelow(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) files.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Half the items fail: only the others' stdout files exist, no temporary is
// left, and each result's output_file names a file that is there.
TEST_F(E2e, StdoutFilesExistOnlyForItemsThatSucceeded) {
  std::string list;
  std::vector<std::string> expected;
  for (int i = 1; i <= 20; ++i) {
    list += std::to_string(i) + "\n";
    if (i % 2 == 0) expected.push_back(std::to_string(i) + ".out");
  }
  std::sort(expected.begin(), expected.end());
  WriteFile(dir_ / "items.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"half\"\n"
            "workers = 2\n"
            "handler = \"command\"\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"sh\", \"-c\", \"echo item $0; exit $(( $0 % 2 ))\", \"{item}\"]\n"
            "stdout = \"file\"\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_EQ(results.size(), 10u);
  EXPECT_EQ(errors.size(), 10u);
  EXPECT_EQ(FilesBelow(run / "out"), expected);
  for (const Record& r : results) {
    ASSERT_TRUE(r.output_file.has_value()) << r.item;
    EXPECT_EQ(ReadFile(run / *r.output_file), "item " + r.item + "\n") << r.item;
  }
  for (const Record& r : errors) {
    const std::string file = r.output_file.value_or("");
    EXPECT_TRUE(file.empty() || fs::exists(run / file)) << r.item << ": " << file;
  }
}

// a/f, ./a/f and b/../a/f have one {rel}: one item writes out/a/f.txt, the
// other two fail naming it, and a retry fails them again rather than
// overwrite it; an item with an output of its own is untouched.
TEST_F(E2e, ItemsWithTheSameRelNeverShareAStdoutFile) {
  WriteFile(dir_ / "items.txt", "a/f\n./a/f\nb/../a/f\nc/g\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"same\"\nworkers = 3\n[input]\npath = \"items.txt\"\n"
            "[command]\nargv = [\"echo\", \"{item}\"]\nstdout = \"file\"\n"
            "stdout_path = \"{out}/{name}.txt\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(errors.size(), 2u);
  std::string owner;
  uint64_t owner_index = 0;
  for (const Record& r : results) {
    if (r.item == "c/g") continue;
    owner = r.item;
    owner_index = r.index;
  }
  ASSERT_FALSE(owner.empty());
  EXPECT_EQ(ReadFile(run / "out/a/f.txt"), owner + "\n");
  EXPECT_EQ(ReadFile(run / "out/c/g.txt"), "c/g\n");
  for (const Record& e : errors) {
    EXPECT_EQ(e.reason.value_or(""),
              "stdout file: " + (run / "out/a/f.txt").string() + " is already the output of item " +
                  std::to_string(owner_index) + " ('" + owner +
                  "') of this run; two items may not share an output file: make "
                  "command.stdout_path tell them apart (e.g. with {index}), or list each item "
                  "once")
        << e.item;
  }
  EXPECT_EQ(FilesBelow(run / "out"), (std::vector<std::string>{"a/f.txt", "c/g.txt"}));
  ProcessResult r = Shoal({"retry", run.string()});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(ReadFile(run / "out/a/f.txt"), owner + "\n");
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_EQ(errors.size(), 2u);
  // The same template with {index} tells them apart.
  r = RunJob({"--set", "command.stdout_path={out}/{name}.{index}.txt"});
  EXPECT_EQ(r.status, 0) << Describe(r);
}

// The same, for files the command writes itself under {out}: the first item
// of a {rel} claims it, the other spellings fail naming that item and their
// command never runs (no second touch), alone or on one command line (-X),
// and a retry fails them again.
TEST_F(E2e, ItemsWithTheSameRelNeverShareOutFilesTheCommandWrites) {
  WriteFile(dir_ / "items.txt", "a/f\n./a/f\nb/../a/f\nc/g\na/f\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"claims\"\nworkers = 2\nretries = 2\n[input]\npath = \"items.txt\"\n"
            "[command]\nargv = [\"mkdir\", \"{out}/{name}.d\"]\n");
  for (const std::string batch : {"none", "context"}) {
    SCOPED_TRACE(batch);
    for (const fs::path& old : RunDirs()) fs::remove_all(old);
    ProcessResult r = RunJob({"--set", "command.batch=" + batch});
    ASSERT_EQ(r.status, 1) << Describe(r);
    const std::set<fs::path> runs = RunDirs();
    ASSERT_EQ(runs.size(), 1u);
    const fs::path run = *runs.begin();
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    // mkdir fails when the directory exists: a second command for a/f would
    // fail as "exit 1", not as a claim.
    ASSERT_EQ(results.size(), 2u);
    ASSERT_EQ(errors.size(), 3u);
    uint64_t owner = 0;
    for (const Record& r : results) {
      if (r.item != "c/g") owner = r.index;
    }
    ASSERT_NE(owner, 0u);
    for (const Record& e : errors) {
      EXPECT_EQ(e.reason.value_or(""), "output: {rel} 'a/f' is already item " +
                                           std::to_string(owner) +
                                           "'s: two items may not share {out} files; list each "
                                           "path once, spelt one way")
          << e.item;
    }
    // Failed for good: job.retries does not run them again.
    for (const std::string& line : Lines(ReadFile(run / "errors.jsonl"))) {
      EXPECT_NE(line.find("\"attempts\":1,"), std::string::npos) << line;
    }
    EXPECT_EQ(FilesBelow(run / "out"), std::vector<std::string>{});
    EXPECT_TRUE(fs::is_directory(run / "out/a/f.d"));
    EXPECT_TRUE(fs::is_directory(run / "out/c/g.d"));
    std::vector<std::string> failed = Lines(ReadFile(run / "failed.txt"));
    EXPECT_EQ(failed.size(), 3u);
    r = Shoal({"retry", run.string()});
    EXPECT_EQ(r.status, 1) << Describe(r);
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    EXPECT_EQ(results.size(), 2u);
    EXPECT_EQ(errors.size(), 3u);
  }
}

// A stdout path outside the run directory would fail every item at run time:
// check and run refuse it first, and no run directory is made.
TEST_F(E2e, StdoutPathOutsideTheRunIsRefusedBeforeAnythingRuns) {
  WriteFile(dir_ / "items.txt", "a\nb\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"mirror\"\n"
            "handler = \"command\"\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"echo\", \"{item}\"]\n"
            "stdout = \"file\"\n");
  for (const std::string path : {"/data/mirror/{rel}.gz", "{out}/../../{rel}.gz", "../{rel}"}) {
    SCOPED_TRACE(path);
    const std::string set = "command.stdout_path=" + path;
    ProcessResult r = Shoal({"check", "settings.toml", "--set", set});
    EXPECT_EQ(r.status, 2) << Describe(r);
    EXPECT_NE(r.err.find("command.stdout_path"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("write it under {out}, e.g. \"{out}/"), std::string::npos) << r.err;
    r = RunJob({"--set", set});
    EXPECT_EQ(r.status, 2) << Describe(r);
    EXPECT_NE(r.err.find("command.stdout_path"), std::string::npos) << r.err;
    EXPECT_TRUE(RunDirs().empty());
  }
  ProcessResult r =
      Shoal({"check", "settings.toml", "--set", "command.stdout_path=/data/mirror/{rel}.gz"});
  EXPECT_NE(r.err.find("e.g. \"{out}/{rel}.gz\""), std::string::npos) << r.err;
  // Inside the run, however it is spelled, passes.
  for (const std::string path :
       {"{out}/{rel}.gz", "{run}/x/{name}", "{out}/../{name}", "y/{name}"}) {
    r = Shoal({"check", "settings.toml", "--set", "command.stdout_path=" + path});
    EXPECT_EQ(r.status, 0) << path << ": " << Describe(r);
  }
}

// The same for the http handler's response files.
TEST_F(E2e, ResponsePathOutsideTheRunIsRefusedBeforeAnythingRuns) {
  WriteFile(dir_ / "items.txt", "a\nb\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"bodies\"\nhandler = \"http\"\n[input]\npath = \"items.txt\"\n"
            "[http]\nurl = \"http://127.0.0.1:9/{item}\"\nresponse = \"file\"\n"
            "response_path = \"/data/bodies/{item}.json\"\n");
  ProcessResult r = Shoal({"check", "settings.toml"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("http.response_path \"/data/bodies/{item}.json\" is not inside the run "
                       "directory"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("write it under {out}, e.g. \"{out}/{item}.json\""), std::string::npos)
      << r.err;
  r = RunJob({});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_TRUE(RunDirs().empty());
  // Inside the run it is fine.
  r = Shoal({"check", "settings.toml", "--set", "http.response_path={out}/{item}.json"});
  EXPECT_EQ(r.status, 0) << Describe(r);
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
