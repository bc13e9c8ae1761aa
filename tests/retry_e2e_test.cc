// shoal retry completes its own run directory (issue 17, defect 14; issue 13,
// item 6): every item's latest outcome is in the run's records exactly once,
// with its original index, after a retry, a retry killed and resumed, and a
// second retry. output.tree roots {out} outside the run directory without
// letting '..' or a symlink out of it, and resume removes the temporary
// files a killed worker left.
#include <gtest/gtest.h>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// Items 1..n; an item ending in 3 or 7 fails while dir/marker exists. Each
// writes its item into out/n{#}.txt, so a renumbered retry shows (and two
// items with one number would collide). With dir/slow, each item takes 50ms.
class Retry : public E2e {
 protected:
  void WriteJob(int n, const std::string& job_extra = "") {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
    const std::string marker = (dir_ / "marker").string();
    const std::string slow = (dir_ / "slow").string();
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"retry\"\nworkers = 2\n" + job_extra +
                  "\n[input]\npath = \"items.txt\"\n\n[command]\n"
                  "argv = [\"sh\", \"-c\", '[ -e \"$4\" ] && sleep 0.05; "
                  "if [ -e \"$3\" ]; then case $1 in *3|*7) exit 3;; esac; fi; "
                  "printf %s \"$1\" > \"$2/n$5.txt\"', \"sh\", \"{item}\", \"{out}\", \"" +
                  marker + "\", \"" + slow + "\", \"{#}\"]\n");
  }

  static std::vector<std::string> Failing(int n) {
    std::vector<std::string> v;
    for (int i = 1; i <= n; ++i) {
      if (i % 10 == 3 || i % 10 == 7) v.push_back(std::to_string(i));
    }
    return v;
  }

  // A finished first run with the failing items failed; its directory.
  void FirstRun(int n, fs::path* run) {
    WriteJob(n);
    WriteFile(dir_ / "marker", "");
    std::vector<Record> results, errors;
    ASSERT_NO_FATAL_FAILURE(RunAndRead(1, run, &results, &errors));
    ASSERT_EQ(Items(errors), Sorted(Failing(n)));
  }

  // The run holds every item once, all succeeded with their original index
  // (item i at index i, out/n<i>.txt holding i), and nothing failed.
  void ExpectAllOkOnce(const fs::path& run, int n) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    ExpectEachItemOnce(results, errors, Numbers(n));
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(ReadFile(run / "failed.txt"), "");
    for (const Record& r : results) EXPECT_EQ(std::to_string(r.index), r.item);
    for (int i = 1; i <= n; ++i) {
      EXPECT_EQ(ReadFile(run / "out" / std::string("n").append(std::to_string(i)).append(".txt")),
                std::to_string(i))
          << "out/n" << i << ".txt";
    }
    EXPECT_FALSE(fs::exists(run / "errors.jsonl.retry"));
  }

  std::string RunJson(const fs::path& run) { return ReadFile(run / "run.json"); }

  static size_t LineCount(const fs::path& file) { return Lines(ReadFile(file)).size(); }
};

TEST_F(Retry, CompletesTheRunDirectoryWithOriginalIndices) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  const std::string first_errors = ReadFile(run / "errors.jsonl");
  fs::remove(dir_ / "marker");  // the cause is fixed

  ProcessResult r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(RunDirs(), std::set<fs::path>{run}) << "retry made another run directory";
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
  // The earlier failures are kept under retries/1, as they were.
  EXPECT_EQ(ReadFile(run / "retries/1/errors.jsonl"), first_errors);
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "retries/1/failed.txt"))), Sorted(Failing(40)));
  EXPECT_NE(RunJson(run).find("\"ended\":true,"), std::string::npos) << RunJson(run);
  EXPECT_NE(RunJson(run).find("\"exit_status\":0,"), std::string::npos) << RunJson(run);
  EXPECT_NE(RunJson(run).find("\"ok\":40,\"failed\":0"), std::string::npos) << RunJson(run);
  EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":false"), std::string::npos);
  EXPECT_NE(ReadFile(run / "log.txt").find("retry 1:"), std::string::npos);

  // Nothing left to do.
  r = Shoal({"retry", run.string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.err.find("nothing to retry"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run / "retries/2"));
}

