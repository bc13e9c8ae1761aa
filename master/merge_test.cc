#include "master/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/test_util.h"
#include "config/load.h"
#include "master/run_state.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

using test::ReadFile;
using test::WriteFile;

std::string Ok(uint64_t index, const std::string& item) {
  return "{\"index\":" + std::to_string(index) + ",\"item\":\"" + item +
         "\",\"status\":\"ok\",\"attempts\":1,\"worker\":1,\"ms\":0.100,\"output\":\"h" +
         std::to_string(index) + "\"}\n";
}

std::string Failed(uint64_t index, const std::string& item) {
  return "{\"index\":" + std::to_string(index) + ",\"item\":\"" + item +
         "\",\"status\":\"failed\",\"reason\":\"not found\",\"attempts\":1,\"worker\":1,"
         "\"ms\":0.100,\"stderr\":\"\"}\n";
}

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-merge-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    base_.job.name = "sums";
    base_.job.handler = HandlerKind::kSha256;
    base_.job.workers = 2;
    base_.input.path = "/data";
    base_.input.kind = InputKind::kTree;
    base_.output.dir = (root_ / "runs").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  struct ShardRun {
    std::string shard;  // "K/N"
    std::string results;
    std::string errors;
    std::string failed;
    std::optional<int> exit_status = 0;  // none: the run has not ended
  };

  // A shard's run directory as shoal run leaves it.
  std::string MakeShard(const ShardRun& run, Settings settings, const std::string& suffix = "") {
    settings.input.shard = run.shard;
    std::string name = run.shard;
    std::replace(name.begin(), name.end(), '/', '-');
    const fs::path dir = root_ / "runs" / ("sums-20261122-031500-shard-" + name + suffix);
    WriteFile(dir / "settings.toml", SettingsToToml(settings));
    WriteFile(dir / "results.jsonl", run.results);
    WriteFile(dir / "errors.jsonl", run.errors);
    WriteFile(dir / "failed.txt", run.failed);
    const size_t ok = std::count(run.results.begin(), run.results.end(), '\n');
    const size_t failed = std::count(run.errors.begin(), run.errors.end(), '\n');
    const std::string end =
        run.exit_status ? "run ended, exit status " + std::to_string(*run.exit_status) : "";
    WriteFile(dir / "log.txt", "2026-11-22T03:15:00.000Z shard " + run.shard +
                                   ": ...\n2026-11-22T03:15:00.001Z run started: 2 workers\n"
                                   "2026-11-22T03:15:01.000Z summary: " +
                                   std::to_string(ok) + " ok, " + std::to_string(failed) +
                                   " failed\n2026-11-22T03:15:01.000Z summary: wall 1s\n" +
                                   (end.empty() ? "" : "2026-11-22T03:15:01.001Z " + end + "\n"));
    RunState state = RunState::Start(SettingsToToml(settings), 2, 0, 0);
    if (run.exit_status) state.End(*run.exit_status, ok, failed);
    EXPECT_TRUE(WriteRunState(dir.string(), state).ok());
    return dir.string();
  }
  std::string MakeShard(const ShardRun& run) { return MakeShard(run, base_); }

  // Three shards, the items 1..6, item 5 failed.
  std::vector<std::string> ThreeShards() {
    return {MakeShard({"0/3", Ok(1, "a") + Ok(4, "d"), "", ""}),
            MakeShard({"1/3", Ok(2, "b"), Failed(5, "e"), "e\n"}),
            MakeShard({"2/3", Ok(3, "c") + Ok(6, "f"), "", ""})};
  }

  std::string Out() const { return (root_ / "merged").string(); }

  std::string MergeError(const std::vector<std::string>& dirs) {
    Result<MergeReport> r = MergeShards(dirs, Out());
    EXPECT_FALSE(r.ok()) << "merged";
    EXPECT_FALSE(fs::exists(root_ / "merged" / "results.jsonl")) << "wrote despite the error";
    return r.ok() ? "" : r.status().message();
  }

  fs::path root_;
  Settings base_;
};

