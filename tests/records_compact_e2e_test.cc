// Records for very large runs: output.compress = "zstd" (results.jsonl.zst,
// a zstd frame per flush) and output.records = "failures" (a success is its
// index and its item's hash). A master killed at a write point, or a write
// that fails half-way through a frame, must still resume to every item
// exactly once; retry, report and zstdcat must read what was written.

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class CompactRecords : public E2e {
 protected:
  // n items "1".."n", every 4th failing, each ~10 ms, so that a run makes
  // many flushes with records in all three record files.
  void WriteFailingJob(int n, const std::string& output) {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"compact\"\nworkers = 2\n[input]\npath = \"items.txt\"\n"
              "[command]\nargv = [\"sh\", \"-c\", \"sleep 0.01; [ $(($1 % 4)) -ne 0 ]\", \"sh\", "
              "\"{item}\"]\n[output]\n" +
                  output);
  }

  static std::vector<std::string> FailingItems(int n) {
    std::vector<std::string> v;
    for (int i = 4; i <= n; i += 4) v.push_back(std::to_string(i));
    return Sorted(v);
  }

  fs::path OnlyRun() {
    std::set<fs::path> dirs = RunDirs();
    EXPECT_EQ(dirs.size(), 1u);
    return dirs.empty() ? fs::path() : *dirs.begin();
  }

  ProcessResult RunWithEnv(const std::string& env) {
    std::vector<std::string> argv{"env", env};
    for (const std::string& a : WithShoal({"run", "settings.toml", "-o", runs_.string()})) {
      argv.push_back(a);
    }
    return Run(argv);
  }

  // The records of a compressed run, through the zstd program (what a user
  // reads them with): results.jsonl.zst decompressed beside it, then read
  // by check_records.py as a plain run's.
  ::testing::AssertionResult ReadCompressedRun(const fs::path& run, std::vector<Record>* results,
                                               std::vector<Record>* errors) {
    if (fs::exists(run / "results.jsonl")) {
      return ::testing::AssertionFailure() << "a plain results.jsonl beside the compressed one";
    }
    const fs::path plain = dir_ / "decompressed.jsonl";
    ProcessResult z =
        Run({"zstd", "-d", "-q", "-f", (run / "results.jsonl.zst").string(), "-o", plain.string()});
    if (z.status != 0) return ::testing::AssertionFailure() << "zstd -d: " << Describe(z);
    auto ok = ReadRecords(plain, "results", results);
    if (!ok) return ok;
    return ReadRecords(run / "errors.jsonl", "errors", errors);
  }

  void ExpectCompressedRunComplete(const fs::path& run, int n) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadCompressedRun(run, &results, &errors));
    ExpectEachItemOnce(results, errors, Numbers(n));
    EXPECT_EQ(Items(errors), FailingItems(n));
    EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), FailingItems(n));
  }

  // The indices of an output.records = "failures" results.jsonl, each line
  // checked by Python's json to be exactly {"index": N, "item_hash": 16 hex}.
  std::vector<std::string> MinimalIndices(const fs::path& file) {
    ProcessResult r = Run({"python3", "-c",
                           "import json, re, sys\n"
                           "for n, l in enumerate(open(sys.argv[1], 'rb'), 1):\n"
                           "    assert l.endswith(b'\\n'), n\n"
                           "    r = json.loads(l)\n"
                           "    assert sorted(r) == ['index', 'item_hash'], (n, r)\n"
                           "    assert re.fullmatch('[0-9a-f]{16}', r['item_hash']), n\n"
                           "    print(r['index'])\n",
                           file.string()});
    EXPECT_EQ(r.status, 0) << Describe(r);
    return Lines(r.out);
  }
};

TEST_F(CompactRecords, CompressedRunIsZstdFramesThatZstdcatReads) {
  constexpr int kItems = 120;
  WriteFailingJob(kItems, "compress = \"zstd\"\n");
  ProcessResult r = Shoal({"run", "settings.toml", "-o", runs_.string()});
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run = OnlyRun();
  ExpectCompressedRunComplete(run, kItems);
  // The summary counts what the compressed file holds.
  EXPECT_NE(r.err.find("90 ok, 30 failed"), std::string::npos) << r.err;
}

