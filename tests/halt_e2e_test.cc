// Halting and pacing (issue 13, item 5), as GNU parallel users know them:
// --halt now|soon,fail|success|done=N|N%, --delay, -j N% / +N / -N,
// --memfree and --load. The decisions themselves (what halts when, the
// spacing of starts, the host limits' timer) are unit-tested with a fake
// clock in master/scheduler_test.cc; these run the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// Items 1..n run `script` by sh with $1 the item and $2 the test's directory.
class Halt : public E2e {
 protected:
  void WriteJob(int n, const std::string& script, const std::string& job_extra = "") {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
    WriteFile(dir_ / "settings.toml", "[job]\nname = \"halt\"\nworkers = 2\n" + job_extra +
                                          "\n[input]\npath = \"items.txt\"\n\n[command]\n"
                                          "argv = [\"sh\", \"-c\", '" +
                                          script + "', \"sh\", \"{item}\", \"" + dir_.string() +
                                          "\"]\n");
  }

  static int Cores() {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
  }

  // The workers run.json says the run had.
  int RunWorkers(const std::vector<std::string>& j) {
    WriteJob(1, "true");
    std::vector<std::string> extra{"-j"};
    extra.insert(extra.end(), j.begin(), j.end());
    const std::set<fs::path> before = RunDirs();
    ProcessResult r = RunJob(extra);
    EXPECT_EQ(r.status, 0) << Describe(r);
    fs::path run;
    if (!NewRunDir(before, &run)) return -1;
    const std::string json = ReadFile(run / "run.json");
    const size_t at = json.find("\"workers\":");
    if (at == std::string::npos) return -1;
    return std::atoi(json.c_str() + at + 10);
  }
};

// Item 1 fails once item 2 is running; item 2 (and every other) waits for
// the file "go". halt now kills item 2: it has no record, and resume runs it.
TEST_F(Halt, NowKillsTheRunningItemsAndResumeFinishesTheRun) {
  WriteJob(10,
           "case $1 in 1) while [ ! -e \"$2/started2\" ]; do sleep 0.01; done; exit 3;; "
           "2) : > \"$2/started2\";; esac; "
           "while [ ! -e \"$2/go\" ]; do sleep 0.01; done",
           "halt = \"now,fail=1\"");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {}, seconds(60)));
  EXPECT_TRUE(results.empty());
  ASSERT_EQ(Items(errors), std::vector<std::string>{"1"});
  EXPECT_EQ(errors[0].reason, "exit 3");
  const std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("halting now: 1 failure reached job.halt = now,fail=1; killing 1 running"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("died"), std::string::npos) << "a worker the halt killed is no death\n" << log;
  const std::string json = ReadFile(run / "run.json");
  EXPECT_NE(json.find("\"exit_status\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"halted\":\"1 failure reached job.halt = now,fail=1\""), std::string::npos)
      << json;

  WriteFile(dir_ / "go", "");
  ProcessResult resumed = Shoal({"resume", run.string()}, seconds(60));
  EXPECT_EQ(resumed.status, 1) << Describe(resumed);  // item 1 failed, in the first run
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(10));
  EXPECT_EQ(Items(errors), std::vector<std::string>{"1"});
  EXPECT_EQ(results.size(), 9u);
  EXPECT_EQ(ReadFile(run / "run.json").find("halted"), std::string::npos);  // it finished
}

TEST_F(Halt, SoonOnAShareOfFailuresStopsStartingAndLetsTheRunningFinish) {
  // Every fourth item fails: 25 % of any 20 in a row, more than 20 %.
  // Far more items than are judged: the master learns of finished items in
  // rounds, and each worker may hold 20 ms of queued work (SchedulerLimits),
  // so with 40 items of ~2 ms all could finish before the first judgement.
  WriteJob(200, "[ $(($1 % 4)) -ne 0 ] || exit 5");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(
      RunAndRead(1, &run, &results, &errors, {"--halt", "soon,fail=20%"}, seconds(60)));
  const size_t recorded = results.size() + errors.size();
  EXPECT_GE(recorded, 20u);  // judged from 20 finished items on
  EXPECT_LT(recorded, 200u);
  for (const Record& r : errors) EXPECT_EQ(std::stoi(r.item) % 4, 0) << r.item;
  const std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("finished items failed"), std::string::npos) << log;
  EXPECT_NE(log.find("job.halt = soon,fail=20%"), std::string::npos) << log;
}

