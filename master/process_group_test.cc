#include "master/process_group.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

using std::chrono::seconds;

// A child of the test process that runs `sleep 100`, in a process group of
// its own when `own_group` (set on both sides of the fork, so that it holds
// before this returns).
pid_t StartSleeper(bool own_group) {
  pid_t pid = test::ForkChild([own_group] {
    if (own_group) ::setpgid(0, 0);
    ::execlp("sleep", "sleep", "100", static_cast<char*>(nullptr));
    return 127;
  });
  if (own_group) ::setpgid(pid, pid);
  return pid;
}

// Alive until now: it exists, and a SIGTERM sent now is what ends it. A
// SIGKILL sent earlier, even one not yet acted on, would have ended it first.
bool AliveUntilTerminated(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  ::kill(pid, SIGTERM);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
}

TEST(ProcStatTest, CommandNamesWithSpacesAndParentheses) {
  auto plain = ParseProcStat("4242 (sleep) S 17 4242 4242 0 -1 4194560 100 0");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->state, 'S');
  EXPECT_EQ(plain->ppid, 17);
  EXPECT_EQ(plain->pgrp, 4242);

  auto awkward = ParseProcStat("77 (a) b) 9 9 (c) Z 5 6 7 0");
  ASSERT_TRUE(awkward.has_value());
  EXPECT_EQ(awkward->state, 'Z');
  EXPECT_EQ(awkward->ppid, 5);
  EXPECT_EQ(awkward->pgrp, 6);
}

TEST(ProcStatTest, MalformedTextIsRefused) {
  for (const char* text :
       {"", "4242", "4242 (sleep", "4242 (sleep)", "4242 (sleep) S", "4242 (sleep) S 17",
        "4242 (sleep) S x 4242", "4242 (sleep)S 17 4242", "4242 sleep) S 17 4242"}) {
    EXPECT_FALSE(ParseProcStat(text).has_value()) << text;
  }
}

TEST(ProcessGroupTest, SignalsAGroupLedByAChildOfTheWorker) {
  pid_t child = StartSleeper(/*own_group=*/true);
  // The test process plays the worker: it is the sleeper's parent.
  EXPECT_TRUE(SignalChildGroup(::getpid(), child, SIGTERM));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
}

// A leader that exited but is not reaped yet still names its group; what it
// left behind in the group is reached.
TEST(ProcessGroupTest, SignalsTheGroupOfAZombieLeader) {
  std::string pidfile =
      std::filesystem::temp_directory_path() / ("shoal-pg-" + std::to_string(::getpid()) + ".pid");
  pid_t leader = test::ForkChild([&pidfile] {
    ::setpgid(0, 0);
    std::string script = "sleep 100 & echo $! > '" + pidfile + "'";
    ::execlp("sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  ::setpgid(leader, leader);
  siginfo_t info{};
  // WNOWAIT: see the exit, leave the zombie.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(leader), &info, WEXITED | WNOWAIT), 0);
  pid_t grandchild = 0;
  ASSERT_TRUE(test::WaitFor([&] { return !test::ReadFile(pidfile).empty(); }, seconds(10)));
  grandchild = std::stoi(test::ReadFile(pidfile));
  std::filesystem::remove(pidfile);
  ASSERT_GT(grandchild, 1);
  ASSERT_EQ(::getpgid(grandchild), leader);

  EXPECT_TRUE(SignalChildGroup(::getpid(), leader, SIGKILL));
  EXPECT_TRUE(test::WaitFor([&] { return test::ProcessGone(grandchild); }, seconds(10)));
  ::kill(grandchild, SIGKILL);  // in case it was not reached
  ::waitpid(leader, nullptr, 0);
}

TEST(ProcessGroupTest, RefusesGroupsThatCannotBeACommands) {
  const pid_t self = ::getpid();
  // Signal 0 sends nothing: a wrong answer here harms no one.
  for (int32_t pgid :
       {1, 0, -1, -5, static_cast<int32_t>(::getpgrp()), static_cast<int32_t>(self)}) {
    EXPECT_FALSE(SignalChildGroup(self, pgid, 0)) << "pgid " << pgid;
  }
  EXPECT_FALSE(SignalChildGroup(1, 1, 0));
  EXPECT_FALSE(SignalChildGroup(0, 1, 0));
}

TEST(ProcessGroupTest, RefusesAPidThatDoesNotExist) {
  pid_t child = StartSleeper(/*own_group=*/true);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(SignalChildGroup(::getpid(), child, SIGKILL));
}

TEST(ProcessGroupTest, RefusesAProcessThatDoesNotLeadItsGroup) {
  pid_t child = StartSleeper(/*own_group=*/false);  // in our process group
  EXPECT_FALSE(SignalChildGroup(::getpid(), child, SIGKILL));
  EXPECT_TRUE(AliveUntilTerminated(child));
}

// A child that founded a group and then moved into ours: its pid still names
// a group (its own child is left in it) that it no longer leads.
TEST(ProcessGroupTest, RefusesAProcessThatLeftTheGroupItFounded) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t our_group = ::getpgrp();
  pid_t founder = test::ForkChild([&] {
    ::setpgid(0, 0);
    pid_t left_behind = test::ForkChild([] {
      ::execlp("sleep", "sleep", "100", static_cast<char*>(nullptr));
      return 127;
    });
    if (::setpgid(0, our_group) != 0) return 1;
    if (::write(pipe_fds[1], &left_behind, sizeof left_behind) != sizeof left_behind) return 2;
    ::execlp("sleep", "sleep", "100", static_cast<char*>(nullptr));
    return 127;
  });
  ::close(pipe_fds[1]);
  pid_t left_behind = 0;
  ASSERT_EQ(::read(pipe_fds[0], &left_behind, sizeof left_behind), sizeof left_behind);
  ::close(pipe_fds[0]);
  ASSERT_EQ(::getpgid(founder), our_group);
  ASSERT_EQ(::getpgid(left_behind), founder);

  EXPECT_FALSE(SignalChildGroup(::getpid(), founder, SIGKILL));
  EXPECT_EQ(::getpgid(left_behind), founder) << "the process left in the group is gone";
  ::kill(left_behind, SIGKILL);
  EXPECT_TRUE(AliveUntilTerminated(founder));
}

TEST(ProcessGroupTest, RefusesAGroupLedByAChildOfAnotherProcess) {
  pid_t child = StartSleeper(/*own_group=*/true);
  pid_t other = StartSleeper(/*own_group=*/true);
  // Neither is the other's parent, and our parent is not theirs.
  EXPECT_FALSE(SignalChildGroup(other, child, SIGKILL));
  EXPECT_FALSE(SignalChildGroup(::getppid(), child, SIGKILL));
  EXPECT_TRUE(AliveUntilTerminated(child));
  EXPECT_TRUE(AliveUntilTerminated(other));
}

}  // namespace
}  // namespace shoal