TEST_F(Retry, TwiceWorksOnWhatStillFails) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  // Only the items ending in 3 are fixed: those ending in 7 fail again.
  ProcessResult r = Shoal({"retry", run.string(), "--set",
                           "command.argv=[\"sh\", \"-c\", 'case $1 in *7) exit 7;; esac; printf "
                           "%s \"$1\" > \"$2/n$3.txt\"', \"sh\", \"{item}\", \"{out}\", \"{#}\"]"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(40));
  std::vector<std::string> sevens;
  for (const std::string& i : Failing(40)) {
    if (i.back() == '7') sevens.push_back(i);
  }
  EXPECT_EQ(Items(errors), Sorted(sevens));
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted(sevens));
  for (const Record& e : errors) EXPECT_EQ(e.reason.value_or(""), "exit 7");

  // The second retry, with the cause gone, on exactly what still fails.
  fs::remove(dir_ / "marker");
  r = Shoal({"retry", run.string(), "--set",
             "command.argv=[\"sh\", \"-c\", 'printf %s \"$1\" > \"$2/n$3.txt\"', \"sh\", "
             "\"{item}\", \"{out}\", \"{#}\"]"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "retries/2/failed.txt"))), Sorted(sevens));
  EXPECT_NE(RunJson(run).find("\"retries\":2,\"retrying\":false"), std::string::npos);
}

// shoal retry RUN --shards 2, its two array tasks run by hand here
// (tests/slurm_e2e_test.sh submits them to a Slurm of one machine): each
// shard runs its share of the failed items with their original index, and
// 'shoal merge SHARDS -o RUN' joins them into RUN, which then holds every
// item's latest outcome exactly once.
class RetryShards : public Retry {
 protected:
  static constexpr char kSevensFail[] =
      "command.argv=[\"sh\", \"-c\", 'case $1 in *7) exit 7;; esac; printf %s \"$1\" > "
      "\"$2/n$3.txt\"', \"sh\", \"{item}\", \"{out}\", \"{#}\"]";

  // Begins retry 1 of `run` with --shards 2 (and `extra`), then runs what
  // each array task runs; the shards' run directories.
  void RunShards(const fs::path& run, const std::vector<std::string>& extra,
                 std::vector<fs::path>* shards) {
    std::vector<std::string> args{"retry", run.string(), "--shards", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Shoal(args);
    ASSERT_EQ(r.status, 0) << Describe(r);
    std::vector<fs::path> jobs;
    for (const auto& e : fs::directory_iterator(run / "retries/1")) {
      if (e.path().filename().string().ends_with("-slurm")) jobs.push_back(e.path());
    }
    ASSERT_EQ(jobs.size(), 1u) << "the job directory goes into retries/1";
    const std::string tasks = ReadFile(jobs[0] / "shards.sbatch");
    EXPECT_NE(tasks.find(" retry " + run.string() +
                         " --shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\""),
              std::string::npos)
        << tasks;
    const std::string merge = ReadFile(jobs[0] / "merge.sbatch");
    EXPECT_NE(merge.find(" -o " + run.string()), std::string::npos) << merge;
    EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":true"), std::string::npos);
    for (const char* shard : {"0/2", "1/2"}) {
      r = Shoal({"retry", run.string(), "--shard", shard, "-q"});
      ASSERT_TRUE(r.status == 0 || r.status == 1) << Describe(r);
    }
    for (const auto& e : fs::directory_iterator(jobs[0] / "shards")) shards->push_back(e.path());
    std::sort(shards->begin(), shards->end());
    ASSERT_EQ(shards->size(), 2u);
  }

  ProcessResult Join(const std::vector<fs::path>& shards, const fs::path& run) {
    return Shoal({"merge", shards[0].string(), shards[1].string(), "-o", run.string()});
  }
};

