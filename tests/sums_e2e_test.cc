// The sha256 handler with output.format = "tsv" (issues 16 and 17):
// results.tsv stays sha256sum's own format, and times.tsv beside it holds
// each line's index, item and durations. So such a run is resumed and
// retried in place like any other (locally, killed and resumed, on Slurm
// shards joined back, the join killed and run again): results.tsv then
// holds each file once and passes `sha256sum -c`. `shoal report` draws its
// durations from times.tsv. And resume refuses to run the items of a Slurm
// retry that is not joined yet.
#include <gtest/gtest.h>

#include <map>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// data/f1..fN listed by absolute path; those ending in 3 or 7 are missing
// in the first run (they fail), written before the retry.
class Sums : public E2e {
 protected:
  fs::path File(int i) const { return dir_ / "data" / ("f" + std::to_string(i)); }
  static bool Missing(int i) { return i % 10 == 3 || i % 10 == 7; }

  void WriteJob(int n) {
    std::string list;
    for (int i = 1; i <= n; ++i) {
      list += File(i).string() + "\n";
      if (!Missing(i)) WriteFile(File(i), std::string(static_cast<size_t>(i) * 10, 'a'));
    }
    WriteFile(dir_ / "list.txt", list);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"sums\"\nhandler = \"sha256\"\nworkers = 2\n\n"
              "[input]\npath = \"list.txt\"\n\n[output]\nformat = \"tsv\"\n");
  }

  void WriteMissing(int n) {
    for (int i = 1; i <= n; ++i) {
      if (Missing(i)) WriteFile(File(i), "written later " + std::to_string(i));
    }
  }

  // A finished first run with the missing files failed; its directory.
  void FirstRun(int n, fs::path* run) {
    WriteJob(n);
    ProcessResult r = RunJob();
    ASSERT_EQ(r.status, 1) << Describe(r);
    ASSERT_TRUE(NewRunDir({}, run));
    size_t missing = 0;
    for (int i = 1; i <= n; ++i) missing += Missing(i) ? 1 : 0;
    ASSERT_EQ(Lines(ReadFile(*run / "failed.txt")).size(), missing);
    ASSERT_EQ(Lines(ReadFile(*run / "results.tsv")).size(), n - missing);
  }

  // results.tsv holds each of the n files once, times.tsv the same items at
  // the same lines with their own indices, nothing failed, and sha256sum -c
  // (run from the test's directory; the paths are absolute) agrees.
  void ExpectAllSummedOnce(const fs::path& run, int n) {
    const std::vector<std::string> sums = Lines(ReadFile(run / "results.tsv"));
    std::vector<std::string> times = Lines(ReadFile(run / "times.tsv"));
    ASSERT_FALSE(times.empty());
    EXPECT_EQ(times.front(), "index\titem\tms\tstart_ms");
    times.erase(times.begin());
    ASSERT_EQ(sums.size(), static_cast<size_t>(n));
    ASSERT_EQ(times.size(), sums.size());
    std::map<std::string, int> paths;
    std::set<uint64_t> indices;
    for (size_t k = 0; k < sums.size(); ++k) {
      const std::string path = sums[k].substr(sums[k].find("  ") + 2);
      ++paths[path];
      const std::vector<std::string> cols = Columns(times[k]);
      ASSERT_EQ(cols.size(), 4u) << times[k];
      EXPECT_EQ(cols[1], path) << "line " << k + 1 << " of times.tsv is not results.tsv's";
      EXPECT_EQ(cols[0], std::to_string(std::stoi(path.substr(File(0).string().size() - 1))))
          << "the index of " << path;
      indices.insert(std::stoull(cols[0]));
      EXPECT_GE(std::stod(cols[2]), 0) << times[k];
      EXPECT_GT(std::stoll(cols[3]), 0) << times[k];
    }
    for (int i = 1; i <= n; ++i) EXPECT_EQ(paths[File(i).string()], 1) << File(i);
    EXPECT_EQ(indices.size(), static_cast<size_t>(n));
    EXPECT_EQ(ReadFile(run / "errors.jsonl"), "");
    EXPECT_EQ(ReadFile(run / "failed.txt"), "");
    ProcessResult check = Run({"sha256sum", "--strict", "-c", (run / "results.tsv").string()});
    EXPECT_EQ(check.status, 0) << Describe(check);
    EXPECT_EQ(Count(check.out, ": OK\n"), static_cast<size_t>(n)) << check.out;
  }

  static std::vector<std::string> Columns(const std::string& line) {
    std::vector<std::string> cols;
    size_t at = 0;
    for (size_t tab; (tab = line.find('\t', at)) != std::string::npos; at = tab + 1) {
      cols.push_back(line.substr(at, tab - at));
    }
    cols.push_back(line.substr(at));
    return cols;
  }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  std::string RunJson(const fs::path& run) { return ReadFile(run / "run.json"); }

  // retry --shards 2 begun, its job directory.
  void BeginShards(const fs::path& run, fs::path* job) {
    ProcessResult r = Shoal({"retry", run.string(), "--shards", "2"});
    ASSERT_EQ(r.status, 0) << Describe(r);
    for (const auto& e : fs::directory_iterator(run / "retries/1")) {
      if (e.path().filename().string().ends_with("-slurm")) *job = e.path();
    }
    ASSERT_FALSE(job->empty()) << "the job directory goes into retries/1";
  }

  // What each array task runs, by hand; the shards' run directories.
  void RunShards(const fs::path& run, const fs::path& job, std::vector<fs::path>* shards) {
    for (const char* shard : {"0/2", "1/2"}) {
      ProcessResult r = Shoal({"retry", run.string(), "--shard", shard, "-q"});
      ASSERT_EQ(r.status, 0) << Describe(r);
    }
    for (const auto& e : fs::directory_iterator(job / "shards")) shards->push_back(e.path());
    std::sort(shards->begin(), shards->end());
    ASSERT_EQ(shards->size(), 2u);
  }

  // A first run of n with failures, the missing files written, and its
  // retry --shards 2 run task by task: the shards are ready to join.
  void ShardedRetryReady(int n, fs::path* run, std::vector<fs::path>* shards) {
    fs::path job;
    ASSERT_NO_FATAL_FAILURE(FirstRun(n, run));
    WriteMissing(n);
    ASSERT_NO_FATAL_FAILURE(BeginShards(*run, &job));
    ASSERT_NO_FATAL_FAILURE(RunShards(*run, job, shards));
  }

  ProcessResult Join(const std::vector<fs::path>& shards, const fs::path& run) {
    return Shoal({"merge", shards[0].string(), shards[1].string(), "-o", run.string()});
  }
};

