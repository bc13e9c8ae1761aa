// The run directory's records under stress: a write that fails part-way,
// the master killed between and after the writes of its record files,
// inputs that change far into a run, symlinked record files, the modes of
// what a run creates, and resume from a relative path. After each, resume
// must finish the run with every item recorded exactly once.

#include <sys/mount.h>

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

  // A job of n items "1".."n" where every 4th fails, each taking ~10 ms, so
  // that a run makes many flushes with records in all three record files.
  void WriteFailingJob(int n, const std::string& job_extra = "") {
    WriteItems(n);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"rec\"\nworkers = 2\n" + job_extra +
                  "\n[input]\npath = \"items.txt\"\n[command]\nargv = [\"sh\", \"-c\", "
                  "\"sleep 0.01; [ $(($1 % 4)) -ne 0 ]\", \"sh\", \"{item}\"]\n");
  }

  // The whole records of a record file (a torn last one is not counted);
  // fails the test if a whole line is not a JSON record: nothing may follow
  // a torn record.
  size_t WholeRecords(const fs::path& file) {
    ProcessResult r = Run({"python3", "-c",
                           "import json, sys\n"
                           "data = open(sys.argv[1], 'rb').read()\n"
                           "lines = data.split(b'\\n')[:-1]\n"
                           "for n, l in enumerate(lines, 1):\n"
                           "    r = json.loads(l)\n"
                           "    assert isinstance(r['index'], int), n\n"
                           "print(len(lines))\n",
                           file.string()});
    EXPECT_EQ(r.status, 0) << file << ": " << Describe(r);
    return r.status == 0 ? std::stoul(r.out) : 0;
  }

  // "ok failed" of run.json, as Python's json reads it.
  std::string RunJsonCounts(const fs::path& run) {
    ProcessResult r = Run({"python3", "-c",
                           "import json, sys\n"
                           "s = json.load(open(sys.argv[1]))\n"
                           "print(s['ok'], s['failed'])",
                           (run / "run.json").string()});
    return r.status == 0 ? r.out.substr(0, r.out.find('\n')) : Describe(r);
  }

  // failed.txt must list exactly the failed items of errors.jsonl.
  void ExpectFailedListMatchesErrors(const fs::path& run, const std::vector<Record>& errors) {
    EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Items(errors));
  }

  // The expected failures of WriteFailingJob(n).
  static std::vector<std::string> FailingItems(int n) {
    std::vector<std::string> v;
    for (int i = 4; i <= n; i += 4) v.push_back(std::to_string(i));
    return Sorted(v);
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

// ---- a record write that fails part-way (a full disk) ----

class WriteFailure : public Records, public ::testing::WithParamInterface<int> {};

TEST_P(WriteFailure, StopsTheRunAndResumeRepairsTheFiles) {
  constexpr int kItems = 300;
  WriteFailingJob(kItems);
  // The N-th flush of a record file with data writes half its buffer, then
  // fails with ENOSPC: 1, 4 = results, 2, 5 = errors, 3, 6 = failed.txt, for
  // flushes with records in all three (likely, not certain).
  ProcessResult r = RunWithEnv({"SHOAL_FAULT=record-write-fail:" + std::to_string(GetParam())});
  ASSERT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("cannot write "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device (errno 28)"), std::string::npos) << r.err;
  fs::path run = OnlyRun();
  EXPECT_NE(ReadFile(run / "log.txt").find("run failed: cannot write"), std::string::npos);
  // The run stopped at once, and only what reached the disk is counted.
  size_t ok = WholeRecords(run / "results.jsonl");
  size_t failed = WholeRecords(run / "errors.jsonl");
  EXPECT_LT(ok + failed, static_cast<size_t>(kItems));
  EXPECT_EQ(RunJsonCounts(run), std::to_string(ok) + " " + std::to_string(failed));
  EXPECT_NE(r.err.find(std::to_string(ok) + " ok, " + std::to_string(failed) + " failed"),
            std::string::npos)
      << r.err;

  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 1) << Describe(resumed);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(kItems));
  EXPECT_EQ(Items(errors), FailingItems(kItems));
  ExpectFailedListMatchesErrors(run, errors);
  EXPECT_EQ(RunJsonCounts(run),
            std::to_string(results.size()) + " " + std::to_string(errors.size()));
}