TEST_F(RetryShards, JoinTheRunInPlace) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  fs::remove(dir_ / "marker");
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(RunShards(run, {}, &shards));
  // Each shard ran its share, with the items' indices in the run.
  size_t ran = 0;
  for (const fs::path& shard : shards) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(shard, &results, &errors));
    EXPECT_TRUE(errors.empty()) << shard;
    for (const Record& r : results) EXPECT_EQ(std::to_string(r.index), r.item) << shard;
    ran += results.size();
  }
  EXPECT_EQ(ran, Failing(40).size());

  ProcessResult r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
  EXPECT_EQ(RunDirs(), std::set<fs::path>{run});
  const std::string state = RunJson(run);
  EXPECT_NE(state.find("\"ended\":true,"), std::string::npos) << state;
  EXPECT_NE(state.find("\"exit_status\":0,"), std::string::npos) << state;
  EXPECT_NE(state.find("\"ok\":40,\"failed\":0"), std::string::npos) << state;
  EXPECT_NE(state.find("\"retries\":1,\"retrying\":false"), std::string::npos) << state;

  // Run again (as after a crash of the join, or by mistake): the same run.
  const std::string results = ReadFile(run / "results.jsonl");
  r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(ReadFile(run / "results.jsonl"), results);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
}

TEST_F(RetryShards, WhatStillFailsIsListedOnce) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  // Only the items ending in 3 are fixed (an override, frozen for the shards).
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(RunShards(run, {"--set", kSevensFail}, &shards));
  ProcessResult r = Join(shards, run);
  ASSERT_EQ(r.status, 1) << Describe(r);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(40));
  std::vector<std::string> sevens, threes;
  for (const std::string& i : Failing(40)) (i.back() == '7' ? sevens : threes).push_back(i);
  EXPECT_EQ(Items(errors), Sorted(sevens));
  for (const Record& e : errors) EXPECT_EQ(e.reason.value_or(""), "exit 7") << e.item;
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted(sevens));
  for (const std::string& i : threes) EXPECT_EQ(ReadFile(run / "out" / ("n" + i + ".txt")), i);
  EXPECT_NE(RunJson(run).find("\"ok\":36,\"failed\":4"), std::string::npos) << RunJson(run);
}

// The join SIGKILLed between each pair of its steps (SHOAL_FAULT
// merge-join:K), then run again: the same run as an uninterrupted join.
class RetryShardsJoinKilled : public RetryShards, public ::testing::WithParamInterface<int> {};

TEST_P(RetryShardsJoinKilled, RunAgainCompletesIt) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  fs::remove(dir_ / "marker");
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(RunShards(run, {}, &shards));
  const std::string fault = "merge-join:" + std::to_string(GetParam());
  ::setenv("SHOAL_FAULT", fault.c_str(), 1);
  ProcessResult r = Join(shards, run);
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  EXPECT_NE(RunJson(run).find("\"retrying\":true"), std::string::npos) << RunJson(run);
  r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
  EXPECT_NE(RunJson(run).find("\"ok\":40,\"failed\":0"), std::string::npos) << RunJson(run);
}

INSTANTIATE_TEST_SUITE_P(Steps, RetryShardsJoinKilled, ::testing::Values(1, 2, 3));

TEST_F(Retry, KilledRetryIsFinishedByResume) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(200, &run));
  const size_t recorded = LineCount(run / "results.jsonl");
  fs::remove(dir_ / "marker");
  WriteFile(dir_ / "slow", "");  // 40 items at 50ms on 2 workers: a second to kill in

  Child retry(WithShoal({"retry", run.string()}), dir_, NextCapture());
  // The first retried record on disk, then the master dies at once.
  ASSERT_TRUE(WaitFor([&] { return LineCount(run / "results.jsonl") > recorded; }, seconds(60)));
  ASSERT_EQ(kill(retry.pid(), SIGKILL), 0);
  ProcessResult killed = retry.Wait(seconds(30));
  ASSERT_EQ(killed.status, 128 + SIGKILL) << Describe(killed);
  ASSERT_LT(LineCount(run / "results.jsonl"), 200u) << "the retry ended before it was killed";
  EXPECT_NE(RunJson(run).find("\"retrying\":true"), std::string::npos) << RunJson(run);

  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 200));
  EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":false"), std::string::npos);
  EXPECT_EQ(RunDirs(), std::set<fs::path>{run});
}