TEST_F(Sums, RetryCompletesTheRunInPlace) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(60, &run));
  WriteMissing(60);
  ProcessResult r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.err.find("new run directory"), std::string::npos) << r.err;
  EXPECT_EQ(RunDirs(), std::set<fs::path>{run}) << "retry made another run directory";
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  EXPECT_NE(RunJson(run).find("\"ok\":60,\"failed\":0"), std::string::npos) << RunJson(run);
  EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":false"), std::string::npos);
}

// The retry's master SIGKILLed after it flushed results.tsv but not yet
// times.tsv (hit 1 of master-between-files), and after times.tsv but not
// errors.jsonl (hit 2): resume cuts the longer file back to its twin's
// length and runs those items again; each file ends in results.tsv once.
class SumsRetryKilled : public Sums, public ::testing::WithParamInterface<int> {};

TEST_P(SumsRetryKilled, ResumeFinishesIt) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(60, &run));
  WriteMissing(60);
  const std::string fault = "master-between-files:" + std::to_string(GetParam());
  ::setenv("SHOAL_FAULT", fault.c_str(), 1);
  ProcessResult r = Shoal({"retry", run.string()});
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  EXPECT_NE(RunJson(run).find("\"retrying\":true"), std::string::npos) << RunJson(run);
  const size_t sums = Lines(ReadFile(run / "results.tsv")).size();
  const size_t times = Lines(ReadFile(run / "times.tsv")).size() - 1;
  if (GetParam() == 1) {
    EXPECT_GT(sums, times) << "killed before times.tsv was written";
  }

  r = Shoal({"resume", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":false"), std::string::npos);
  EXPECT_EQ(RunDirs(), std::set<fs::path>{run});
}