TEST_F(Halt, NowOnTheFirstSuccessExitsZeroAndSaysWhy) {
  // Item 1 succeeds at once; the others would wait for ever.
  WriteJob(5, "[ $1 = 1 ] || while :; do sleep 0.05; done");
  fs::path run;
  std::vector<Record> results, errors;
  ProcessResult r = RunJob({"--halt", "now,success=1"}, seconds(60));
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_EQ(Items(results), std::vector<std::string>{"1"});
  EXPECT_TRUE(errors.empty());
  EXPECT_NE(r.err.find("halted: 1 success reached job.halt = now,success=1"), std::string::npos)
      << r.err;
}

TEST_F(Halt, SoonOnDoneStopsAfterThatManyFinished) {
  WriteJob(30, "[ $1 != 2 ]");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(
      RunAndRead(1, &run, &results, &errors, {"-j", "1", "--halt", "soon,done=3"}, seconds(60)));
  EXPECT_GE(results.size() + errors.size(), 3u);
  EXPECT_LT(results.size() + errors.size(), 30u);
  EXPECT_NE(ReadFile(run / "log.txt").find("3 finished items reached job.halt = soon,done=3"),
            std::string::npos);
}

TEST_F(Halt, MaxFailuresStillHaltsSoon) {
  WriteJob(30, "[ $1 != 1 ]", "max_failures = 1");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {"-j", "1"}, seconds(60)));
  EXPECT_LT(results.size() + errors.size(), 30u);
  EXPECT_NE(ReadFile(run / "log.txt").find("1 failure reached job.max_failures = 1"),
            std::string::npos);
}

TEST_F(Halt, WorkersRelativeToTheOnlineCores) {
  const int cores = Cores();
  EXPECT_EQ(RunWorkers({"50%"}), std::max(1, cores / 2));
  EXPECT_EQ(RunWorkers({"+1"}), cores + 1);
  EXPECT_EQ(RunWorkers({"-1"}), std::max(1, cores - 1));
  EXPECT_EQ(RunWorkers({"3"}), 3);
}

TEST_F(Halt, NonsenseIsRefusedBeforeAnythingRuns) {
  WriteJob(3, "true");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"-j", "50x"}, "job.workers \"50x\" is not a number of workers"},
      {{"-j", "-x"}, ""},
      {{"--halt", "sometimes"}, "job.halt \"sometimes\""},
      {{"--halt", "now,fail=0"}, "needs a count of 1 or more"},
      {{"--memfree", "lots"}, "job.memfree \"lots\" is not a size"},
      {{"--load", "high"}, "job.load \"high\" is not a load average"},
      {{"--delay", "soon"}, "--delay soon"},
      {{"--set", "job.max_failures=2", "--halt", "soon,fail=2"}, "both set"},
  };
  for (const Case& c : cases) {
    ProcessResult r = RunJob(c.args);
    EXPECT_EQ(r.status, 2) << Describe(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_TRUE(RunDirs().empty());
}

TEST_F(Halt, DelayReachesTheScheduler) {
  // The spacing itself is the scheduler's, tested with the fake clock
  // (SchedulerTest); here --delay reaches it and every item still runs.
  WriteJob(5, "true");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors, {"-j", "4", "--delay", "150ms"}));
  EXPECT_EQ(results.size(), 5u);
  EXPECT_NE(ReadFile(run / "log.txt").find("job.delay = 150ms: at least 150ms between two starts"),
            std::string::npos);
}

TEST_F(Halt, ADryRunShowsEveryItemWithoutHaltingOrWaiting) {
  WriteJob(3, "true");
  ProcessResult r = RunJob({"--dry-run", "--halt", "now,success=1", "--delay", "1h"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(Lines(r.out).size(), 3u) << r.out;
}

TEST_F(Halt, HostLimitsThatHoldNothingBackLetTheRunThrough) {
  WriteJob(4, "true");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(
      RunAndRead(0, &run, &results, &errors, {"--memfree", "1K", "--load", "100000"}));
  EXPECT_EQ(results.size(), 4u);
  EXPECT_NE(ReadFile(run / "log.txt")
                .find("no item starts while free memory is below job.memfree = 1K or the load "
                      "average is at or above job.load = 100000"),
            std::string::npos);
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
