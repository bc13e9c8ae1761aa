#include "worker/command_handler.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using test::ProcessGone;
using test::WaitFor;

class CollectingLog : public LogSink {
 public:
  void Log(std::string_view line) override { lines.emplace_back(line); }
  void Forward(OutputStream stream, std::string_view bytes) override {
    pieces.emplace_back(stream, bytes);
  }
  std::vector<std::string> lines;
  std::vector<std::pair<OutputStream, std::string>> pieces;
};

class CommandHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-cmd-XXXXXX").string();
    run_ = fs::canonical(::mkdtemp(pattern.data())).string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(run_, ignored);
  }

  // Runs one list item through a handler built from settings_.
  Outcome RunItem(const std::string& item, uint64_t index = 1, int stop_fd = -1) {
    return RunItemOf(InputKind::kList, item, index, stop_fd);
  }
  // Runs one tree item (a path relative to settings_.input.path).
  Outcome RunTreeItem(const std::string& rel, uint64_t index = 1) {
    return RunItemOf(InputKind::kTree, rel, index, -1);
  }
  Outcome RunItemOf(InputKind kind, const std::string& item, uint64_t index, int stop_fd) {
    HandlerContext context{settings_, kind, run_, 1};
    context.stop_fd = stop_fd;
    Result<std::unique_ptr<Handler>> handler = MakeCommandHandler(context);
    EXPECT_TRUE(handler.ok()) << handler.status().message();
    if (!handler.ok()) return Outcome();
    // As the worker does: only the members this handler says it reads.
    ItemPaths paths;
    FillItemPaths(settings_, kind, item, index, 1, run_, &paths, (*handler)->fields());
    return (*handler)->Run(paths, log_);
  }

  std::string RunFile(const std::string& rel) const {
    std::ifstream in(run_ + "/" + rel, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  void Argv(std::vector<std::string> argv) { settings_.command.argv = std::move(argv); }

  Settings settings_;
  std::string run_;
  CollectingLog log_;
};

// The pid a command wrote into `file` (0 if none).
pid_t PidIn(const std::string& file) {
  pid_t pid = 0;
  std::ifstream(file) >> pid;
  return pid;
}

// No process is left in the group `pgid`.
bool GroupGone(pid_t pgid) {
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

TEST_F(CommandHandlerTest, ExitZeroCapturesStdout) {
  Argv({"printf", "hello %s", "{item}"});
  Outcome o = RunItem("world");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output, "hello world");
  EXPECT_EQ(o.output_file, "");
  EXPECT_EQ(o.reason, "");
}

TEST_F(CommandHandlerTest, ExitCode) {
  Argv({"sh", "-c", "echo oops >&2; exit 3"});
  Outcome o = RunItem("x");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.reason, "exit 3");
  EXPECT_EQ(o.stderr_tail, "oops\n");
}

TEST_F(CommandHandlerTest, KilledBySignal) {
  Argv({"sh", "-c", "kill -9 $$"});
  Outcome o = RunItem("x");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.signal, 9);
  EXPECT_EQ(o.exit_code, -1);
  EXPECT_EQ(o.reason, "signal 9");
}

TEST_F(CommandHandlerTest, NotFoundAndNotExecutable) {
  Argv({"shoal-no-such-program-xyz", "{item}"});
  Outcome o = RunItem("x");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "not found: shoal-no-such-program-xyz");

  std::string script = run_ + "/not-exec.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  ::chmod(script.c_str(), 0644);
  Argv({script});
  o = RunItem("x");
  EXPECT_EQ(o.reason, "not executable: " + script);

  Argv({run_ + "/missing/prog"});
  o = RunItem("x");
  EXPECT_EQ(o.reason, "not found: " + run_ + "/missing/prog");
}

