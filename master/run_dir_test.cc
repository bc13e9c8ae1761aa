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

// output.compress = "zstd": every flush one frame, read back line for line
// as the plain file is.
class CompressedRecordsTest : public RunDirTest {
 protected:
  // Writes `flushes` through a RecordFile, one Flush each.
  void WriteRecords(const std::string& name, Compression compress,
                    const std::vector<std::string>& flushes) {
    RecordFile file;
    ASSERT_TRUE(file.Open((dir_ / name).string(), '\n', -1, compress).ok());
    for (const std::string& bytes : flushes) {
      file.Append(bytes);
      ASSERT_TRUE(file.Flush().ok());
    }
  }
  std::vector<std::string> Lines(const std::string& name, bool cut_torn, bool* torn, Status* st) {
    std::vector<std::string> lines;
    *st = ForEachLine((dir_ / name).string(), '\n', cut_torn, torn,
                      [&](std::string_view l) { lines.emplace_back(l); });
    return lines;
  }
  static std::string Record(int index) {
    return "{\"index\":" + std::to_string(index) + ",\"item\":\"item-" + std::to_string(index) +
           "\",\"status\":\"ok\",\"attempts\":1,\"worker\":1,\"ms\":0.012,\"output\":\"\"}\n";
  }
  static std::string Records(int from, int to) {
    std::string s;
    for (int i = from; i <= to; ++i) s += Record(i);
    return s;
  }
};

