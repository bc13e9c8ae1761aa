#include "master/run_state.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/test_util.h"
#include "config/cli.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

using test::ReadFile;
using test::WriteFile;

class RunStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-run-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static RunState Started() {
    RunState s;
    s.shoal = "0.1.0";
    s.started = "2026-11-22T03:15:00.123Z";
    s.ok = 7;  // a resumed run starts with the records it has
    s.failed = 1;
    s.settings_sha256 = std::string(64, 'a');
    s.workers = 8;
    return s;
  }

  std::string Error(const std::string& text) {
    WriteFile(dir_ / "run.json", text);
    Result<RunState> r = ReadRunState(dir_.string());
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? "" : r.status().message();
  }

  fs::path dir_;
};

TEST_F(RunStateTest, StartedRunHasNullsWhereTheEndGoes) {
  EXPECT_EQ(FormatRunState(Started()),
            "{\"version\":1,\"shoal\":\"0.1.0\",\"started\":\"2026-11-22T03:15:00.123Z\","
            "\"ended\":false,\"ended_at\":null,\"exit_status\":null,\"ok\":7,\"failed\":1,"
            "\"settings_sha256\":\"" +
                std::string(64, 'a') + "\",\"workers\":8}\n");
}

TEST_F(RunStateTest, StartIsThisShoalNow) {
  const RunState s = RunState::Start("[job]\nname = \"x\"\n", 4, 10, 2);
  EXPECT_EQ(s.shoal, kShoalVersion);
  EXPECT_EQ(s.started.size(), std::string("2026-11-22T03:15:00.123Z").size()) << s.started;
  EXPECT_TRUE(s.started.ends_with("Z")) << s.started;
  EXPECT_FALSE(s.ended);
  EXPECT_EQ(s.ended_at, "");
  EXPECT_FALSE(s.exit_status.has_value());
  EXPECT_EQ(s.workers, 4);
  EXPECT_EQ(s.ok, 10u);
  EXPECT_EQ(s.failed, 2u);
  // printf '[job]\nname = "x"\n' | sha256sum
  EXPECT_EQ(s.settings_sha256, "650d182c10307755b01f404371c3aae31d105dd027d1c8f67ac9510233b98962");
}

TEST_F(RunStateTest, WriteThenReadGivesTheSameState) {
  RunState s = Started();
  ASSERT_TRUE(WriteRunState(dir_.string(), s).ok());
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, s);
  EXPECT_FALSE(r->ended);
  EXPECT_FALSE(r->exit_status.has_value());

  s.End(1, 998, 2);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.ended_at.size(), std::string("2026-11-22T03:15:00.123Z").size()) << s.ended_at;
  ASSERT_TRUE(WriteRunState(dir_.string(), s).ok());
  r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, s);
  EXPECT_EQ(r->exit_status, 1);
  EXPECT_EQ(r->ok, 998u);
  EXPECT_EQ(r->failed, 2u);
  // Nothing left beside it: the temporary file was renamed over run.json.
  EXPECT_FALSE(fs::exists(dir_ / "run.json.tmp"));
  EXPECT_EQ(ReadFile(dir_ / "run.json"), FormatRunState(s));
}

TEST_F(RunStateTest, WriteReplacesAStaleTemporaryFile) {
  // What a writer killed before its rename leaves.
  WriteFile(dir_ / "run.json.tmp", "{\"version\":1,\"shoal\":\"0.1.0\",\"sta");
  ASSERT_TRUE(WriteRunState(dir_.string(), Started()).ok());
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Started());
}

TEST_F(RunStateTest, WriteIntoAMissingDirectoryFails) {
  Status st = WriteRunState((dir_ / "gone").string(), Started());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find((dir_ / "gone").string()), std::string::npos) << st.message();
}

TEST_F(RunStateTest, MissingFileIsToldApart) {
  EXPECT_TRUE(MissingRunState(dir_.string()));
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), dir_.string() + " has no run.json");
  ASSERT_TRUE(WriteRunState(dir_.string(), Started()).ok());
  EXPECT_FALSE(MissingRunState(dir_.string()));
}