TEST_F(CommandHandlerTest, BadSettingsFailToBuild) {
  HandlerContext context{settings_, InputKind::kList, run_, 1};
  settings_.command.argv = {"echo", "{nope}"};
  EXPECT_FALSE(MakeCommandHandler(context).ok());
  settings_.command.argv = {"echo", "{item}"};
  settings_.command.shell = true;
  EXPECT_FALSE(MakeCommandHandler(context).ok());
  settings_.command.shell = false;
  settings_.command.cwd = run_ + "/missing";
  EXPECT_FALSE(MakeCommandHandler(context).ok());
}

TEST_F(CommandHandlerTest, AwkwardItemsReachArgvUnchanged) {
  const std::vector<std::string> items = {"with space",
                                          "it's",
                                          "\"dq\"",
                                          "$HOME",
                                          "*",
                                          "`id`",
                                          "new\nline",
                                          "-n",
                                          "--",
                                          "\\",
                                          "\xff\xfe invalid utf8",
                                          "",
                                          "{item}",
                                          "trailing\n"};
  Argv({"printf", "%s", "{item}"});
  for (const std::string& item : items) {
    Outcome o = RunItem(item);
    EXPECT_TRUE(o.ok) << o.reason;
    EXPECT_EQ(o.output, item);
  }
  settings_.command.shell = true;
  Argv({"printf %s {item}"});
  for (const std::string& item : items) {
    Outcome o = RunItem(item);
    EXPECT_TRUE(o.ok) << o.reason;
    EXPECT_EQ(o.output, item);
  }
}

TEST_F(CommandHandlerTest, NulByteIsAFailedItemNotACrash) {
  Argv({"printf", "%s", "{item}"});
  Outcome o = RunItem(std::string("a\0b", 3));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("NUL"), std::string::npos) << o.reason;
}

TEST_F(CommandHandlerTest, ShellMode) {
  settings_.command.shell = true;
  Argv({"echo {index}:{item} | tr a-z A-Z; exit 4"});
  Outcome o = RunItem("abc; rm -rf /", 5);
  EXPECT_EQ(o.reason, "exit 4");
  EXPECT_EQ(o.output, "5:ABC; RM -RF /\n");
}

TEST_F(CommandHandlerTest, EmptyArgvRunsItemAsCommandLine) {
  Argv({});
  Outcome o = RunItem("echo one; echo two >&2; exit 0");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "one\n");
  EXPECT_EQ(o.stderr_tail, "two\n");
  o = RunItem("exit 7");
  EXPECT_EQ(o.reason, "exit 7");
}

TEST_F(CommandHandlerTest, EnvAndCwd) {
  settings_.command.env = {{"SHOAL_TEST_VAR", "v a l"}, {"HOME", "/nowhere"}};
  settings_.command.cwd = run_;
  Argv({"sh", "-c", "printf '%s|%s|' \"$SHOAL_TEST_VAR\" \"$HOME\"; pwd"});
  Outcome o = RunItem("x");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "v a l|/nowhere|" + run_ + "\n");
}

TEST_F(CommandHandlerTest, CwdWithPlaceholdersIsPerItem) {
  settings_.input.path = run_ + "/in";
  fs::create_directories(run_ + "/in/a/b");
  settings_.command.cwd = "{dir}";
  Argv({"pwd"});
  Outcome o = RunTreeItem("a/b/f.txt");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, run_ + "/in/a/b\n");
  // A directory that is missing fails only its item.
  o = RunTreeItem("missing/f.txt");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("command.cwd " + run_ + "/in/missing"), std::string::npos) << o.reason;
  settings_.command.cwd = "{nope}";
  HandlerContext context{settings_, InputKind::kTree, run_, 1};
  EXPECT_FALSE(MakeCommandHandler(context).ok());
}

TEST_F(CommandHandlerTest, PathFromEnvIsSearched) {
  fs::create_directory(run_ + "/bin");
  std::string tool = run_ + "/bin/shoal-test-tool";
  std::ofstream(tool) << "#!/bin/sh\necho tool \"$1\"\n";
  ::chmod(tool.c_str(), 0755);
  settings_.command.env = {{"PATH", run_ + "/bin:/usr/bin:/bin"}};
  Argv({"shoal-test-tool", "{item}"});
  Outcome o = RunItem("x y");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "tool x y\n");
}