INSTANTIATE_TEST_SUITE_P(NthFlush, WriteFailure, ::testing::Values(1, 2, 3, 4, 5, 6));

// The same with a real full disk: a 256 KB tmpfs (root only; skipped where
// mount is not allowed), given room afterwards.
TEST_F(Records, FullDiskStopsTheRunAndResumeFinishesItOnceThereIsRoom) {
  const fs::path disk = dir_ / "disk";
  fs::create_directories(disk);
  if (Run({"mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk.string()}).status != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{disk};
  WriteItems(5000);
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"full\"\nworkers = 2\nhandler = \"plugin\"\n[input]\n"
            "path = \"items.txt\"\n[plugin]\nlibrary = \"" SHOAL_NOOP_PLUGIN "\"\n");
  ProcessResult r = Shoal({"run", "settings.toml", "-o", (disk / "runs").string()});
  ASSERT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("No space left on device (errno 28)"), std::string::npos) << r.err;
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(disk / "runs")) runs.push_back(e.path());
  ASSERT_EQ(runs.size(), 1u);
  const size_t recorded = WholeRecords(runs[0] / "results.jsonl");
  EXPECT_LT(recorded, 5000u);
  EXPECT_NE(r.err.find(std::to_string(recorded) + " ok, 0 failed"), std::string::npos) << r.err;
  ASSERT_EQ(Run({"mount", "-o", "remount,size=16m", disk.string()}).status, 0);
  ProcessResult resumed = Shoal({"resume", runs[0].string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(runs[0], &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(5000));
}

// ---- the master killed between the writes of the record files ----

TEST_F(Records, KilledBetweenErrorsAndFailedListResumeRebuildsTheList) {
  constexpr int kItems = 200;
  WriteFailingJob(kItems);
  // Hits 1, 2, 3 of a flush follow results, errors, failed.txt: hit 2 is
  // after errors.jsonl was written and before failed.txt was.
  ProcessResult r = RunWithEnv({"SHOAL_FAULT=master-between-files:2"});
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  fs::path run = OnlyRun();
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ASSERT_FALSE(errors.empty()) << "no failure before the kill: the test proves nothing";
  EXPECT_LT(Lines(ReadFile(run / "failed.txt")).size(), errors.size());

  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 1) << Describe(resumed);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(kItems));
  ExpectFailedListMatchesErrors(run, errors);
  EXPECT_EQ(Items(errors), FailingItems(kItems));
  // And retry, from a relative path, runs exactly those items again, in
  // the run's own directory.
  std::set<fs::path> before = RunDirs();
  ProcessResult retried = Shoal({"retry", "runs/" + run.filename().string()});
  ASSERT_EQ(retried.status, 1) << Describe(retried);
  EXPECT_EQ(RunDirs(), before);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(kItems));
  ExpectFailedListMatchesErrors(run, errors);
  EXPECT_EQ(Items(errors), FailingItems(kItems));
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "retries/1/failed.txt"))), FailingItems(kItems));
}