// Records name files in their run directory (output_file: out/..., spill/...;
// item logs in logs/): the merged run has them at the same paths.
TEST_F(MergeTest, FilesTheRecordsNameAreLinkedIn) {
  std::vector<std::string> dirs = ThreeShards();
  WriteFile(fs::path(dirs[0]) / "out" / "d1" / "a.out", "output of a");
  WriteFile(fs::path(dirs[1]) / "out" / "d2" / "b.out", "output of b");
  WriteFile(fs::path(dirs[1]) / "spill" / "2.stdout", "spilled stdout of item 2");
  WriteFile(fs::path(dirs[2]) / "logs" / "3.log", "item log of 3");
  fs::create_symlink("a.out", fs::path(dirs[0]) / "out" / "d1" / "link");
  // The same path in two shards: the first shard's is kept, the other reported.
  WriteFile(fs::path(dirs[0]) / "out" / "summary.txt", "shard 0");
  WriteFile(fs::path(dirs[2]) / "out" / "summary.txt", "shard 2");

  Result<MergeReport> r = MergeShards(dirs, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const fs::path out = Out();
  EXPECT_EQ(ReadFile(out / "out" / "d1" / "a.out"), "output of a");
  EXPECT_EQ(ReadFile(out / "out" / "d2" / "b.out"), "output of b");
  EXPECT_EQ(ReadFile(out / "spill" / "2.stdout"), "spilled stdout of item 2");
  EXPECT_EQ(ReadFile(out / "logs" / "3.log"), "item log of 3");
  EXPECT_TRUE(fs::is_symlink(out / "out" / "d1" / "link"));
  EXPECT_EQ(fs::read_symlink(out / "out" / "d1" / "link"), "a.out");
  EXPECT_TRUE(
      fs::equivalent(out / "out" / "d1" / "a.out", fs::path(dirs[0]) / "out" / "d1" / "a.out"))
      << "not a hard link on the same file system";
  EXPECT_EQ(ReadFile(out / "out" / "summary.txt"), "shard 0");
  EXPECT_EQ(r->files, 6u);
  EXPECT_EQ(r->file_conflicts, 1u);
  ASSERT_EQ(r->file_conflict_examples.size(), 1u);
  EXPECT_NE(r->file_conflict_examples[0].find("out/summary.txt"), std::string::npos)
      << r->file_conflict_examples[0];
  const std::string log = ReadFile(out / "log.txt");
  EXPECT_NE(log.find("6 file(s) of out/, spill/ and logs/ linked in"), std::string::npos) << log;
  EXPECT_NE(log.find("conflict: out/summary.txt"), std::string::npos) << log;
  // The shards keep their files.
  EXPECT_EQ(ReadFile(fs::path(dirs[2]) / "out" / "summary.txt"), "shard 2");
}

TEST_F(MergeTest, MergesShardsIntoOneRun) {
  std::vector<std::string> dirs = ThreeShards();
  std::swap(dirs[0], dirs[2]);  // any order on the command line
  Result<MergeReport> r = MergeShards(dirs, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->shards, 3u);
  EXPECT_EQ(r->ok, 5u);
  EXPECT_EQ(r->failed, 1u);
  EXPECT_EQ(r->duplicates, 0u);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->dir, Out());

  // Shard order, each shard's records as written.
  EXPECT_EQ(ReadFile(root_ / "merged/results.jsonl"),
            Ok(1, "a") + Ok(4, "d") + Ok(2, "b") + Ok(3, "c") + Ok(6, "f"));
  EXPECT_EQ(ReadFile(root_ / "merged/errors.jsonl"), Failed(5, "e"));
  EXPECT_EQ(ReadFile(root_ / "merged/failed.txt"), "e\n");

  const std::string log = ReadFile(root_ / "merged/log.txt");
  EXPECT_NE(log.find("shard 1/3 " + ThreeShards()[1] + ": summary: 1 ok, 1 failed"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("total: 5 ok, 1 failed, 6 items in 3 shards"), std::string::npos) << log;
  EXPECT_NE(log.find("merge ended, exit status 1"), std::string::npos) << log;

  // Settings without the shard, ready for 'shoal retry' on one machine.
  Result<Settings> merged = LoadSettings((root_ / "merged/settings.toml").string(), {});
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ(merged->input.shard, "");
  EXPECT_EQ(merged->output.dir, root_.string());
  Settings expected = base_;
  expected.output.dir = root_.string();
  EXPECT_EQ(SettingsToToml(*merged), SettingsToToml(expected));
}

TEST_F(MergeTest, AllOkExitsZero) {
  Result<MergeReport> r = MergeShards(
      {MakeShard({"0/2", Ok(1, "a"), "", ""}), MakeShard({"1/2", Ok(2, "b"), "", ""})}, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
}

TEST_F(MergeTest, MissingShardIsAGap) {
  std::vector<std::string> dirs = ThreeShards();
  dirs.erase(dirs.begin() + 1);
  const std::string e = MergeError(dirs);
  EXPECT_NE(e.find("missing shard 1 of 3"), std::string::npos) << e;
}

TEST_F(MergeTest, DuplicatedShardIsRefused) {
  std::vector<std::string> dirs = ThreeShards();
  Settings other = base_;
  other.output.dir = (root_ / "elsewhere").string();
  const std::string copy = MakeShard({"1/3", Ok(2, "b"), "", ""}, other, "-2");
  dirs.push_back(copy);
  const std::string e = MergeError(dirs);
  EXPECT_NE(e.find("more than once"), std::string::npos) << e;
  EXPECT_NE(e.find("shard 1 in"), std::string::npos) << e;
  EXPECT_NE(e.find(copy), std::string::npos) << e;
}

TEST_F(MergeTest, MismatchedSettingsAreRefused) {
  std::vector<std::string> dirs = ThreeShards();
  Settings other = base_;
  other.job.timeout = Millis(60000);
  fs::remove_all(dirs[2]);
  dirs[2] = MakeShard({"2/3", Ok(3, "c"), "", ""}, other);
  const std::string e = MergeError(dirs);
  EXPECT_NE(e.find("different settings"), std::string::npos) << e;
  EXPECT_NE(e.find("job.timeout = \"1m\""), std::string::npos) << e;
}

TEST_F(MergeTest, WorkersAndOutputDirMayDiffer) {
  std::vector<std::string> dirs = ThreeShards();
  Settings other = base_;
  other.job.workers = 64;
  other.output.dir = "/scratch/node7";
  fs::remove_all(dirs[2]);
  dirs[2] = MakeShard({"2/3", Ok(3, "c") + Ok(6, "f"), "", ""}, other);
  Result<MergeReport> r = MergeShards(dirs, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Result<Settings> merged = LoadSettings((root_ / "merged/settings.toml").string(), {});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->job.workers, 0) << "workers differ: one per core of the retrying machine";
}

TEST_F(MergeTest, ShardsOfDifferentSplitsAreRefused) {
  const std::string e =
      MergeError({MakeShard({"0/2", Ok(1, "a"), "", ""}), MakeShard({"1/3", Ok(2, "b"), "", ""})});
  EXPECT_NE(e.find("one split"), std::string::npos) << e;
}

TEST_F(MergeTest, ReportsItemsInTwoShards) {
  // Item 4 "d" recorded by shard 0 and, wrongly, by shard 2 as well.
  Result<MergeReport> r = MergeShards(
      {MakeShard({"0/3", Ok(1, "a") + Ok(4, "d"), "", ""}), MakeShard({"1/3", Ok(2, "b"), "", ""}),
       MakeShard({"2/3", Ok(3, "c"), Failed(4, "d"), "d\n"})},
      Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->duplicates, 1u);
  ASSERT_EQ(r->duplicate_examples.size(), 1u);
  EXPECT_EQ(r->duplicate_examples[0], "item 4 \"d\": shard 0 (ok), shard 2 (failed)");
  // Nothing is dropped: which record is right is for the user to judge.
  EXPECT_EQ(r->ok, 4u);
  EXPECT_EQ(r->failed, 1u);
  const std::string log = ReadFile(root_ / "merged/log.txt");
  EXPECT_NE(log.find("duplicate: item 4 \"d\": shard 0 (ok), shard 2 (failed)"), std::string::npos)
      << log;
}

TEST_F(MergeTest, UnfinishedShardIsRefused) {
  std::vector<std::string> dirs = ThreeShards();
  fs::remove_all(dirs[1]);
  ShardRun running{"1/3", Ok(2, "b"), "", ""};
  running.exit_status = std::nullopt;
  dirs[1] = MakeShard(running);
  std::string e = MergeError(dirs);
  EXPECT_NE(e.find("shard 1 (" + dirs[1] + ") has not finished"), std::string::npos) << e;
  EXPECT_NE(e.find("shoal resume " + dirs[1]), std::string::npos) << e;

  fs::remove_all(dirs[1]);
  ShardRun interrupted{"1/3", Ok(2, "b"), "", ""};
  interrupted.exit_status = 143;
  dirs[1] = MakeShard(interrupted);
  e = MergeError(dirs);
  EXPECT_NE(e.find("exit status 143 (interrupted)"), std::string::npos) << e;
}

// What merge decides by is run.json, not the words of log.txt.
TEST_F(MergeTest, FinishedIsWhatRunJsonSays) {
  std::vector<std::string> dirs = ThreeShards();
  // The log of a run that ended, but run.json of one that is still running
  // (a run.json written at the start, then the master killed).
  RunState started = RunState::Start(SettingsToToml(base_), 2, 0, 0);
  ASSERT_TRUE(WriteRunState(dirs[2], started).ok());
  std::string e = MergeError(dirs);
  EXPECT_NE(e.find("shard 2 (" + dirs[2] +
                   ") has not finished: its run.json says its last run, "
                   "started " +
                   started.started + ", has not ended"),
            std::string::npos)
      << e;

  // And the other way round: a log without the words, a run.json that ended.
  started.End(0, 2, 0);
  ASSERT_TRUE(WriteRunState(dirs[2], started).ok());
  WriteFile(fs::path(dirs[2]) / "log.txt", "");
  Result<MergeReport> r = MergeShards(dirs, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(ReadFile(root_ / "merged/log.txt")
                .find("shard 2/3 " + dirs[2] + ": summary: (none in its log.txt)"),
            std::string::npos);
}

// A shard run by a shoal that wrote no run.json: refused, with the way out.
TEST_F(MergeTest, ShardWithoutRunJsonIsRefused) {
  std::vector<std::string> dirs = ThreeShards();
  fs::remove(fs::path(dirs[0]) / "run.json");
  std::string e = MergeError(dirs);
  EXPECT_NE(e.find("shard 0 (" + dirs[0] + ") has no run.json"), std::string::npos) << e;
  EXPECT_NE(e.find("'shoal resume " + dirs[0] + "'"), std::string::npos) << e;

  WriteFile(fs::path(dirs[0]) / "run.json", "{\"version\":1,\"sho");
  e = MergeError(dirs);
  EXPECT_NE(e.find("shard 0 (" + dirs[0] + "): " + dirs[0] + "/run.json is not a JSON object"),
            std::string::npos)
      << e;
}

// The merged directory is a run directory like any other: its run.json too.
TEST_F(MergeTest, MergedRunHasItsRunJson) {
  Result<MergeReport> r = MergeShards(ThreeShards(), Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Result<RunState> state = ReadRunState(Out());
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_TRUE(state->ended);
  EXPECT_EQ(state->exit_status, 1);
  EXPECT_EQ(state->ok, 5u);
  EXPECT_EQ(state->failed, 1u);
  EXPECT_EQ(state->workers, 2);
  EXPECT_EQ(state->settings_sha256,
            RunState::Start(ReadFile(root_ / "merged/settings.toml"), 0, 0, 0).settings_sha256);
  EXPECT_LE(state->started, state->ended_at);
}

TEST_F(MergeTest, ResumedShardCountsItsLastRun) {
  std::vector<std::string> dirs = ThreeShards();
  // Interrupted, then resumed to the end.
  std::ofstream(fs::path(dirs[1]) / "log.txt", std::ios::app)
      << "2026-11-22T04:00:00.000Z run resumed: 1 items already recorded\n"
         "2026-11-22T04:00:00.000Z run started: 2 workers\n"
         "2026-11-22T04:00:01.000Z summary: 0 ok, 0 failed\n"
         "2026-11-22T04:00:01.000Z run ended, exit status 1\n";
  Result<MergeReport> r = MergeShards(dirs, Out());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string log = ReadFile(root_ / "merged/log.txt");
  EXPECT_NE(log.find(dirs[1] + ": summary: 0 ok, 0 failed"), std::string::npos) << log;
  EXPECT_EQ(log.find(dirs[1] + ": summary: 1 ok, 1 failed"), std::string::npos) << log;
}

TEST_F(MergeTest, TornRecordIsRefused) {
  std::vector<std::string> dirs = ThreeShards();
  WriteFile(fs::path(dirs[2]) / "results.jsonl", Ok(3, "c") + "{\"index\":6,\"it");
  const std::string e = MergeError(dirs);
  EXPECT_NE(e.find("torn"), std::string::npos) << e;
}

TEST_F(MergeTest, OutputMustBeNewOrEmpty) {
  const std::vector<std::string> dirs = ThreeShards();
  WriteFile(root_ / "merged" / "x", "");
  std::string e = MergeError(dirs);
  EXPECT_NE(e.find("not an empty directory"), std::string::npos) << e;
  fs::remove(root_ / "merged" / "x");
  EXPECT_TRUE(MergeShards(dirs, Out()).ok());
}

TEST_F(MergeTest, RunWithoutShardIsRefused) {
  const std::string plain = (root_ / "plain").string();
  WriteFile(fs::path(plain) / "settings.toml", SettingsToToml(base_));
  std::string e = MergeError({plain});
  EXPECT_NE(e.find("not the run of a shard"), std::string::npos) << e;
  e = MergeError({(root_ / "nothing").string()});
  EXPECT_NE(e.find("not a shoal run directory"), std::string::npos) << e;
}

}  // namespace
}  // namespace shoal