TEST_F(CommandHandlerTest, ChildSignalStateIsClean) {
  // Even if the worker blocks or ignores signals, the child starts clean.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ignore {
  }, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  // Prints: blocked mask, ignored mask, pgid, pid.
  Argv({"sh", "-c",
        "sed -n 's/^SigBlk:\\t//p; s/^SigIgn:\\t//p' /proc/self/status; "
        "read -r pid comm state ppid pgid rest < /proc/$$/stat; echo $pgid $$"});
  Outcome o = RunItem("x");
  sigaction(SIGPIPE, &old_pipe, nullptr);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(o.ok) << o.reason << o.stderr_tail;
  std::istringstream words(o.output);
  std::string blocked, ignored, pgid, pid;
  words >> blocked >> ignored >> pgid >> pid;
  EXPECT_EQ(std::stoull(blocked, nullptr, 16), 0u) << o.output;
  EXPECT_EQ(std::stoull(ignored, nullptr, 16) & (1ull << (SIGPIPE - 1)), 0u) << o.output;
  EXPECT_EQ(pgid, pid) << "own process group";
}

TEST_F(CommandHandlerTest, StdinIsDevNull) {
  Argv({"sh", "-c", "cat; echo done"});
  Outcome o = RunItem("x");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.output, "done\n");
}

TEST_F(CommandHandlerTest, SmallOutputStaysInline) {
  Argv({"head", "-c", std::to_string(kInlineOutput), "/dev/zero"});
  Outcome o = RunItem("x");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.output.size(), kInlineOutput);
  EXPECT_EQ(o.output_file, "");
}

// output.print = "line": whole lines as they come, the unfinished last one
// at the end; the outcome keeps all of stdout as always.
TEST_F(CommandHandlerTest, LineModeForwardsWholeLines) {
  settings_.output.print = PrintMode::kLine;
  Argv({"sh", "-c", "printf 'a\\nb'; printf 'c\\nd' >&2; printf 'e\\nf'"});
  Outcome o = RunItem("x");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "a\nbe\nf");
  std::string out, err;
  for (const auto& [stream, bytes] : log_.pieces) {
    (stream == kStdoutStream ? out : err) += bytes;
    // Only the last piece of each stream may end without a line end.
    if (bytes != "d" && bytes != "f") {
      EXPECT_EQ(bytes.back(), '\n') << "not whole: " << bytes;
    }
  }
  EXPECT_EQ(out, "a\nbe\nf");
  EXPECT_EQ(err, "c\nd");
  // In input order too (the master holds them until the item's turn), and
  // stderr is forwarded, not kept whole in a file.
  log_.pieces.clear();
  settings_.output.order = OutputOrder::kInput;
  o = RunItem("x");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.stderr_file, "");
  out.clear();
  for (const auto& [stream, bytes] : log_.pieces) {
    if (stream == kStdoutStream) out += bytes;
  }
  EXPECT_EQ(out, "a\nbe\nf");
  // "ungroup" in input order prints whole at the item's turn, as "group".
  log_.pieces.clear();
  settings_.output.print = PrintMode::kUngroup;
  EXPECT_TRUE(RunItem("x").ok);
  EXPECT_TRUE(log_.pieces.empty());
}

TEST_F(CommandHandlerTest, LineModeCutsOnlyOverlongLines) {
  settings_.output.print = PrintMode::kLine;
  const std::string n = std::to_string(kOutputPiece * 2 + 10);
  Argv({"sh", "-c", "head -c " + n + " /dev/zero | tr '\\0' x; echo; echo short"});
  Outcome o = RunItem("x");
  ASSERT_TRUE(o.ok) << o.reason;
  size_t total = 0;
  for (const auto& [stream, bytes] : log_.pieces) {
    EXPECT_LE(bytes.size(), kOutputPiece);
    total += bytes.size();
  }
  EXPECT_EQ(total, kOutputPiece * 2 + 10 + 1 + 6);
  EXPECT_EQ(log_.pieces.back().second.substr(log_.pieces.back().second.size() - 6), "short\n");
}