// The master SIGKILLed between each pair of the retry's steps (SHOAL_FAULT
// retry-step:K), then resume, then retry: 0 lost, 0 duplicated every time.
class RetryStep : public Retry, public ::testing::WithParamInterface<int> {};

TEST_P(RetryStep, KilledAtEveryStepLosesAndRepeatsNothing) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(40, &run));
  fs::remove(dir_ / "marker");
  const std::string fault = "retry-step:" + std::to_string(GetParam());
  ::setenv("SHOAL_FAULT", fault.c_str(), 1);
  ProcessResult r = Shoal({"retry", run.string()});
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  // Whatever the step, the failures are in exactly one place.
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::vector<Record> moved;
  if (fs::exists(run / "retries/1/errors.jsonl")) {
    ASSERT_TRUE(ReadRecords(run / "retries/1/errors.jsonl", "errors", &moved));
  }

  r = Shoal({"resume", run.string()});
  ASSERT_TRUE(r.status == 0 || r.status == 1) << Describe(r);
  // Before the commit (steps 1 and 2) the retry never happened: it runs now.
  r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllOkOnce(run, 40));
  EXPECT_FALSE(fs::exists(run / "retries/1.tmp"));
  EXPECT_FALSE(fs::exists(run / "retries/2"));
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "retries/1/failed.txt"))), Sorted(Failing(40)));
}

INSTANTIATE_TEST_SUITE_P(Steps, RetryStep, ::testing::Values(1, 2, 3, 4));

TEST_F(Retry, UnfinishedRunIsResumedFirst) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(10, &run));
  // As a killed master leaves it: run.json says it has not ended.
  std::string state = RunJson(run);
  size_t at = state.find("\"ended\":true");
  ASSERT_NE(at, std::string::npos);
  WriteFile(run / "run.json",
            std::regex_replace(state, std::regex("\"ended\":true.*\"exit_status\":[0-9]+"),
                               "\"ended\":false,\"ended_at\":null,\"exit_status\":null"));
  ProcessResult r = Shoal({"retry", run.string()});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("shoal resume"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run / "retries"));
}

// ---- output.tree ----

class OutputTree : public E2e {
 protected:
  void WriteTreeJob(const std::string& tree, const std::string& stdout_path) {
    WriteFile(dir_ / "items.txt", "a/f1\nb/f2\ntop\n");
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"tree\"\nworkers = 2\n\n[input]\npath = \"items.txt\"\n\n"
              "[output]\ntree = \"" +
                  tree +
                  "\"\n\n[command]\nargv = [\"printf\", \"%s\", \"{item}\"]\nstdout = \"file\"\n"
                  "stdout_path = \"" +
                  stdout_path + "\"\n");
  }
};

TEST_F(OutputTree, OutLandsInTheTreeOutsideTheRun) {
  const fs::path tree = dir_ / "mirror" / "converted";  // made by the run
  WriteTreeJob(tree.string(), "{out}/{name}.txt");
  ProcessResult checked = Shoal({"check", "settings.toml"});
  ASSERT_EQ(checked.status, 0) << Describe(checked);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(ReadFile(tree / "a/f1.txt"), "a/f1");
  EXPECT_EQ(ReadFile(tree / "b/f2.txt"), "b/f2");
  EXPECT_EQ(ReadFile(tree / "top.txt"), "top");
  EXPECT_FALSE(fs::exists(run / "out"));
  for (const Record& r : results) {
    ASSERT_TRUE(r.output_file.has_value());
    EXPECT_EQ(fs::path(*r.output_file).parent_path().string().rfind(tree.string(), 0), 0u)
        << *r.output_file;
  }
}

