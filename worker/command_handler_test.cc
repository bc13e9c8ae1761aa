#include "worker/command_handler.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace shoal {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration;
using std::chrono::steady_clock;

class CollectingLog : public LogSink {
 public:
  void Log(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
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
    HandlerContext context{settings_, InputKind::kList, run_, 1};
    context.stop_fd = stop_fd;
    Result<std::unique_ptr<Handler>> handler = MakeCommandHandler(context);
    EXPECT_TRUE(handler.ok()) << handler.status().message();
    if (!handler.ok()) return Outcome();
    ItemPaths paths = MakeItemPaths(settings_, InputKind::kList, item, index, 1, run_);
    return (*handler)->Run(paths, log_);
  }

  void Argv(std::vector<std::string> argv) { settings_.command.argv = std::move(argv); }

  Settings settings_;
  std::string run_;
  CollectingLog log_;
};

double SecondsSince(steady_clock::time_point start) {
  return duration<double>(steady_clock::now() - start).count();
}

// A process is gone when it no longer exists or is a zombie nobody reaped yet
// (pid 1 in a container may not reap).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
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

TEST_F(CommandHandlerTest, TimeoutKillsSleep) {
  settings_.job.timeout = Millis(300);
  Argv({"sleep", "100"});
  auto start = steady_clock::now();
  Outcome o = RunItem("x");
  EXPECT_LT(SecondsSince(start), 3.0);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.signal, SIGTERM);
}

TEST_F(CommandHandlerTest, TimeoutKillsGroupThatIgnoresTerm) {
  settings_.job.timeout = Millis(300);
  std::string pidfile = run_ + "/bg.pid";
  Argv({"sh", "-c", "trap '' TERM; sleep 100 & echo $! > " + pidfile + "; sleep 100"});
  auto start = steady_clock::now();
  Outcome o = RunItem("x");
  double took = SecondsSince(start);
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_EQ(o.signal, SIGKILL);
  EXPECT_GT(took, 2.0);  // SIGTERM was ignored; SIGKILL came after the grace
  EXPECT_LT(took, 6.0);
  pid_t bg = 0;
  std::ifstream(pidfile) >> bg;
  ASSERT_GT(bg, 0);
  for (int i = 0; i < 100 && !ProcessGone(bg); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(ProcessGone(bg));
}

TEST_F(CommandHandlerTest, GrandchildHoldingPipeDoesNotHang) {
  // No timeout: the command exits at once, its background child keeps stdout.
  Argv({"sh", "-c", "sleep 100 & echo started"});
  auto start = steady_clock::now();
  Outcome o = RunItem("x");
  double took = SecondsSince(start);
  EXPECT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "started\n");
  EXPECT_LT(took, 6.0);
  ASSERT_EQ(log_.lines.size(), 1u);
  EXPECT_NE(log_.lines[0].find("still held its output"), std::string::npos) << log_.lines[0];
}

TEST_F(CommandHandlerTest, ClosedPipesStillHonourTimeout) {
  settings_.job.timeout = Millis(300);
  Argv({"sh", "-c", "exec >&- 2>&-; sleep 100"});
  auto start = steady_clock::now();
  Outcome o = RunItem("x");
  EXPECT_EQ(o.reason, "timeout");
  EXPECT_LT(SecondsSince(start), 3.0);
}

TEST_F(CommandHandlerTest, StopFdInterrupts) {
  int stop = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(stop, 0);
  Argv({"sleep", "100"});
  std::thread trigger([stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    uint64_t one = 1;
    ASSERT_EQ(::write(stop, &one, sizeof one), 8);
  });
  auto start = steady_clock::now();
  Outcome o = RunItem("x", 1, stop);
  trigger.join();
  EXPECT_EQ(o.reason, "interrupted");
  EXPECT_LT(SecondsSince(start), 3.0);
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