// output.print: a stderr longer than its tail is kept whole in a file for
// printing; the tail is what it always was.
TEST_F(CommandHandlerTest, PrintedStderrSpillsPastTheTail) {
  settings_.output.print = PrintMode::kGroup;
  Argv({"sh", "-c", "head -c 10000 /dev/zero | tr '\\0' e >&2"});
  Outcome o = RunItem("x", 7);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.stderr_file, "spill/7.stderr");
  EXPECT_EQ(RunFile("spill/7.stderr"), std::string(10000, 'e'));
  EXPECT_EQ(o.stderr_tail.size(), kStderrTail);
  Argv({"sh", "-c", "echo short >&2"});
  o = RunItem("y", 8);
  EXPECT_EQ(o.stderr_file, "");
  EXPECT_EQ(o.stderr_tail, "short\n");
  EXPECT_FALSE(fs::exists(run_ + "/spill/8.stderr"));
  // Without output.print, nothing is spilled.
  settings_.output.print = PrintMode::kNone;
  Argv({"sh", "-c", "head -c 10000 /dev/zero >&2"});
  o = RunItem("z", 9);
  EXPECT_EQ(o.stderr_file, "");
  EXPECT_FALSE(fs::exists(run_ + "/spill/9.stderr"));
}

TEST_F(CommandHandlerTest, HundredMegabytesSpillToAFile) {
  constexpr uint64_t kSize = 100ull << 20;
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  Argv({"head", "-c", std::to_string(kSize), "/dev/zero"});
  Outcome o = RunItem("x", 42);
  struct rusage after {};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "");
  EXPECT_EQ(o.output_file, "spill/42.stdout");
  EXPECT_EQ(fs::file_size(run_ + "/spill/42.stdout"), kSize);
  // Peak RSS grew by far less than the output (ru_maxrss is in KiB).
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 16 * 1024);
}

TEST_F(CommandHandlerTest, StdoutToFileInsideRun) {
  settings_.command.stdout_mode = StdoutMode::kFile;
  settings_.command.stdout_path = "{out}/{name}.txt";
  Argv({"printf", "%s", "{item}"});
  Outcome o = RunItem("../../sub/a.bin");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output_file, "out/sub/a.bin.txt");
  std::ifstream in(run_ + "/out/sub/a.bin.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "../../sub/a.bin");

  settings_.command.stdout_path = "/tmp/{name}.escape";
  o = RunItem("a");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("not inside"), std::string::npos) << o.reason;
  EXPECT_FALSE(fs::exists("/tmp/a.escape"));
}

// command.stdout = "file" with the default stdout_path "{out}/{name}.out":
// each tree item's stdout lands beside its mirror under {run}/out.
TEST_F(CommandHandlerTest, StdoutFileDefaultPathMirrorsTheTree) {
  settings_.input.path = run_ + "/in";
  settings_.command.stdout_mode = StdoutMode::kFile;
  ASSERT_EQ(settings_.command.stdout_path, "{out}/{name}.out");
  Argv({"printf", "%s|%s", "{rel}", "{name}"});
  const std::vector<std::string> rels = {"z.txt", "a/y.txt", "a/b/x.txt", "a/b/it's here"};
  uint64_t index = 0;
  for (const std::string& rel : rels) {
    Outcome o = RunTreeItem(rel, ++index);
    ASSERT_TRUE(o.ok) << rel << ": " << o.reason;
    EXPECT_EQ(o.output, "");
    EXPECT_EQ(o.output_file, "out/" + rel + ".out");
    std::string name = fs::path(rel).filename().string();
    EXPECT_EQ(RunFile("out/" + rel + ".out"), rel + "|" + name);
  }
}