TEST_F(CompressedRecordsTest, BothFormsReadTheSame) {
  const std::vector<std::string> flushes{Records(1, 100), Records(101, 101), Records(102, 500)};
  WriteRecords("results.jsonl", Compression::kNone, flushes);
  WriteRecords("results.jsonl.zst", Compression::kZstd, flushes);
  const std::string zst = Read("results.jsonl.zst");
  ASSERT_GE(zst.size(), 4u);
  EXPECT_EQ(zst.substr(0, 4), "\x28\xb5\x2f\xfd");  // a zstd frame, as zstdcat reads it
  EXPECT_LT(zst.size() * 5, Read("results.jsonl").size());
  bool torn = true;
  Status st;
  std::vector<std::string> plain = Lines("results.jsonl", false, &torn, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<std::string> compressed = Lines("results.jsonl.zst", false, &torn, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(torn);
  EXPECT_EQ(plain.size(), 500u);
  EXPECT_EQ(compressed, plain);
}

TEST_F(CompressedRecordsTest, ATornLastFrameIsCutWholeAndAppendingGoesOn) {
  WriteRecords("results.jsonl.zst", Compression::kZstd, {Records(1, 10), Records(11, 20)});
  const size_t whole = Read("results.jsonl.zst").size();
  // Some 550 kB, as the master flushes (512 kB): a frame of several blocks,
  // whose first ones decode before its end is known to be missing.
  WriteRecords("results.jsonl.zst", Compression::kZstd, {Records(21, 5000)});
  const size_t full = Read("results.jsonl.zst").size();
  // A master killed half-way through writing the third frame.
  fs::resize_file(dir_ / "results.jsonl.zst", whole + (full - whole) / 2);
  bool torn = false;
  Status st;
  std::vector<std::string> lines = Lines("results.jsonl.zst", /*cut_torn=*/true, &torn, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(torn);
  ASSERT_EQ(lines.size(), 20u);  // none of the torn frame's records
  EXPECT_EQ(lines.back() + "\n", Record(20));
  EXPECT_EQ(fs::file_size(dir_ / "results.jsonl.zst"), whole);
  WriteRecords("results.jsonl.zst", Compression::kZstd, {Records(21, 22)});
  lines = Lines("results.jsonl.zst", false, &torn, &st);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(torn);
  ASSERT_EQ(lines.size(), 22u);
  EXPECT_EQ(lines.back() + "\n", Record(22));
}

TEST_F(CompressedRecordsTest, AFrameThatDoesNotDecodeIsAnError) {
  WriteRecords("results.jsonl.zst", Compression::kZstd, {Records(1, 50), Records(51, 100)});
  std::string bytes = Read("results.jsonl.zst");
  for (size_t i = 8; i < 24; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  Write("results.jsonl.zst", bytes);
  bool torn = false;
  Status st;
  Lines("results.jsonl.zst", /*cut_torn=*/true, &torn, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is not whole zstd frames"), std::string::npos) << st.message();
  EXPECT_EQ(Read("results.jsonl.zst"), bytes);  // nothing cut
}

// Frames that shoal does not write (a record split between two) are read
// whole; torn, they cannot be cut back exactly, and say so.
TEST_F(CompressedRecordsTest, ARecordAcrossFramesIsReadButNotCut) {
  WriteRecords("r.zst", Compression::kZstd, {"a\nb", "c\n"});
  bool torn = true;
  Status st;
  EXPECT_EQ(Lines("r.zst", false, &torn, &st), (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(torn);
  fs::resize_file(dir_ / "r.zst", fs::file_size(dir_ / "r.zst") - 2);
  Lines("r.zst", /*cut_torn=*/true, &torn, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot be cut back to whole records"), std::string::npos)
      << st.message();
}

TEST_F(CompressedRecordsTest, RunRecordsReadTheCompressedResults) {
  Settings settings;
  settings.output.compress = Compression::kZstd;
  WriteRecords("results.jsonl.zst", Compression::kZstd,
               {"{\"index\":1,\"item\":\"a\",\"status\":\"ok\",\"attempts\":1}\n",
                "{\"index\":3,\"item\":\"c\",\"status\":\"ok\",\"attempts\":1}\n"});
  {
    std::ofstream out(dir_ / "results.jsonl.zst", std::ios::binary | std::ios::app);
    out << "\x28\xb5\x2f\xfd\x20";  // the start of a frame that never ended
  }
  Write("errors.jsonl",
        "{\"index\":2,\"item\":\"b\",\"status\":\"failed\",\"reason\":\"exit 1\"}\n");
  auto records = ReadRunRecords(dir_.string(), settings);
  ASSERT_TRUE(records.ok()) << records.status().message();
  EXPECT_EQ(records->ok, 2u);
  EXPECT_EQ(records->failed, 1u);
  EXPECT_EQ(records->torn, 1u);
  EXPECT_EQ(records->digest, RecordTerm(1, "a") + RecordTerm(2, "b") + RecordTerm(3, "c"));
  ASSERT_TRUE(RepairRunRecords(dir_.string(), settings, *records).ok());
  records = ReadRunRecords(dir_.string(), settings);
  ASSERT_TRUE(records.ok()) << records.status().message();
  EXPECT_EQ(records->torn, 0u);
  EXPECT_EQ(FirstLine((dir_ / "results.jsonl.zst").string()),
            "{\"index\":1,\"item\":\"a\",\"status\":\"ok\",\"attempts\":1}");
}

// output.records = "failures": a success is its index and its item's hash,
// which is all resume reads of it.
TEST_F(RunDirTest, FailuresOnlyRecordsKeepWhatResumeNeeds) {
  Settings settings;
  settings.output.dir = dir_.string();
  settings.output.records = RecordDetail::kFailures;
  RunDirectory run;
  ASSERT_TRUE(run.Create(settings, InputKind::kList, "").ok());
  RunDirectory::Finished f{};
  f.index = 7;
  f.item = "some/file name";
  f.attempts = 1;
  f.output = "a long output that is not kept";
  std::string line;
  std::string times;
  run.FormatSuccess(f, &line, &times);
  char expected[80];
  std::snprintf(expected, sizeof expected, "{\"index\":7,\"item_hash\":\"%016llx\"}\n",
                static_cast<unsigned long long>(ItemHash("some/file name")));
  EXPECT_EQ(line, expected);
  run.RecordSuccess(f);
  f.index = 8;
  f.reason = "exit 1";
  run.RecordFailure(f);
  ASSERT_TRUE(run.Flush().ok());
  auto records = ReadRunRecords(run.path(), settings);
  ASSERT_TRUE(records.ok()) << records.status().message();
  EXPECT_EQ(records->ok, 1u);
  EXPECT_EQ(records->failed, 1u);
  EXPECT_EQ(records->digest, RecordTerm(7, "some/file name") + RecordTerm(8, "some/file name"));
}

// The run's flushes go to the run directory's thread while the master
// appends the next records: every record reaches the file once, in the
// order it was appended, and Flush() waits for the write under way.
TEST_F(RunDirTest, RecordsFlushedInBackgroundArriveWholeAndInOrder) {
  Settings settings;
  settings.output.dir = dir_.string();
  RunDirectory run;
  ASSERT_TRUE(run.Create(settings, InputKind::kList, "").ok());
  constexpr uint64_t kItems = 20000;
  const std::string item(100, 'x');  // records of ~200 bytes: many writes of many pages
  for (uint64_t i = 1; i <= kItems; ++i) {
    RunDirectory::Finished f{};
    f.index = i;
    f.item = item;
    f.attempts = 1;
    f.worker = 1;
    f.exit_code = 0;
    run.RecordSuccess(f);
    if (i % 997 == 0) {
      run.Log("flushed up to " + std::to_string(i));
      ASSERT_TRUE(run.FlushInBackground().ok());
    }
  }
  ASSERT_TRUE(run.Flush().ok());
  std::istringstream lines(Read(fs::path(run.path()).filename() / "results.jsonl"));
  std::string line;
  uint64_t expected = 1;
  while (std::getline(lines, line)) {
    ASSERT_EQ(line.rfind("{\"index\":" + std::to_string(expected) + ",", 0), 0u) << line;
    ASSERT_EQ(line.back(), '}');
    ++expected;
  }
  EXPECT_EQ(expected, kItems + 1);
  const std::string log = Read(fs::path(run.path()).filename() / "log.txt");
  EXPECT_NE(log.find("flushed up to 997\n"), std::string::npos) << log;
  EXPECT_NE(log.find("flushed up to 19940\n"), std::string::npos) << log;
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
