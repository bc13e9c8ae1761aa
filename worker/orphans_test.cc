// EndOrphans in a forked child of the test (it reaps every child of its
// process, so not in the test process itself, whose other children are not
// its business).
#include "worker/orphans.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

// In a subreaper: a child that starts a grandchild in a session of its own
// (setsid, as a daemon does) and exits, and a child that just sleeps.
int OrphansAreEndedAndReaped() {
  if (!BecomeSubreaper()) return 10;
  int ready[2];
  if (::pipe(ready) != 0) return 11;
  pid_t parent = ::fork();
  if (parent == 0) {
    if (::fork() == 0) {
      ::setsid();
      ::close(ready[1]);  // the daemon runs: tell the test
      ::pause();
      ::_exit(0);
    }
    ::_exit(0);  // the daemon is re-parented to the subreaper
  }
  if (::fork() == 0) {
    ::close(ready[1]);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  if (::read(ready[0], &c, 1) != 0) return 12;  // EOF once the daemon closed its end
  // The parent that exited, the daemon and the sleeper.
  if (EndOrphans() != 3) return 13;
  if (::waitpid(-1, nullptr, WNOHANG) != -1 || errno != ECHILD) return 14;
  if (EndOrphans() != 0) return 15;  // nothing left: nothing to do
  return 0;
}

TEST(OrphansTest, EveryChildAndWhatItLeftIsEndedAndReaped) {
  pid_t pid = test::ForkChild(OrphansAreEndedAndReaped);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed: see OrphansAreEndedAndReaped";
}

}  // namespace
}  // namespace shoal