// A file at the stdout path means the item succeeded: the output is written
// under a hidden temporary name and renamed only on success; a failed item
// (exit != 0, signal, timeout) leaves neither the file nor the temporary.
TEST_F(CommandHandlerTest, StdoutFileAppearsOnlyWhenTheItemSucceeds) {
  settings_.command.stdout_mode = StdoutMode::kFile;
  settings_.command.stdout_path = "{out}/{item}.txt";
  Argv({"sh", "-c", "echo item $0; exit $(( $0 % 2 ))", "{item}"});
  for (uint64_t i = 1; i <= 6; ++i) {
    const std::string item = std::to_string(i);
    Outcome o = RunItem(item, i);
    if (i % 2 == 0) {
      ASSERT_TRUE(o.ok) << item << ": " << o.reason;
      EXPECT_EQ(o.output_file, "out/" + item + ".txt");
      EXPECT_EQ(RunFile(o.output_file), "item " + item + "\n");
    } else {
      EXPECT_EQ(o.reason, "exit 1");
      EXPECT_EQ(o.output_file, "");
      EXPECT_FALSE(fs::exists(run_ + "/out/" + item + ".txt")) << item;
    }
  }

  Argv({"sh", "-c", "echo partial; kill -9 $$"});
  Outcome o = RunItem("signal", 7);
  EXPECT_EQ(o.reason, "signal 9");
  settings_.job.timeout = Millis(200);
  Argv({"sh", "-c", "echo partial; exec sleep 5"});
  o = RunItem("timeout", 8);
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.output_file, "");

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run_ + "/out")) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"2.txt", "4.txt", "6.txt"}));
}

const std::regex& IsoTime() {
  static const std::regex re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  return re;
}

// The value of "key: value" in an item log ("" when absent).
std::string LogField(const std::string& log, const std::string& key) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "";
}

TEST_F(CommandHandlerTest, ItemLogHoldsCommandTimesStatusAndOutput) {
  settings_.output.item_logs = true;
  // out2 only once err1 is in the log: the streams alternate in it.
  const std::string script = "echo out1; echo err1 >&2; until grep -qx err1 " + run_ +
                             "/logs/5.log; do sleep 0.01; done; echo out2; exit 3";
  Argv({"sh", "-c", script, "it's {item}"});
  Outcome o = RunItem("a b", 5);
  EXPECT_EQ(o.reason, "exit 3");
  EXPECT_EQ(o.output, "out1\nout2\n") << "stdout still goes to the record";
  EXPECT_EQ(o.stderr_tail, "err1\n");

  std::string log = RunFile("logs/5.log");
  EXPECT_EQ(LogField(log, "command"), "sh -c '" + script + "' 'it'\\''s a b'") << log;
  EXPECT_EQ(LogField(log, "item"), "'a b'");
  EXPECT_EQ(LogField(log, "index"), "5");
  EXPECT_TRUE(std::regex_match(LogField(log, "start"), IsoTime())) << log;
  EXPECT_TRUE(std::regex_match(LogField(log, "end"), IsoTime())) << log;
  EXPECT_LE(LogField(log, "start"), LogField(log, "end"));
  EXPECT_EQ(LogField(log, "exit"), "3");
  EXPECT_EQ(LogField(log, "status"), "failed: exit 3");
  // Every line of both streams, each under its stream's marker, in order.
  size_t out1 = log.find("--- stdout ---\nout1\n");
  size_t err1 = log.find("--- stderr ---\nerr1\n");
  size_t out2 = log.find("--- stdout ---\nout2\n");
  EXPECT_NE(out1, std::string::npos) << log;
  EXPECT_NE(err1, std::string::npos) << log;
  EXPECT_NE(out2, std::string::npos) << log;
  EXPECT_LT(out1, out2);
  EXPECT_LT(log.find("start: "), out1);
  EXPECT_LT(out2, log.find("end: "));
}