// The master SIGKILLed right after a flush of results, of errors or of
// failed.txt (hits 1..9): resume reads the frames, runs the rest, and
// appends frames after them.
TEST_F(CompactRecords, CompressedRunKilledAtWritePointsResumesEveryItemOnce) {
  constexpr int kItems = 300;
  for (int n : {1, 2, 3, 5, 9}) {
    SCOPED_TRACE("master-between-files:" + std::to_string(n));
    fs::remove_all(runs_);
    WriteFailingJob(kItems, "compress = \"zstd\"\n");
    ProcessResult r = RunWithEnv("SHOAL_FAULT=master-between-files:" + std::to_string(n));
    ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
    fs::path run = OnlyRun();
    ProcessResult resumed = Shoal({"resume", run.string()});
    ASSERT_EQ(resumed.status, 1) << Describe(resumed);
    ExpectCompressedRunComplete(run, kItems);
    if (HasFailure()) break;
  }
}

// The N-th flush of a record file (1: the first, results' first frame; 4: a
// later one, of results, errors or failed.txt as the run's timing orders
// them) writes half of it, then fails: the run stops with a torn frame or
// line on disk, which resume cuts off whole, so none of its items is lost
// or doubled.
TEST_F(CompactRecords, ATornFrameIsCutAndItsItemsRunAgain) {
  constexpr int kItems = 300;
  bool tore_a_frame = false;
  for (int n : {1, 4}) {
    SCOPED_TRACE("record-write-fail:" + std::to_string(n));
    fs::remove_all(runs_);
    WriteFailingJob(kItems, "compress = \"zstd\"\n");
    ProcessResult r = RunWithEnv("SHOAL_FAULT=record-write-fail:" + std::to_string(n));
    ASSERT_EQ(r.status, 3) << Describe(r);
    fs::path run = OnlyRun();
    // Torn: the zstd program itself refuses the results, or a plain file
    // ends inside a line.
    const bool torn_frame =
        Run({"zstd", "-t", "-q", (run / "results.jsonl.zst").string()}).status != 0;
    auto torn_line = [&](const char* name) {
      const std::string text = ReadFile(run / name);
      return !text.empty() && text.back() != '\n';
    };
    ASSERT_TRUE(torn_frame || torn_line("errors.jsonl") || torn_line("failed.txt"));
    tore_a_frame |= torn_frame;
    ProcessResult resumed = Shoal({"resume", run.string()});
    ASSERT_EQ(resumed.status, 1) << Describe(resumed);
    ExpectCompressedRunComplete(run, kItems);
    if (HasFailure()) break;
  }
  EXPECT_TRUE(tore_a_frame) << "no run tore a frame of results.jsonl.zst";
}

TEST_F(CompactRecords, RetryAndReportReadACompressedRun) {
  constexpr int kItems = 80;
  WriteFailingJob(kItems, "compress = \"zstd\"\n");
  ASSERT_EQ(Shoal({"run", "settings.toml", "-o", runs_.string()}).status, 1);
  fs::path run = OnlyRun();
  ProcessResult retried = Shoal({"retry", run.string()});
  ASSERT_EQ(retried.status, 1) << Describe(retried);
  ExpectCompressedRunComplete(run, kItems);
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "retries/1/failed.txt"))), FailingItems(kItems));
  // Counts and the throughput chart come from the compressed records.
  ProcessResult check =
      CheckReportData(run,
                      "assert (d['ok'], d['failed']) == (60, 20), (d['ok'], d['failed'])\n"
                      "assert sum(d['throughput']['ok']) == 60, d['throughput']\n");
  EXPECT_EQ(check.status, 0) << Describe(check);
}

// The shards of a compressed job merge into one compressed run.
TEST_F(CompactRecords, MergeOfCompressedShardsIsCompressed) {
  constexpr int kItems = 100;
  WriteFailingJob(kItems, "compress = \"zstd\"\n");
  std::vector<std::string> merge{"merge"};
  for (const char* shard : {"0/2", "1/2"}) {
    std::set<fs::path> before = RunDirs();
    ProcessResult r = Shoal({"run", "settings.toml", "-o", runs_.string(), "--shard", shard});
    ASSERT_EQ(r.status, 1) << Describe(r);
    fs::path run;
    ASSERT_TRUE(NewRunDir(before, &run));
    merge.push_back(run.string());
  }
  const fs::path merged = dir_ / "merged";
  merge.insert(merge.end(), {"-o", merged.string()});
  ProcessResult r = Shoal(merge);
  ASSERT_EQ(r.status, 1) << Describe(r);  // it has failures
  EXPECT_NE(r.err.find("75 ok, 25 failed"), std::string::npos) << r.err;
  ExpectCompressedRunComplete(merged, kItems);
}