TEST_F(OutputTree, DotDotOutOfTheTreeIsRefusedBeforeAnythingRuns) {
  const fs::path tree = dir_ / "tree";
  fs::create_directories(tree);
  WriteTreeJob(tree.string(), "{out}/../{name}.txt");
  for (const char* verb : {"check", "run"}) {
    ProcessResult r = Shoal({verb, "settings.toml", "-o", runs_.string()});
    EXPECT_EQ(r.status, 2) << verb << ": " << Describe(r);
    EXPECT_NE(r.err.find("climbs out of output.tree"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(RunDirs().empty());
  // An absolute path inside the tree is its own form of {out}.
  WriteTreeJob(tree.string(), tree.string() + "/{rel}.txt");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  EXPECT_EQ(ReadFile(tree / "a/f1.txt"), "a/f1");
}

TEST_F(OutputTree, SymlinkInTheTreeIsNotFollowed) {
  const fs::path tree = dir_ / "tree";
  const fs::path elsewhere = dir_ / "elsewhere";
  fs::create_directories(tree);
  fs::create_directories(elsewhere);
  fs::create_directory_symlink(elsewhere, tree / "a");  // planted: a/f1 would go through it
  WriteTreeJob(tree.string(), "{out}/{name}.txt");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ASSERT_EQ(Items(errors), std::vector<std::string>{"a/f1"});
  EXPECT_NE(errors[0].reason.value_or("").find("symlink"), std::string::npos)
      << errors[0].reason.value_or("");
  EXPECT_TRUE(fs::is_empty(elsewhere)) << "wrote through the symlink";
  EXPECT_EQ(ReadFile(tree / "b/f2.txt"), "b/f2");
}

TEST_F(OutputTree, MissingAndUncreatableIsRefused) {
  WriteFile(dir_ / "file", "");
  WriteTreeJob((dir_ / "file" / "tree").string(), "{out}/{name}.txt");
  for (const char* verb : {"check", "run"}) {
    ProcessResult r = Shoal({verb, "settings.toml", "-o", runs_.string()});
    EXPECT_EQ(r.status, 2) << verb << ": " << Describe(r);
    EXPECT_NE(r.err.find("output.tree"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(RunDirs().empty());
}

TEST_F(OutputTree, UnwritableIsRefused) {
  const fs::path locked = dir_ / "locked";
  fs::create_directories(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  WriteTreeJob((locked / "tree").string(), "{out}/{name}.txt");
  std::vector<std::string> argv = WithShoal({"run", "settings.toml", "-o", runs_.string()});
  if (geteuid() == 0) {
    // Root writes anywhere: shoal runs as nobody, who owns the test's files
    // (so that only the mode of `locked` stands in its way).
    constexpr uid_t kNobody = 65534;
    for (const fs::path& p : {dir_, dir_ / "settings.toml", dir_ / "items.txt", locked}) {
      ASSERT_EQ(::chown(p.c_str(), kNobody, kNobody), 0) << p;
    }
    argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  ProcessResult r = Run(argv);
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;
  fs::permissions(locked, fs::perms::owner_all);
}

// ---- A killed worker's temporary stdout file ----

TEST_F(Retry, ResumeRemovesLeftoverTemporaries) {
  WriteFile(dir_ / "items.txt", "d/x\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"tmp\"\n\n[input]\npath = \"items.txt\"\n\n[command]\n"
            "argv = [\"printf\", \"%s\", \"{item}\"]\nstdout = \"file\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(ReadFile(run / "out/d/x.out"), "d/x");
  // What a worker SIGKILLed while its command wrote leaves behind.
  WriteFile(run / "out/d/.y.out.shoal-tmp-7", "half");
  WriteFile(run / "out/.z.out.shoal-tmp-12", "half");
  WriteFile(run / "out/d/.not.shoal-tmp-x", "a user's file");  // not shoal's form
  ProcessResult r = Shoal({"resume", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_FALSE(fs::exists(run / "out/d/.y.out.shoal-tmp-7"));
  EXPECT_FALSE(fs::exists(run / "out/.z.out.shoal-tmp-12"));
  EXPECT_TRUE(fs::exists(run / "out/d/.not.shoal-tmp-x"));
  EXPECT_EQ(ReadFile(run / "out/d/x.out"), "d/x");
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