TEST_F(CommandHandlerTest, ItemLogOfATreeItemMirrorsItsPath) {
  settings_.input.path = run_ + "/in";
  settings_.output.item_logs = true;
  Argv({"echo", "{rel}"});
  Outcome o = RunTreeItem("d1/sub/f.txt", 9);
  ASSERT_TRUE(o.ok) << o.reason;
  std::string log = RunFile("logs/d1/sub/f.txt.log");
  EXPECT_EQ(LogField(log, "command"), "echo d1/sub/f.txt");
  EXPECT_EQ(LogField(log, "exit"), "0");
  EXPECT_EQ(LogField(log, "status"), "ok");
  EXPECT_NE(log.find("--- stdout ---\nd1/sub/f.txt\n"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(run_ + "/logs/9.log"));
}

TEST_F(CommandHandlerTest, ItemLogNeverSplitsALine) {
  // stdout writes half a line, stderr a whole one, then (once that one is in
  // the log) stdout ends its line.
  settings_.output.item_logs = true;
  Argv({"sh", "-c",
        "printf abc; echo E1 >&2; until grep -qx E1 " + run_ +
            "/logs/2.log; do sleep 0.01; done; echo def; printf tail"});
  Outcome o = RunItem("x", 2);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "abcdef\ntail");
  std::string log = RunFile("logs/2.log");
  EXPECT_NE(log.find("--- stderr ---\nE1\n--- stdout ---\nabcdef\ntail\n--- end ---\n"),
            std::string::npos)
      << log;
}

TEST_F(CommandHandlerTest, ItemLogOfACommandThatCannotStart) {
  settings_.output.item_logs = true;
  Argv({"shoal-no-such-program-xyz", "{item}"});
  Outcome o = RunItem("x", 3);
  EXPECT_EQ(o.reason, "not found: shoal-no-such-program-xyz");
  std::string log = RunFile("logs/3.log");
  EXPECT_EQ(LogField(log, "command"), "shoal-no-such-program-xyz x");
  EXPECT_EQ(LogField(log, "status"), "failed: not found: shoal-no-such-program-xyz");
  EXPECT_EQ(LogField(log, "exit"), "");
}

TEST_F(CommandHandlerTest, ItemLogOfACommandThatCannotBeBuilt) {
  settings_.output.item_logs = true;
  Argv({"printf", "%s", "{item}"});
  Outcome o = RunItem(std::string("a\0b", 3), 11);
  EXPECT_FALSE(o.ok);
  std::string log = RunFile("logs/11.log");
  EXPECT_EQ(LogField(log, "command"), "(none)") << log;
  EXPECT_EQ(LogField(log, "index"), "11");
  EXPECT_NE(LogField(log, "status").find("NUL"), std::string::npos) << log;
}

TEST_F(CommandHandlerTest, ItemLogHoldsShoalsNotesAfterTheOutput) {
  settings_.output.item_logs = true;
  Argv({"sh", "-c", "sleep 100 & printf started"});
  Outcome o = RunItem("x", 12);
  EXPECT_TRUE(o.ok) << o.reason;
  std::string log = RunFile("logs/12.log");
  EXPECT_NE(log.find("--- stdout ---\nstarted\nshoal: ended processes that still held its output"),
            std::string::npos)
      << log;
}

TEST_F(CommandHandlerTest, ItemLogRecordsATimeout) {
  settings_.output.item_logs = true;
  settings_.job.timeout = Millis(200);
  Argv({"sh", "-c", "echo started; exec sleep 100"});
  Outcome o = RunItem("x", 4);
  EXPECT_EQ(o.reason, "timeout");
  std::string log = RunFile("logs/4.log");
  EXPECT_NE(log.find("started\n"), std::string::npos) << log;
  EXPECT_EQ(LogField(log, "signal"), "15");
  EXPECT_EQ(LogField(log, "status"), "failed: timeout");
}

