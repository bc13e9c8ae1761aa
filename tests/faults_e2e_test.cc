// Faults from outside a run's own items, each once seen to break it: too
// little shared memory, a closed stderr, commands that leave their process
// group, a cwd that cannot be entered, a list cut short while it was read.
// Each runs the built shoal as a user would and checks that the run ends with
// a clear message and the exit status it promises, leaving nothing behind.

#include <sys/wait.h>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// The /dev/shm entries of segments made by the master with pid `pid`: names
// are "shoal-<pid>-<random>", so runs of other tests are not counted.
std::vector<std::string> SegmentsOf(pid_t pid) {
  std::vector<std::string> mine;
  for (const std::string& name : DevShmEntries()) {
    if (name.starts_with("shoal-" + std::to_string(pid) + "-")) mine.push_back(name);
  }
  return mine;
}

// Whether `pid` names a live process (a zombie counts as gone: it runs nothing).
bool Alive(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

class Faults : public E2e {
 protected:
  void WriteCommandJob(const std::string& input, const std::string& script,
                       const std::string& extra = "") {
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"faults\"\nworkers = 1\n\n"
              "[input]\npath = \"" +
                  input +
                  "\"\n\n"
                  "[queue]\nbatch = 1\n\n"
                  "[command]\nargv = [\"sh\", \"-c\", '''" +
                  script + "''', \"sh\", \"{item}\"]\n" + extra);
  }

  // `shoal run settings.toml -o runs -v` with stderr the write end of a pipe
  // whose read end is already closed; stdout to a file. Returns the exit
  // status (128 + signal) and the master's pid.
  int RunWithBrokenStderr(pid_t* master) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    ::close(fds[0]);
    std::vector<std::string> args = WithShoal({"run", "settings.toml", "-o", runs_.string(), "-v"});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string out = (dir_ / "broken-stderr.out").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // as a shell starts `shoal ... 2>&1 | head -1`
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) return -1;
    *master = pid;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

// A /dev/shm too small for the segment: before, the master died of SIGBUS
// while it touched the pages (exit 135), leaving the segment and a run
// directory. A tmpfs of 64 KiB is mounted over /dev/shm in a mount namespace
// of the run's own (unshare -m), so nothing else on the machine sees it.
TEST_F(Faults, TooLittleSharedMemoryIsAClearStartUpError) {
  WriteFile(dir_ / "list.txt", "a\n");
  WriteCommandJob("list.txt", "true");
  const std::string script =
      "mount -t tmpfs -o size=64k shoal-faults-test /dev/shm 2>/dev/null || exit 77\n"
      "\"$@\"; rc=$?\n"
      "ls -A /dev/shm > shm-left; exit $rc\n";
  ProcessResult r = Run({"unshare", "-m", "sh", "-c", script, "sh", SHOAL_BIN, "run",
                         "settings.toml", "-o", runs_.string()});
  if (r.status == 77 || r.err.find("unshare failed") != std::string::npos ||
      r.err.find("unshare:") != std::string::npos) {
    GTEST_SKIP() << "cannot mount a tmpfs in a mount namespace here: " << r.err;
  }
  EXPECT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("cannot create shared memory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size of /dev/shm"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir_ / "shm-left"), "") << "segment left behind in /dev/shm";
  EXPECT_TRUE(RunDirs().empty()) << "a run directory was left under " << runs_;
}

// `shoal run ... 2>&1 | head -1`: once head exits, every write to stderr
// fails. Before, SIGPIPE killed the master (exit 141): no "run ended" in
// log.txt, the segment left in /dev/shm.
TEST_F(Faults, ABrokenStderrDoesNotStopTheRun) {
  std::string list;
  std::vector<std::string> items;
  for (int i = 1; i <= 6; ++i) {
    items.push_back("item" + std::to_string(i));
    list += items.back() + "\n";
  }
  WriteFile(dir_ / "list.txt", list);
  // Each command says which signals it ignores: SIGPIPE must not be one,
  // though the master now ignores it.
  WriteCommandJob("list.txt", "sleep 0.05; grep SigIgn /proc/self/status");
  pid_t master = 0;
  int status = RunWithBrokenStderr(&master);
  ASSERT_EQ(status, 0) << "shoal with a broken stderr: exit status " << status;
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_TRUE(errors.empty());
  for (const Record& rec : results) {
    std::string out = rec.output.value_or("");
    ASSERT_TRUE(out.starts_with("SigIgn:")) << out;
    uint64_t ignored = std::stoull(out.substr(out.find_first_not_of(" \t", 7)), nullptr, 16);
    EXPECT_EQ(ignored & (uint64_t{1} << (SIGPIPE - 1)), 0u) << rec.item << ": " << out;
  }
  std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("run ended, exit status 0"), std::string::npos) << log;
  EXPECT_TRUE(SegmentsOf(master).empty()) << SegmentsOf(master)[0] << " left in /dev/shm";
}

