#include "master/job_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/fd.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

// output.print = "line" in input order (-k --line-buffer): what reaches the
// two fds, and when, as pieces and turns come.
class JobOutputInOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-joboutput-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    out_ = UniqueFd(::open((dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    err_ = UniqueFd(::open((dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(out_.valid() && err_.valid());
    settings_.output.print = PrintMode::kLine;
    settings_.output.order = OutputOrder::kInput;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<JobOutput> Make() {
    auto made = JobOutput::Make(settings_, InputKind::kList, dir_.string(), nullptr, out_.get(),
                                err_.get());
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? std::move(made).value() : nullptr;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string Out() { return Read("out"); }
  std::string Err() { return Read("err"); }
  // The records of item `index` are written (the window's print).
  static JobOutput::Held Done(uint64_t index) {
    JobOutput::Held h;
    h.index = index;
    return h;
  }

  fs::path dir_;
  UniqueFd out_, err_;
  Settings settings_;
};

TEST_F(JobOutputInOrderTest, StreamsInInputOrderOnlyForLine) {
  EXPECT_TRUE(JobOutput::Streams(settings_));
  settings_.output.print = PrintMode::kUngroup;  // as "group" in input order
  EXPECT_FALSE(JobOutput::Streams(settings_));
  settings_.output.order = OutputOrder::kCompletion;
  EXPECT_TRUE(JobOutput::Streams(settings_));
  settings_.job.handler = HandlerKind::kSha256;  // forwards nothing
  EXPECT_FALSE(JobOutput::Streams(settings_));
}

// The item whose turn it is prints at once; a later one waits for its turn,
// then prints what it held and goes on live.
TEST_F(JobOutputInOrderTest, HeadPrintsLiveLaterItemsWaitForTheirTurn) {
  auto o = Make();
  o->Turn(1);
  o->PrintPiece(2, "b", 2, kStdoutStream, "b1\n");
  o->PrintPiece(2, "b", 2, kStderrStream, "b-err\n");
  EXPECT_EQ(Out(), "");
  o->PrintPiece(1, "a", 1, kStdoutStream, "a1\n");
  EXPECT_EQ(Out(), "a1\n");
  o->PrintPiece(3, "c", 1, kStdoutStream, "c1\n");
  o->PrintPiece(1, "a", 1, kStdoutStream, "a2\n");
  EXPECT_EQ(Out(), "a1\na2\n");
  o->Print(Done(1));
  EXPECT_EQ(Out(), "a1\na2\n");
  o->Turn(2);
  EXPECT_EQ(Out(), "a1\na2\nb1\n");
  EXPECT_EQ(Err(), "b-err\n");
  o->PrintPiece(2, "b", 2, kStdoutStream, "b2\n");
  EXPECT_EQ(Out(), "a1\na2\nb1\nb2\n");
  // Item 3 finished before its turn: all it holds goes out with its records.
  o->Print(Done(2));
  o->Print(Done(3));
  EXPECT_EQ(Out(), "a1\na2\nb1\nb2\nc1\n");
  o->PrintHeld();
  EXPECT_EQ(Out(), "a1\na2\nb1\nb2\nc1\n");  // nothing twice
}

TEST_F(JobOutputInOrderTest, TagsGoOnEachLineHeldOrLive) {
  settings_.output.tag = true;
  auto o = Make();
  o->Turn(1);
  o->PrintPiece(2, "b", 1, kStdoutStream, "x\ny\n");
  o->PrintPiece(1, "a", 1, kStdoutStream, "z\n");
  o->Print(Done(1));
  o->Turn(2);
  EXPECT_EQ(Out(), "a\tz\nb\tx\nb\ty\n");
}

// Past kHeldInMemory an item's pieces go to a file under spill/, removed
// once printed; the bytes come out whole and in order.
TEST_F(JobOutputInOrderTest, LargeHeldOutputSpillsToAFile) {
  auto o = Make();
  o->Turn(1);
  std::string expected;
  const std::string line(1000, 'x');
  for (int i = 0; expected.size() < 3 * JobOutput::kHeldInMemory; ++i) {
    std::string piece = std::to_string(i) + line + "\n";
    o->PrintPiece(2, "b", 1, kStdoutStream, piece);
    expected += piece;
  }
  EXPECT_EQ(Out(), "");
  EXPECT_TRUE(fs::exists(dir_ / JobOutput::kHeldDir / "2.stdout"));
  EXPECT_LE(fs::file_size(dir_ / JobOutput::kHeldDir / "2.stdout"), expected.size());
  EXPECT_GE(fs::file_size(dir_ / JobOutput::kHeldDir / "2.stdout"),
            expected.size() - JobOutput::kHeldInMemory);
  o->Print(Done(1));
  o->Turn(2);
  EXPECT_TRUE(Out() == expected) << Out().size() << " bytes of " << expected.size();
  EXPECT_FALSE(fs::exists(dir_ / JobOutput::kHeldDir / "2.stdout"));
}

// A master killed while it held output leaves its files; their items have
// no records and run again, so the next master (a resume) removes them, and
// only them: the rest of spill/ is the records' output.
TEST_F(JobOutputInOrderTest, ANewMasterRemovesTheHeldFilesOfAKilledOne) {
  fs::create_directories(dir_ / JobOutput::kHeldDir);
  std::ofstream(dir_ / JobOutput::kHeldDir / "7.stdout") << "stale\n";
  std::ofstream(dir_ / "spill" / "3.stdout") << "a record's output\n";
  auto o = Make();
  EXPECT_FALSE(fs::exists(dir_ / JobOutput::kHeldDir));
  EXPECT_TRUE(fs::exists(dir_ / "spill" / "3.stdout"));
}

// A run that ends with items unfinished (halted, interrupted): what they
// printed comes out in input order, whatever order it came in.
TEST_F(JobOutputInOrderTest, PrintHeldAtTheEndInInputOrder) {
  auto o = Make();
  o->Turn(3);
  o->PrintPiece(7, "g", 1, kStdoutStream, "seven\n");
  o->PrintPiece(5, "e", 2, kStdoutStream, "five\n");
  o->PrintPiece(5, "e", 2, kStderrStream, "five-err\n");
  o->PrintHeld();
  EXPECT_EQ(Out(), "five\nseven\n");
  EXPECT_EQ(Err(), "five-err\n");
}

// The window names each item whose turn comes: the first one opened, and
// after a release the first one still open; at the end the unfinished ones.
TEST_F(JobOutputInOrderTest, RecordWindowGivesEachTurnInOrder) {
  settings_.output.dir = (dir_ / "runs").string();
  RunDirectory run;
  ASSERT_TRUE(run.Create(settings_, InputKind::kList, "").ok());
  std::vector<std::string> events;
  RecordWindow window(16, 1 << 20);
  window.PrintWith(
      [](const RunDirectory::Finished& f) {
        ItemOutput h;
        h.index = f.index;
        return h;
      },
      [&](const ItemOutput& h) { events.push_back("print " + std::to_string(h.index)); },
      [&](uint64_t index) { events.push_back("turn " + std::to_string(index)); });
  RunDirectory::Finished f{};
  f.item = "x";
  f.attempts = 1;
  for (uint64_t i = 1; i <= 4; ++i) window.Open(i);
  f.index = 2;
  window.Success(run, f);
  f.index = 1;
  window.Success(run, f);
  window.ReleaseAll(run);
  EXPECT_EQ(events, (std::vector<std::string>{"turn 1", "print 1", "print 2", "turn 3", "turn 3",
                                              "turn 4"}));
  events.clear();
  window.Open(5);  // the window was empty: its first item's turn at once
  EXPECT_EQ(events, (std::vector<std::string>{"turn 5"}));
}

}  // namespace
}  // namespace shoal