// stdout = "file" keeps stdout in its own file; the log says where, and holds stderr.
TEST_F(CommandHandlerTest, ItemLogWithStdoutFile) {
  settings_.output.item_logs = true;
  settings_.command.stdout_mode = StdoutMode::kFile;
  Argv({"sh", "-c", "echo payload; echo note >&2"});
  Outcome o = RunItem("f", 6);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(RunFile("out/f.out"), "payload\n");
  std::string log = RunFile("logs/6.log");
  EXPECT_EQ(LogField(log, "stdout"), "in out/f.out");
  EXPECT_EQ(log.find("\npayload\n"), std::string::npos) << log;
  EXPECT_NE(log.find("--- stderr ---\nnote\n"), std::string::npos) << log;
}

// Fifty megabytes of stdout (discarded from the records, kept in the log) and
// of one endless line on stderr stream through with bounded memory.
TEST_F(CommandHandlerTest, ItemLogStreamsLargeOutput) {
  constexpr uint64_t kSize = 50ull << 20;
  settings_.output.item_logs = true;
  settings_.command.stdout_mode = StdoutMode::kDiscard;
  const std::string n = std::to_string(kSize);
  Argv({"sh", "-c", "head -c " + n + " /dev/zero | tr '\\0' '\\121' >&2; yes line | head -c " + n});
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  Outcome o = RunItem("x", 7);
  struct rusage after {};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "");
  EXPECT_EQ(o.output_file, "");
  EXPECT_LE(o.stderr_tail.size(), kStderrTail);
  EXPECT_GT(fs::file_size(run_ + "/logs/7.log"), 2 * kSize);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 16 * 1024);  // KiB
  std::string log = RunFile("logs/7.log");
  EXPECT_EQ(std::count(log.begin(), log.end(), 'Q'), static_cast<ptrdiff_t>(kSize))
      << "every byte of stderr (Q, written as \\121 in the command)";
  EXPECT_EQ(LogField(log, "status"), "ok");
}

// A log that cannot be made inside the run fails the item before it runs.
TEST_F(CommandHandlerTest, ItemLogRefusesASymlinkOutOfTheRun) {
  settings_.output.item_logs = true;
  std::string outside = run_ + "-outside";
  fs::create_directory(outside);
  fs::create_directory_symlink(outside, run_ + "/logs");
  std::string marker = run_ + "/ran";
  Argv({"touch", marker});
  Outcome o = RunItem("x", 8);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason.rfind("item log: ", 0), 0u) << o.reason;
  EXPECT_FALSE(fs::exists(marker)) << "the command ran";
  EXPECT_TRUE(fs::is_empty(outside));
  fs::remove_all(outside);
}

TEST_F(CommandHandlerTest, DiscardMode) {
  settings_.command.stdout_mode = StdoutMode::kDiscard;
  Argv({"head", "-c", "1000000", "/dev/zero"});
  Outcome o = RunItem("x");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.output, "");
  EXPECT_EQ(o.output_file, "");
}

TEST_F(CommandHandlerTest, StderrTailKeepsLastWholeLines) {
  Argv({"sh", "-c",
        "i=0; while [ $i -lt 3000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 1"});
  Outcome o = RunItem("x");
  EXPECT_EQ(o.reason, "exit 1");
  EXPECT_LE(o.stderr_tail.size(), kStderrTail);
  EXPECT_GT(o.stderr_tail.size(), kStderrTail / 2);
  EXPECT_EQ(o.stderr_tail.rfind("line ", 0), 0u) << o.stderr_tail.substr(0, 20);
  EXPECT_TRUE(o.stderr_tail.ends_with("line 2999\n"));
}

// A sleep of 100 s that ends on SIGTERM, failed as "timeout": the timeout
// ended it, not its own end. Its process group is gone with it.
TEST_F(CommandHandlerTest, TimeoutKillsSleep) {
  settings_.job.timeout = Millis(300);
  std::string pidfile = run_ + "/sleep.pid";
  Argv({"sh", "-c", "echo $$ > " + pidfile + "; exec sleep 100"});
  Outcome o = RunItem("x");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.signal, SIGTERM);
  pid_t pid = PidIn(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return GroupGone(pid); }, seconds(10)));
}

