#include "master/run_dir.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "master/resume.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

class RunDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-rundir-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(RunDirTest, ForEachLineReadsLinesAndCutsATornLastOne) {
  Write("f", "one\ntwo\nthr");
  std::vector<std::string> lines;
  bool torn = false;
  Status st = ForEachLine((dir_ / "f").string(), '\n', /*cut_torn=*/true, &torn,
                          [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(torn);
  EXPECT_EQ(Read("f"), "one\ntwo\n");  // appending goes on at a line boundary
}

TEST_F(RunDirTest, ForEachLineReadOnlyLeavesTheFileAlone) {
  Write("f", std::string("a\0b\0c", 5));
  std::vector<std::string> items;
  bool torn = false;
  ASSERT_TRUE(
      ForEachLine((dir_ / "f").string(), '\0', /*cut_torn=*/false, &torn, [&](std::string_view l) {
        items.emplace_back(l);
      }).ok());
  EXPECT_EQ(items, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(torn);
  EXPECT_EQ(Read("f").size(), 5u);
}

TEST_F(RunDirTest, ForEachLineOfAMissingFileHasNoLines) {
  bool torn = true;
  int calls = 0;
  EXPECT_TRUE(ForEachLine((dir_ / "missing").string(), '\n', true, &torn, [&](std::string_view) {
                ++calls;
              }).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(torn);
}

// A master killed mid-write leaves half a record: resume counts what is whole,
// cuts the rest, and the item of the torn record runs again.
TEST_F(RunDirTest, RunRecordsToleratesATornLastRecord) {
  Write("results.jsonl",
        "{\"index\":1,\"item\":\"a\",\"status\":\"ok\",\"attempts\":1}\n"
        "{\"index\":3,\"item\":\"c\",\"status\":\"ok\",\"attempts\":1}\n"
        "{\"index\":2,\"item\":\"b\",\"sta");
  Write("errors.jsonl",
        "{\"index\":4,\"item\":\"d\",\"status\":\"failed\",\"reason\":\"exit 1\"}\n");
  Settings settings;
  auto records = ReadRunRecords(dir_.string(), settings);
  ASSERT_TRUE(records.ok()) << records.status().message();
  EXPECT_EQ(records->ok, 2u);
  EXPECT_EQ(records->failed, 1u);
  EXPECT_EQ(records->torn, 1u);
  EXPECT_TRUE(records->done.Contains(1));
  EXPECT_FALSE(records->done.Contains(2));
  EXPECT_TRUE(records->done.Contains(3));
  EXPECT_TRUE(records->done.Contains(4));
  EXPECT_EQ(records->digest, RecordTerm(1, "a") + RecordTerm(3, "c") + RecordTerm(4, "d"));
  // Reading changes nothing; the repair cuts the torn line.
  EXPECT_NE(Read("results.jsonl").back(), '\n');
  ASSERT_TRUE(RepairRunRecords(dir_.string(), settings, *records).ok());
  EXPECT_EQ(Read("results.jsonl").back(), '\n');
  EXPECT_EQ(Read("failed.txt"), "d\n");
}

TEST_F(RunDirTest, RunRecordsRefusesARecordWithoutIndexAndItem) {
  Write("results.jsonl",
        "{\"index\":1,\"item\":\"a\",\"status\":\"ok\"}\n{\"item\":\"b\",\"status\":\"ok\"}\n");
  Settings settings;
  auto records = ReadRunRecords(dir_.string(), settings);
  ASSERT_FALSE(records.ok());
  const std::string& e = records.status().message();
  EXPECT_NE(e.find("results.jsonl:2: a record without a readable index and item"),
            std::string::npos)
      << e;
}

// resume must never follow a planted symlink, nor write through one.
TEST_F(RunDirTest, RecordFilesRefuseSymlinks) {
  Write("target", "{\"index\":1,\"item\":\"a\",\"status\":\"ok\"}\n{\"ind");
  std::filesystem::create_symlink(dir_ / "target", dir_ / "results.jsonl");
  RecordFile file;
  Status st = file.Open((dir_ / "results.jsonl").string());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is a symbolic link"), std::string::npos) << st.message();
  Settings settings;
  auto records = ReadRunRecords(dir_.string(), settings);
  ASSERT_FALSE(records.ok());
  EXPECT_NE(records.status().message().find("results.jsonl is a symbolic link"), std::string::npos)
      << records.status().message();
  EXPECT_EQ(Read("target").back(), 'd');  // not cut
}

TEST_F(RunDirTest, RecordFilesAreCreatedWithTheModeOfTheirDirectory) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0750), 0);
  RecordFile file;
  ASSERT_TRUE(file.Open((dir_ / "log.txt").string()).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "log.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(DoneSetTest, OneBitPerPositionAndDuplicatesAreReported) {
  DoneSet done;
  EXPECT_TRUE(done.Add(5));
  EXPECT_TRUE(done.Add(1000000));
  EXPECT_FALSE(done.Add(5));
  EXPECT_TRUE(done.Contains(5));
  EXPECT_FALSE(done.Contains(6));
  EXPECT_EQ(done.count(), 2u);
  EXPECT_EQ(done.max_index(), 1000000u);
}

}  // namespace
}  // namespace shoal