// A command that starts a daemon (setsid: out of its process group, so the
// group kill misses it). Before, the daemon outlived its item and the run.
// Item "start" starts it and writes its pid; item "check", on the same worker
// after it, fails if the daemon still runs.
TEST_F(Faults, ADaemonStartedByACommandEndsWithItsItem) {
  const std::string pid_file = (dir_ / "daemon.pid").string();
  WriteFile(dir_ / "list.txt", "start\ncheck\n");
  // The daemon writes its own pid ($$ before exec), whether setsid forked or not.
  std::string script = R"(if [ "$1" = start ]; then
  setsid sh -c 'echo $$ > @PID@.tmp; mv @PID@.tmp @PID@; exec sleep 300' </dev/null >/dev/null 2>&1 &
  while [ ! -s @PID@ ]; do sleep 0.01; done
else
  state=$(cut -d')' -f2 /proc/$(cat @PID@)/stat 2>/dev/null | cut -c2)
  if [ -n "$state" ] && [ "$state" != Z ]; then echo "daemon alive" >&2; exit 1; fi
fi
)";
  for (size_t at; (at = script.find("@PID@")) != std::string::npos;) {
    script.replace(at, 5, pid_file);
  }
  WriteCommandJob("list.txt", script);
  fs::path run;
  std::vector<Record> results, errors;
  ProcessResult r = RunJob();
  std::string text = ReadFile(pid_file);
  pid_t daemon = text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
  bool alive_after_run = daemon > 0 && Alive(daemon);
  if (alive_after_run) ::kill(daemon, SIGKILL);  // not left to the machine
  ASSERT_GT(daemon, 0) << "no daemon pid in " << pid_file << "; " << Describe(r);
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_FALSE(alive_after_run) << "daemon " << daemon << " outlived the run";
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_TRUE(errors.empty()) << errors[0].item << ": " << errors[0].reason.value_or("");
  EXPECT_EQ(Items(results), (std::vector<std::string>{"check", "start"}));
}

// The same daemon, started by an item that then runs on, and the master
// killed outright (SIGKILL): its workers get SIGTERM (PDEATHSIG) and take the
// command's process group down, and now what the command left outside it.
TEST_F(Faults, ADaemonStartedByACommandEndsWithItsWorkerWhenTheMasterIsKilled) {
  const std::string pid_file = (dir_ / "daemon.pid").string();
  WriteFile(dir_ / "list.txt", "start\n");
  WriteCommandJob("list.txt", "setsid sh -c 'echo $$ > " + pid_file + ".tmp; mv " + pid_file +
                                  ".tmp " + pid_file +
                                  "; exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 300");
  Child master(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  pid_t daemon = 0;
  for (int i = 0; i < 1000 && daemon == 0; ++i) {
    std::string text = ReadFile(pid_file);
    if (!text.empty()) daemon = static_cast<pid_t>(std::stol(text));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(daemon, 0) << "no daemon pid in " << pid_file;
  ::kill(master.pid(), SIGKILL);
  master.Wait(seconds(10));
  bool alive = true;
  for (int i = 0; i < 500 && alive; ++i) {
    alive = Alive(daemon);
    if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (alive) ::kill(daemon, SIGKILL);  // not left to the machine
  EXPECT_FALSE(alive) << "daemon " << daemon << " outlived its worker";
}

// command.cwd fixed to a path that is not a directory: before, `shoal check`
// accepted it and the run failed as an internal error (exit 3) once its
// workers could not start. Now a bad setting: exit 2, nothing run.
TEST_F(Faults, AFixedCwdThatIsNoDirectoryIsRefusedBeforeAnythingRuns) {
  WriteFile(dir_ / "list.txt", "a\n");
  WriteFile(dir_ / "plain-file", "");
  for (const std::string& cwd : {std::string("/nonexistent"), (dir_ / "plain-file").string()}) {
    SCOPED_TRACE(cwd);
    WriteCommandJob("list.txt", "true", "cwd = \"" + cwd + "\"\n");
    ProcessResult check = Shoal({"check", "settings.toml"});
    EXPECT_EQ(check.status, 2) << Describe(check);
    EXPECT_NE(check.err.find("command.cwd \"" + cwd + "\""), std::string::npos) << check.err;
    ProcessResult r = RunJob();
    EXPECT_EQ(r.status, 2) << Describe(r);
    EXPECT_NE(r.err.find("command.cwd \"" + cwd + "\""), std::string::npos) << r.err;
    EXPECT_TRUE(RunDirs().empty()) << "a run directory was made under " << runs_;
  }
  // A cwd with placeholders is judged per item, as before.
  WriteCommandJob("list.txt", "true", "cwd = \"{dir}\"\n");
  ProcessResult check = Shoal({"check", "settings.toml"});
  EXPECT_EQ(check.status, 0) << Describe(check);
}

// The list file emptied while the run reads it (here by the first item's
// command, while the master holds the rest in its buffer): the run still
// runs what it read, but it did not see its whole input. Before, exit 0 and
// no word of it.
TEST_F(Faults, AListTruncatedWhileItIsReadWarnsAndFailsTheRun) {
  const std::string list = (dir_ / "list.txt").string();
  WriteFile(list, "a\nb\nc\n");
  WriteCommandJob("list.txt", "if [ \"$1\" = a ]; then : > " + list + "; sleep 0.2; fi");
  fs::path run;
  std::vector<Record> results, errors;
  ProcessResult r = RunJob();
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("was truncated while it was read"), std::string::npos) << r.err;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_EQ(Items(results), (std::vector<std::string>{"a", "b", "c"}));
  std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("input: '" + list + "' was truncated while it was read"), std::string::npos)
      << log;
  EXPECT_NE(log.find("run ended, exit status 1"), std::string::npos) << log;
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