// SIGTERM first, SIGKILL only for a group still there after it. The shell
// notes the TERM it survives in `trace`, then "alive" on every round after:
// the trace shows that the SIGKILL that ended it came after the SIGTERM and
// not with it. Its background child ignores TERM too and goes with the group.
TEST_F(CommandHandlerTest, TimeoutKillsGroupThatIgnoresTerm) {
  settings_.job.timeout = Millis(300);
  std::string pidfile = run_ + "/bg.pid";
  std::string trace = run_ + "/trace";
  Argv({"sh", "-c",
        "trap '' TERM; sleep 100 & echo $! > " + pidfile + "; trap 'echo TERM >> " + trace +
            "' TERM; while :; do if [ -s " + trace + " ]; then echo alive >> " + trace +
            "; fi; sleep 0.05; done"});
  Outcome o = RunItem("x");
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.signal, SIGKILL);
  std::string traced = RunFile("trace");
  EXPECT_EQ(traced.rfind("TERM\nalive\n", 0), 0u) << traced;
  EXPECT_EQ(traced.find("TERM", 1), std::string::npos) << "one SIGTERM only: " << traced;
  pid_t bg = PidIn(pidfile);
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(bg); }, seconds(10)));
}

TEST_F(CommandHandlerTest, GrandchildHoldingPipeDoesNotHang) {
  // No timeout: the command exits at once, its background child keeps stdout.
  // The note in the log says the handler ended the leftover itself rather
  // than waiting for it to close the pipe.
  std::string pidfile = run_ + "/bg.pid";
  Argv({"sh", "-c", "sleep 100 & echo $! > " + pidfile + "; echo started"});
  Outcome o = RunItem("x");
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "started\n");
  ASSERT_EQ(log_.lines.size(), 1u);
  EXPECT_NE(log_.lines[0].find("ended processes that still held its output"), std::string::npos)
      << log_.lines[0];
  pid_t bg = PidIn(pidfile);
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(bg); }, seconds(10)));
}

TEST_F(CommandHandlerTest, ClosedPipesStillHonourTimeout) {
  settings_.job.timeout = Millis(300);
  Argv({"sh", "-c", "exec >&- 2>&-; exec sleep 100"});
  Outcome o = RunItem("x");
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.signal, SIGTERM) << "a sleep of 100 s ended by the timeout's SIGTERM";
}

TEST_F(CommandHandlerTest, StopFdInterrupts) {
  int stop = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(stop, 0);
  // Stop is signalled once the command runs (it says so in a file): it is
  // the running command that is interrupted.
  std::string started = run_ + "/started";
  Argv({"sh", "-c", "touch " + started + "; exec sleep 100"});
  std::thread trigger([stop, started] {
    EXPECT_TRUE(WaitFor([&] { return fs::exists(started); }, seconds(30)));
    uint64_t one = 1;
    EXPECT_EQ(::write(stop, &one, sizeof one), 8);
  });
  Outcome o = RunItem("x", 1, stop);
  trigger.join();
  EXPECT_EQ(o.reason, "interrupted");
  EXPECT_TRUE(fs::exists(started));
  // Once stop is readable, no new child is started.
  o = RunItem("x", 2, stop);
  EXPECT_EQ(o.reason, "interrupted");
  ::close(stop);
}

TEST_F(CommandHandlerTest, ManyItemsOneHandler) {
  // Reusing one handler must not leak fds or children.
  Argv({"true"});
  HandlerContext context{settings_, InputKind::kList, run_, 1};
  Result<std::unique_ptr<Handler>> handler = MakeCommandHandler(context);
  ASSERT_TRUE(handler.ok());
  auto count_fds = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  auto fds_before = count_fds();
  for (int i = 1; i <= 200; ++i) {
    ItemPaths paths = MakeItemPaths(settings_, InputKind::kList, "x", i, 1, run_);
    ASSERT_TRUE((*handler)->Run(paths, log_).ok);
  }
  EXPECT_EQ(count_fds(), fds_before);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // ECHILD: everything reaped
}

}  // namespace
}  // namespace shoal