INSTANTIATE_TEST_SUITE_P(Hits, SumsRetryKilled, ::testing::Values(1, 2));

// A disk that fills up half-way through the flush of results.tsv (hit 1 of
// record-write-fail) or of times.tsv (hit 2): the run stops with exit 3,
// leaving a torn last line (unless half the buffer ended at a line's end)
// and the two files uneven, which resume cuts before it goes on.
class SumsWriteFails : public Sums, public ::testing::WithParamInterface<int> {};

TEST_P(SumsWriteFails, ResumeCutsTheTornLine) {
  WriteJob(60);
  WriteMissing(60);
  const std::string fault = "record-write-fail:" + std::to_string(GetParam());
  ::setenv("SHOAL_FAULT", fault.c_str(), 1);
  ProcessResult r = RunJob();
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 3) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  r = Shoal({"resume", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
}

INSTANTIATE_TEST_SUITE_P(Hits, SumsWriteFails, ::testing::Values(1, 2));

// A first run killed the same way is resumed too (it used to be refused).
TEST_F(Sums, KilledRunIsResumed) {
  WriteJob(60);
  WriteMissing(60);
  ::setenv("SHOAL_FAULT", "master-between-files:1", 1);
  ProcessResult r = RunJob();
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  r = Shoal({"resume", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
}

TEST_F(Sums, SlurmRetryJoinsTheRunInPlace) {
  fs::path run;
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(ShardedRetryReady(60, &run, &shards));
  ProcessResult r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  EXPECT_NE(RunJson(run).find("\"retries\":1,\"retrying\":false"), std::string::npos);
  // Joined again: nothing changes.
  const std::string sums = ReadFile(run / "results.tsv");
  r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(ReadFile(run / "results.tsv"), sums);
}

// The join SIGKILLed between each pair of its steps, then run again.
class SumsJoinKilled : public Sums, public ::testing::WithParamInterface<int> {};

TEST_P(SumsJoinKilled, RunAgainCompletesIt) {
  fs::path run;
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(ShardedRetryReady(60, &run, &shards));
  const std::string fault = "merge-join:" + std::to_string(GetParam());
  ::setenv("SHOAL_FAULT", fault.c_str(), 1);
  ProcessResult r = Join(shards, run);
  ::unsetenv("SHOAL_FAULT");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  EXPECT_NE(RunJson(run).find("\"ok\":60,\"failed\":0"), std::string::npos) << RunJson(run);
}

INSTANTIATE_TEST_SUITE_P(Steps, SumsJoinKilled, ::testing::Values(1, 2, 3));

// A join cut short after results.tsv but before times.tsv reached the disk
// (as a crash between the two would leave it): the join run again cuts
// results.tsv back to its twin's length and appends each line once.
TEST_F(Sums, JoinAfterATornPairAppendsEachLineOnce) {
  fs::path run;
  std::vector<fs::path> shards;
  ASSERT_NO_FATAL_FAILURE(ShardedRetryReady(60, &run, &shards));
  const std::string times = ReadFile(run / "times.tsv");
  ASSERT_EQ(Join(shards, run).status, 0);
  // Undo the join's times.tsv lines and run.json's end, keeping its results.tsv lines.
  WriteFile(run / "times.tsv", times);
  std::string state = RunJson(run);
  const size_t at = state.find("\"retrying\":false");
  ASSERT_NE(at, std::string::npos) << state;
  state.replace(at, 16, "\"retrying\":true");
  WriteFile(run / "run.json", state);
  EXPECT_GT(Lines(ReadFile(run / "results.tsv")).size(), Lines(times).size() - 1);

  ProcessResult r = Join(shards, run);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
}

// output.order = "input" holds the records back until their turn: each
// times.tsv line still goes with its results.tsv line, in input order.
TEST_F(Sums, InputOrderKeepsTheTwins) {
  WriteJob(60);
  WriteMissing(60);
  ProcessResult r = RunJob({"--keep-order"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  const std::vector<std::string> times = Lines(ReadFile(run / "times.tsv"));
  for (size_t k = 1; k < times.size(); ++k) EXPECT_EQ(Columns(times[k])[0], std::to_string(k));
}

// Two shards of such a run merged into a new run: results.tsv and times.tsv
// stay twins, line for line.
TEST_F(Sums, MergedShardsKeepTheirTimes) {
  WriteJob(60);
  WriteMissing(60);
  std::vector<fs::path> shards;
  for (const char* shard : {"0/2", "1/2"}) {
    const std::set<fs::path> before = RunDirs();
    ProcessResult r = RunJob({"--shard", shard});
    ASSERT_EQ(r.status, 0) << Describe(r);
    ASSERT_TRUE(NewRunDir(before, &shards.emplace_back()));
  }
  const fs::path merged = dir_ / "merged";
  ProcessResult r = Join(shards, merged);
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(merged, 60));
  // And the merged run is retried in place like any other.
  r = Shoal({"retry", merged.string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.err.find("nothing to retry"), std::string::npos) << r.err;
}

// Issue 17: while the Slurm retry's job directory is in retries/1 and the
// retry is not joined, resume (and retry) refuse: its shards may be running
// those items. --force runs the rest here, once the job is cancelled.
TEST_F(Sums, ResumeRefusesWhileASlurmRetryIsNotJoined) {
  fs::path run, job;
  ASSERT_NO_FATAL_FAILURE(FirstRun(60, &run));
  WriteMissing(60);
  ASSERT_NO_FATAL_FAILURE(BeginShards(run, &job));
  const std::string sums = ReadFile(run / "results.tsv");
  for (const char* verb : {"resume", "retry"}) {
    ProcessResult r = Shoal({verb, run.string()});
    EXPECT_EQ(r.status, 2) << verb << ": " << Describe(r);
    EXPECT_NE(r.err.find(job.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("scancel"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  }
  EXPECT_EQ(ReadFile(run / "results.tsv"), sums) << "a refused resume ran items";

  ProcessResult r = Shoal({"resume", run.string(), "--force"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSummedOnce(run, 60));
  // Once it ended, resume has nothing to refuse.
  r = Shoal({"resume", run.string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
}

// Issue 16: the report of such a run has its durations, from times.tsv.
TEST_F(Sums, ReportDrawsTheDurationsOfTimesTsv) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(FirstRun(60, &run));
  ProcessResult r = CheckReportData(
      run,
      "assert (d['items'], d['ok'], d['failed']) == (60, 48, 12), d\n"
      "du = d['durations']\n"
      "assert sum(b['count'] for b in du['buckets']) + du['no_duration'] == 60, du\n"
      "assert du['no_duration'] <= 12, du\n"
      "assert len(d['slowest']) == 20, d['slowest']\n"
      "assert all(s['item'].startswith(sys.argv[2]) for s in d['slowest']), d['slowest']\n"
      "assert sum(d['throughput']['ok']) == 48, d['throughput']\n"
      "print('ok')\n",
      {(dir_ / "data").string()});
  EXPECT_EQ(r.out, "ok\n") << Describe(r);
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