TEST_F(CompactRecords, ResumeRefusesToChangeHowRecordsAreWritten) {
  WriteFailingJob(40, "compress = \"zstd\"\n");
  ASSERT_EQ(RunWithEnv("SHOAL_FAULT=master-between-files:1").status, 128 + SIGKILL);
  fs::path run = OnlyRun();
  ProcessResult resumed = Shoal({"resume", run.string(), "--set", "output.compress=none"});
  EXPECT_NE(resumed.status, 0);
  EXPECT_NE(resumed.err.find("output.compress cannot change"), std::string::npos)
      << Describe(resumed);
  EXPECT_FALSE(fs::exists(run / "results.jsonl"));
}

// output.records = "failures": successes shrink to their index and hash,
// failures keep their full records; resume after a kill and retry still
// give every item exactly once.
TEST_F(CompactRecords, FailuresOnlyRunResumesAndRetries) {
  constexpr int kItems = 300;
  WriteFailingJob(kItems, "records = \"failures\"\n");
  ProcessResult r = RunWithEnv("SHOAL_FAULT=master-between-files:4");
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  fs::path run = OnlyRun();
  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 1) << Describe(resumed);
  std::vector<Record> errors;
  ASSERT_TRUE(ReadRecords(run / "errors.jsonl", "errors", &errors));
  EXPECT_EQ(Items(errors), FailingItems(kItems));
  for (const Record& e : errors) EXPECT_EQ(e.reason, "exit 1");
  std::vector<std::string> done = MinimalIndices(run / "results.jsonl");
  for (const Record& e : errors) done.push_back(std::to_string(e.index));
  EXPECT_EQ(Sorted(done), Sorted(Numbers(kItems)));  // each index once

  ProcessResult retried = Shoal({"retry", run.string()});
  ASSERT_EQ(retried.status, 1) << Describe(retried);
  ASSERT_TRUE(ReadRecords(run / "errors.jsonl", "errors", &errors));
  EXPECT_EQ(Items(errors), FailingItems(kItems));
  done = MinimalIndices(run / "results.jsonl");
  for (const Record& e : errors) done.push_back(std::to_string(e.index));
  EXPECT_EQ(Sorted(done), Sorted(Numbers(kItems)));

  // The report counts the successes, though it has no times for them.
  ProcessResult check =
      CheckReportData(run, "assert (d['ok'], d['failed']) == (225, 75), (d['ok'], d['failed'])\n");
  EXPECT_EQ(check.status, 0) << Describe(check);
}

// Resume's check that the input is unchanged still covers the items that
// succeeded: their records keep the hash of their text.
TEST_F(CompactRecords, FailuresOnlyResumeStillNoticesAChangedInput) {
  WriteFailingJob(200, "records = \"failures\"\n");
  ASSERT_EQ(RunWithEnv("SHOAL_FAULT=master-between-files:4").status, 128 + SIGKILL);
  fs::path run = OnlyRun();
  ASSERT_FALSE(MinimalIndices(run / "results.jsonl").empty());
  std::string changed = ReadFile(dir_ / "items.txt");
  changed.replace(0, 2, "x\n");  // item 1 ("1") always succeeds and is recorded first
  WriteFile(dir_ / "items.txt", changed);
  ProcessResult resumed = Shoal({"resume", run.string()});
  EXPECT_NE(resumed.status, 0);
  EXPECT_NE(resumed.err.find("the input changed since"), std::string::npos) << Describe(resumed);
}

TEST_F(CompactRecords, FailuresOnlyWithTsvFailsBeforeAnythingRuns) {
  WriteFailingJob(10, "records = \"failures\"\nformat = \"tsv\"\n");
  ProcessResult r = Shoal({"run", "settings.toml", "-o", runs_.string()});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("settings.toml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("set format = \"jsonl\""), std::string::npos) << r.err;
  EXPECT_TRUE(RunDirs().empty());
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