// Twenty kills at exact write points (hit N: after results, errors or
// failed.txt of a flush, N = 1..20), each followed by a resume to the end.
TEST_F(Records, TwentyKillsAtWritePointsLoseAndDuplicateNothing) {
  constexpr int kItems = 400;
  for (int n = 1; n <= 20; ++n) {
    SCOPED_TRACE("master-between-files:" + std::to_string(n));
    fs::remove_all(runs_);
    WriteFailingJob(kItems);
    ProcessResult r = RunWithEnv({"SHOAL_FAULT=master-between-files:" + std::to_string(n)});
    ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
    fs::path run = OnlyRun();
    ProcessResult resumed = Shoal({"resume", run.string()});
    ASSERT_EQ(resumed.status, 1) << Describe(resumed);
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    ExpectEachItemOnce(results, errors, Numbers(kItems));
    EXPECT_EQ(Items(errors), FailingItems(kItems));
    ExpectFailedListMatchesErrors(run, errors);
    if (HasFailure()) break;
  }
}

// ---- the input changed far into the run ----

class ChangedInput : public Records {
 protected:
  // A finished run over 5000 items "1".."5000" (the noop plugin).
  fs::path RunFiveThousand() {
    WriteItems(5000);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"big\"\nworkers = 2\nhandler = \"plugin\"\n[input]\n"
              "path = \"items.txt\"\n[plugin]\nlibrary = \"" SHOAL_NOOP_PLUGIN "\"\n");
    ProcessResult r = RunJob();
    EXPECT_EQ(r.status, 0) << Describe(r);
    return OnlyRun();
  }

  void ReplaceLine(int line, const std::string& text) {
    std::vector<std::string> lines = Lines(ReadFile(dir_ / "items.txt"));
    lines[static_cast<size_t>(line - 1)] = text;
    std::string joined;
    for (const std::string& l : lines) joined += l + "\n";
    WriteFile(dir_ / "items.txt", joined);
  }
};

TEST_F(ChangedInput, ResumeRefusesAChangePastTheFirst4096ItemsAndNamesIt) {
  fs::path run = RunFiveThousand();
  KeepLines(run / "results.jsonl", 4990);  // a few left to run
  const std::string before = ReadFile(run / "results.jsonl");
  ReplaceLine(4800, "changed too");
  ReplaceLine(4500, "changed");
  ProcessResult resumed = Shoal({"resume", run.string()});
  EXPECT_EQ(resumed.status, 2) << Describe(resumed);
  EXPECT_NE(resumed.err.find("the input changed"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("item 4500 is not the one recorded"), std::string::npos)
      << resumed.err;
  EXPECT_EQ(ReadFile(run / "results.jsonl"), before) << "something ran";
}

TEST_F(ChangedInput, ResumeRefusesAnInputThatEndsBeforeARecordedItem) {
  fs::path run = RunFiveThousand();
  std::vector<std::string> lines = Lines(ReadFile(dir_ / "items.txt"));
  std::string shorter;
  for (size_t i = 0; i < 4400; ++i) shorter += lines[i] + "\n";
  WriteFile(dir_ / "items.txt", shorter);
  ProcessResult resumed = Shoal({"resume", run.string()});
  EXPECT_EQ(resumed.status, 2) << Describe(resumed);
  EXPECT_NE(resumed.err.find("it ends before item 4401"), std::string::npos) << resumed.err;
}

TEST_F(ChangedInput, ResumeAcceptsTheSameInput) {
  fs::path run = RunFiveThousand();
  KeepLines(run / "results.jsonl", 4000);
  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(5000));
}

// ---- record files that are not what a run leaves ----

TEST_F(Records, ResumeRefusesASymlinkedRecordFileAndLeavesItsTargetAlone) {
  WriteFailingJob(20);
  ASSERT_EQ(RunJob().status, 1);
  fs::path run = OnlyRun();
  for (const char* name : {"results.jsonl", "errors.jsonl"}) {
    SCOPED_TRACE(name);
    fs::path target = dir_ / (std::string("elsewhere-") + name);
    // A torn last line, which resume would cut.
    WriteFile(target, ReadFile(run / name) + "{\"index\":99,\"it");
    const std::string kept = ReadFile(target);
    fs::path saved = dir_ / (std::string("saved-") + name);
    fs::rename(run / name, saved);
    fs::create_symlink(target, run / name);
    ProcessResult resumed = Shoal({"resume", run.string()});
    EXPECT_EQ(resumed.status, 3) << Describe(resumed);
    EXPECT_NE(resumed.err.find(name + std::string(" is a symbolic link")), std::string::npos)
        << resumed.err;
    EXPECT_EQ(ReadFile(target), kept);
    fs::remove(run / name);
    fs::rename(saved, run / name);
  }
}