TEST_F(RunStateTest, UnknownKeysAreIgnored) {
  std::string text = FormatRunState(Started());
  text.insert(1, "\"later\":{\"a\":[1,2]},");
  WriteFile(dir_ / "run.json", text);
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Started());
}

TEST_F(RunStateTest, BadFilesNameTheFileAndTheKey) {
  const std::string path = (dir_ / "run.json").string();
  std::string e = Error("{\"version\":1,\"shoal\":\"0.1.0\",\"sta");  // torn: not JSON
  EXPECT_NE(e.find(path + " is not a JSON object"), std::string::npos) << e;
  e = Error("[]");
  EXPECT_NE(e.find(path + " is not a JSON object"), std::string::npos) << e;

  std::string text = FormatRunState(Started());
  const size_t ok = text.find("\"ok\":7");
  e = Error(text.substr(0, ok) + "\"ok\":\"7\"" + text.substr(ok + 6));
  EXPECT_NE(e.find(path + ": \"ok\" is missing or not a count"), std::string::npos) << e;
  e = Error(text.substr(0, ok) + "\"ok\":-1" + text.substr(ok + 6));
  EXPECT_NE(e.find("\"ok\""), std::string::npos) << e;
  e = Error("{\"version\":1}");
  EXPECT_NE(e.find("\"shoal\" is missing"), std::string::npos) << e;

  RunState ended = Started();
  ended.ended = true;  // but no exit status
  e = Error(FormatRunState(ended));
  EXPECT_NE(e.find("disagree"), std::string::npos) << e;
}

TEST_F(RunStateTest, NewerVersionIsRefused) {
  std::string text = FormatRunState(Started());
  text.replace(text.find("\"version\":1"), 11, "\"version\":2");
  const std::string e = Error(text);
  EXPECT_NE(e.find("version 2, written by a newer shoal"), std::string::npos) << e;
}

TEST_F(RunStateTest, RetriesAreWrittenOnceThereIsOne) {
  RunState s = Started();
  EXPECT_EQ(FormatRunState(s).find("retr"), std::string::npos);
  s.retries = 2;
  s.retrying = true;
  EXPECT_NE(FormatRunState(s).find(",\"retries\":2,\"retrying\":true}"), std::string::npos)
      << FormatRunState(s);
  ASSERT_TRUE(WriteRunState(dir_.string(), s).ok());
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, s);
  // Absent: never retried.
  ASSERT_TRUE(WriteRunState(dir_.string(), Started()).ok());
  r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->retries, 0u);
  EXPECT_FALSE(r->retrying);
  std::string bad = FormatRunState(Started());
  bad.insert(bad.size() - 2, ",\"retries\":-1");
  EXPECT_NE(Error(bad).find("\"retries\""), std::string::npos);
}

TEST_F(RunStateTest, RetryShardNamesItsRun) {
  RunState s = Started();
  s.retries = 1;
  s.retrying = true;
  s.retry_of = "/runs/x";
  EXPECT_NE(FormatRunState(s).find(",\"retrying\":true,\"retry_of\":\"/runs/x\"}"),
            std::string::npos)
      << FormatRunState(s);
  ASSERT_TRUE(WriteRunState(dir_.string(), s).ok());
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, s);
  std::string bad = FormatRunState(Started());
  bad.insert(bad.size() - 2, ",\"retry_of\":7");
  EXPECT_NE(Error(bad).find("\"retry_of\""), std::string::npos);
}

TEST_F(RunStateTest, WhyTheRunHaltedIsWrittenOnlyWhenItDid) {
  RunState s = Started();
  EXPECT_EQ(FormatRunState(s).find("halted"), std::string::npos);
  s.halted = "2 failures reached job.halt = soon,fail=2";
  EXPECT_NE(FormatRunState(s).find(",\"halted\":\"2 failures reached job.halt = soon,fail=2\"}"),
            std::string::npos)
      << FormatRunState(s);
  ASSERT_TRUE(WriteRunState(dir_.string(), s).ok());
  Result<RunState> r = ReadRunState(dir_.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->halted, s.halted);
  std::string bad = FormatRunState(Started());
  bad.insert(bad.size() - 2, ",\"halted\":3");
  EXPECT_NE(Error(bad).find("\"halted\""), std::string::npos);
}

}  // namespace
}  // namespace shoal