TEST_F(Records, ResumeChecksEveryFileBeforeCuttingATornLine) {
  WriteFailingJob(20);
  ASSERT_EQ(RunJob().status, 1);
  fs::path run = OnlyRun();
  WriteFile(run / "results.jsonl", ReadFile(run / "results.jsonl") + "{\"index\":99,\"it");
  WriteFile(run / "errors.jsonl", "not a record\n" + ReadFile(run / "errors.jsonl"));
  const std::string results = ReadFile(run / "results.jsonl");
  ProcessResult resumed = Shoal({"resume", run.string()});
  EXPECT_EQ(resumed.status, 2) << Describe(resumed);
  EXPECT_NE(resumed.err.find("errors.jsonl:1: a record without"), std::string::npos) << resumed.err;
  EXPECT_EQ(ReadFile(run / "results.jsonl"), results) << "cut before everything was checked";
}

// ---- what a run creates is private unless output.mode says otherwise ----

struct ModeCase {
  const char* setting;  // output.mode; "" = the default
  unsigned dir_mode;
};

class RunModes : public Records, public ::testing::WithParamInterface<ModeCase> {};

TEST_P(RunModes, EveryDirectoryAndFileOfTheRunHasTheModeOfTheSetting) {
  const ModeCase c = GetParam();
  WriteItems(20);
  // Outputs to files under out/, item logs, a secret in the settings; a
  // failure, and a resume that rebuilds failed.txt.
  std::string output = c.setting[0] != '\0' ? "[output]\nmode = \"" + std::string(c.setting) +
                                                  "\"\nitem_logs = true\n"
                                            : "[output]\nitem_logs = true\n";
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"modes\"\nworkers = 2\n[input]\npath = \"items.txt\"\n"
            "[command]\nstdout = \"file\"\nstdout_path = \"{out}/d{index}/{item}.out\"\n"
            "env = { API_TOKEN = \"secret\" }\nargv = [\"sh\", \"-c\", "
            "\"echo out; echo err >&2; [ $1 -ne 7 ]\", \"sh\", \"{item}\"]\n" +
                output);
  ProcessResult r = RunJob({"--set", "job.retries=0"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run = OnlyRun();
  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 1) << Describe(resumed);
  const unsigned file_mode = c.dir_mode & 0666;
  auto mode_of = [](const fs::path& p) {
    struct stat st;
    return lstat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 07777u;
  };
  EXPECT_EQ(mode_of(run), c.dir_mode);
  size_t files = 0, dirs = 0;
  for (const auto& entry : fs::recursive_directory_iterator(run)) {
    bool dir = entry.is_directory();
    (dir ? dirs : files)++;
    EXPECT_EQ(mode_of(entry.path()), dir ? c.dir_mode : file_mode) << entry.path();
  }
  EXPECT_GE(dirs, 20u);  // out/, out/dN/, logs/
  // settings, records, log, run.json, item logs, and the outputs of the 19
  // items that succeed (a failed item's stdout file is removed).
  EXPECT_GE(files, 45u);
}

INSTANTIATE_TEST_SUITE_P(Modes, RunModes,
                         ::testing::Values(ModeCase{"", 0700}, ModeCase{"private", 0700},
                                           ModeCase{"shared", 0755}, ModeCase{"0750", 0750}),
                         [](const auto& info) {
                           return info.param.setting[0] != '\0'
                                      ? std::string("m").append(info.param.setting)
                                      : std::string("default");
                         });

}  // namespace
}  // namespace e2e
}  // namespace shoal
