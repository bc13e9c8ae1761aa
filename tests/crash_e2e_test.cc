// Nothing lost, nothing hung: end-to-end tests that try hard to break a run.
// Workers are SIGKILLed at random and at exact points (SHOAL_FAULT, see
// common/fault.h), the master is killed or interrupted and the run resumed,
// and a poison item kills its worker every time. After each, every input item
// must have exactly one record, and no process or shared memory may remain.
//
// Items run tests/record_exec.c, which appends the item's index to
// {run}/execs: the tests count how often each item really ran.

#include <random>

#include "tests/e2e_support.h"

#if !defined(SHOAL_RECORD_EXEC) || !defined(SHOAL_FAILSOME_PLUGIN) || !defined(SHOAL_CRASHY_PLUGIN)
#error "the build must name record_exec and the failsome and crashy plugins"
#endif

namespace shoal {
namespace e2e {
namespace {

using std::chrono::milliseconds;

// Processes whose parent is `pid` (Linux keeps the list per thread).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> children;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t child; in >> child;) children.push_back(child);
  return children;
}

// Alive and not a zombie.
bool Alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// Shared-memory objects a master with this pid created.
std::vector<std::string> SegmentsOf(pid_t master) {
  std::vector<std::string> found;
  for (const std::string& name : DevShmEntries()) {
    if (name.starts_with("shoal-" + std::to_string(master) + "-")) found.push_back(name);
  }
  return found;
}

// How often each index ran, from {run}/execs.
std::map<uint64_t, int> Executions(const fs::path& run) {
  std::map<uint64_t, int> runs;
  for (const std::string& line : Lines(ReadFile(run / "execs"))) ++runs[std::stoull(line)];
  return runs;
}

// index -> attempts of each results.jsonl record (already validated strictly).
std::map<uint64_t, int> AttemptsByIndex(const fs::path& file) {
  static const std::regex kIndex("\"index\":([0-9]+)");
  static const std::regex kAttempts("\"attempts\":([0-9]+)");
  std::map<uint64_t, int> attempts;
  for (const std::string& line : Lines(ReadFile(file))) {
    std::smatch i, a;
    if (std::regex_search(line, i, kIndex) && std::regex_search(line, a, kAttempts)) {
      attempts[std::stoull(i[1])] = std::stoi(a[1]);
    }
  }
  return attempts;
}

class Crash : public E2e {
 protected:
  // A list of n items "1".."n" and settings whose command records each run.
  void WriteJob(int n, const std::string& job_extra, int sleep_ms = 0,
                const std::string& input_extra = "") {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
    std::string argv = "[\"" SHOAL_RECORD_EXEC "\", \"{run}/execs\", \"{index}\"";
    if (sleep_ms > 0) argv += ", \"" + std::to_string(sleep_ms) + "\"";
    argv += "]";
    WriteFile(dir_ / "settings.toml", "[job]\nname = \"crash\"\n" + job_extra +
                                          "\n[input]\npath = \"items.txt\"\n" + input_extra +
                                          "\n[command]\nargv = " + argv + "\n");
  }

  // Starts `shoal run` without waiting for it.
  std::unique_ptr<Child> Start(const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> argv;
    if (!extra_env.empty()) {
      argv = {"env"};
      argv.insert(argv.end(), extra_env.begin(), extra_env.end());
    }
    for (const std::string& a : WithShoal({"run", "settings.toml", "-o", runs_.string()})) {
      argv.push_back(a);
    }
    auto child = std::make_unique<Child>(argv, dir_, NextCapture());
    // With `env` in front, shoal is exec'd in place: the pid is the master's.
    return child;
  }

  // `shoal run` to its end with SHOAL_FAULT set (see common/fault.h).
  ProcessResult RunWithFault(const std::string& fault) {
    std::unique_ptr<Child> child = Start({"SHOAL_FAULT=" + fault});
    return child->Wait(seconds(120));
  }

  // Waits (up to 20 s) until the run's items have run at least n times.
  bool WaitForExecutions(size_t n) {
    return WaitFor(
        [&] {
          std::set<fs::path> dirs = RunDirs();
          return !dirs.empty() && Lines(ReadFile(*dirs.begin() / "execs")).size() >= n;
        },
        milliseconds(20000));
  }

  // Adds the master's descendants to `seen` until it exits; false if it is
  // still running after `limit` (a hang).
  bool CollectUntilExit(Child& shoal, std::set<pid_t>* seen, seconds limit = seconds(120)) {
    return WaitFor(
        [&] {
          for (pid_t p : Descendants(shoal.pid())) seen->insert(p);
          return shoal.Exited();
        },
        limit);
  }

  // The worker deaths log.txt reports, e.g. "died: signal 9".
  static size_t Deaths(const fs::path& run, const std::string& how) {
    std::string log = ReadFile(run / "log.txt");
    size_t n = 0;
    for (size_t at = log.find(") died: " + how); at != std::string::npos;
         at = log.find(") died: " + how, at + 1)) {
      ++n;
    }
    return n;
  }

  // The workers of a master and the commands they run, right now.
  std::vector<pid_t> Descendants(pid_t master) {
    std::vector<pid_t> all;
    for (pid_t w : ChildrenOf(master)) {
      all.push_back(w);
      for (pid_t c : ChildrenOf(w)) all.push_back(c);
    }
    return all;
  }

  // The single run directory, its records strict-checked, every item once.
  void ExpectExactlyOnce(int n, fs::path* run, std::vector<Record>* results,
                         std::vector<Record>* errors) {
    ASSERT_TRUE(ReadOnlyRun(run, results, errors));
    ExpectEachItemOnce(*results, *errors, Numbers(n));
  }
};

// ---- Chaos: random SIGKILLs of workers, ten seeded rounds ----

class Chaos : public Crash, public ::testing::WithParamInterface<int> {};

uint64_t BaseSeed() {
  static uint64_t seed = []() -> uint64_t {
    const char* env = std::getenv("SHOAL_CHAOS_SEED");
    if (env != nullptr && *env != '\0')
      return static_cast<uint64_t>(std::strtoull(env, nullptr, 10));
    return static_cast<uint64_t>(std::random_device{}()) * 1000ULL;
  }();
  return seed;
}

TEST_P(Chaos, RandomWorkerKillsLoseNothing) {
  const uint64_t seed = BaseSeed() + static_cast<uint64_t>(GetParam());
  std::printf("chaos: round %d, seed %llu (SHOAL_CHAOS_SEED=%llu reruns these rounds)\n",
              GetParam(), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(BaseSeed()));
  std::mt19937_64 rng(seed);
  constexpr int kItems = 20000;
  constexpr int kRetries = 5;
  WriteJob(kItems, "workers = 3\nretries = " + std::to_string(kRetries));

  std::unique_ptr<Child> shoal = Start();
  int kills = 0;
  // Kill attempts are bounded, not the time: after this many the run is left
  // to finish, and a run that hangs is caught by Wait's deadline below.
  constexpr int kMaxKillAttempts = 2000;
  int attempts_left = kMaxKillAttempts;
  auto start = steady_clock::now();
  auto last_growth = start;
  milliseconds longest_stall(0);
  uintmax_t last_size = 0;
  while (!shoal->Exited() && attempts_left-- > 0) {
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(10, 100)(rng)));
    auto now = steady_clock::now();
    // Progress as the outside sees it: results.jsonl grows at each flush.
    std::set<fs::path> dirs = RunDirs();
    if (!dirs.empty()) {
      std::error_code ec;
      uintmax_t size = fs::file_size(*dirs.begin() / "results.jsonl", ec);
      if (!ec && size != last_size) {
        longest_stall =
            std::max(longest_stall, std::chrono::duration_cast<milliseconds>(now - last_growth));
        last_growth = now;
        last_size = size;
      }
    }
    std::vector<pid_t> workers = ChildrenOf(shoal->pid());
    if (!workers.empty()) {
      pid_t victim = workers[std::uniform_int_distribution<size_t>(0, workers.size() - 1)(rng)];
      if (kill(victim, SIGKILL) == 0) ++kills;
    }
  }
  // A master that never finishes once the kills stop has hung: Wait kills it
  // at the deadline and the status says kTimedOut.
  ProcessResult r = shoal->Wait(seconds(240));
  ASSERT_NE(r.status, kTimedOut) << "the run did not finish after " << kills << " kills (hung?)\n"
                                 << r.err;
  ASSERT_EQ(r.status, 0) << Describe(r);

  fs::path run;
  std::vector<Record> results, errors;
  ExpectExactlyOnce(kItems, &run, &results, &errors);
  EXPECT_TRUE(errors.empty());
  std::map<uint64_t, int> execs = Executions(run);
  std::map<uint64_t, int> attempts = AttemptsByIndex(run / "results.jsonl");
  int reruns = 0;
  for (int i = 1; i <= kItems; ++i) {
    int ran = execs[static_cast<uint64_t>(i)];
    ASSERT_GE(ran, 1) << "item " << i << " has a record but never ran";
    // A run that produced no published outcome was an attempt of its own.
    EXPECT_LE(ran, attempts[static_cast<uint64_t>(i)]) << "item " << i;
    EXPECT_LE(ran, kRetries + 1) << "item " << i;
    reruns += ran - 1;
  }
  // Each kill interrupts at most the one item its worker was running.
  EXPECT_LE(reruns, kills);
  EXPECT_TRUE(SegmentsOf(shoal->pid()).empty());
  // The stall and the time are for the reader, not asserted: they measure
  // the machine's load as much as shoal.
  std::printf("chaos: %d kills, %d re-runs, longest stall %lld ms, %.1f s\n", kills, reruns,
              static_cast<long long>(longest_stall.count()),
              std::chrono::duration<double>(steady_clock::now() - start).count());
}

INSTANTIATE_TEST_SUITE_P(TenRounds, Chaos, ::testing::Range(0, 10));

// ---- Fault injection at exact points ----

TEST_F(Crash, WorkerKilledAfterTakingATaskLosesNothing) {
  WriteJob(300, "workers = 2");
  ProcessResult r = RunWithFault("worker-after-take:7");
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ExpectExactlyOnce(300, &run, &results, &errors);
  // The fault fired: a worker killed itself, holding the item it took.
  EXPECT_GE(Deaths(run, "signal 9, holding"), 1u) << ReadFile(run / "log.txt");
  // Taken but never started: such an item runs later, once.
  for (auto [index, ran] : Executions(run)) EXPECT_EQ(ran, 1) << "item " << index;
}

TEST_F(Crash, WorkerKilledBeforePublishingAnOutcomeLosesNothing) {
  WriteJob(300, "workers = 2\nretries = 0");
  ProcessResult r = RunWithFault("worker-before-publish:7");
  ASSERT_EQ(r.status, 1) << Describe(r);  // the items it held used their one attempt
  fs::path run;
  std::vector<Record> results, errors;
  ExpectExactlyOnce(300, &run, &results, &errors);
  // The fault fired: the item whose outcome was lost failed with the death.
  ASSERT_FALSE(errors.empty());
  EXPECT_GE(Deaths(run, "signal 9"), 1u);
  for (const Record& e : errors) EXPECT_EQ(e.reason.value_or(""), "worker died: signal 9");
  for (auto [index, ran] : Executions(run)) EXPECT_EQ(ran, 1) << "item " << index;
}

TEST_F(Crash, WorkerKilledWhileWaitingForWorkLosesNothing) {
  // job.delay feeds an item every 5 ms, so the workers keep running out of
  // work whatever their queues' depth.
  WriteJob(200, "workers = 2\ndelay = \"5ms\"", /*sleep_ms=*/1);
  ProcessResult r = RunWithFault("worker-idle:2");
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ExpectExactlyOnce(200, &run, &results, &errors);
  // The fault fired: a worker killed itself while waiting for work.
  EXPECT_GE(Deaths(run, "signal 9"), 1u) << ReadFile(run / "log.txt");
  // An idle worker holds nothing: no item runs twice.
  for (auto [index, ran] : Executions(run)) EXPECT_EQ(ran, 1) << "item " << index;
}

TEST_F(Crash, MasterKilledWhileDrainingThenResumed) {
  WriteJob(300, "workers = 2", /*sleep_ms=*/5);
  std::unique_ptr<Child> shoal = Start({"SHOAL_FAULT=master-drain:50"});
  std::set<pid_t> seen;
  ASSERT_TRUE(CollectUntilExit(*shoal, &seen));
  ProcessResult r = shoal->Wait(seconds(1));
  // The fault fired: nothing else kills the master.
  ASSERT_EQ(r.status, 128 + SIGKILL) << Describe(r);
  // Workers and their commands follow their master (the bound catches a hang).
  EXPECT_TRUE(WaitFor(
      [&] { return std::none_of(seen.begin(), seen.end(), [](pid_t p) { return Alive(p); }); },
      seconds(30)));
  std::set<fs::path> dirs = RunDirs();
  ASSERT_EQ(dirs.size(), 1u);
  fs::path run = *dirs.begin();

  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(300));
  EXPECT_TRUE(errors.empty());
  // The killed master's segment is gone: the next start removed it.
  EXPECT_TRUE(SegmentsOf(shoal->pid()).empty());
}

TEST_F(Crash, WorkerKilledMidLogRecordLosesNothing) {
  WriteFile(dir_ / "items.txt", [] {
    std::string items;
    for (int i = 1; i <= 200; ++i) items += std::to_string(i) + "\n";
    return items;
  }());
  // failsome logs "seen <item>" for each item and fails none with every = 100000.
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"midlog\"\nworkers = 2\nretries = 5\nhandler = \"plugin\"\n"
            "[input]\npath = \"items.txt\"\n[plugin]\nlibrary = \"" SHOAL_FAILSOME_PLUGIN
            "\"\nconfig = { every = 100000 }\n");
  ProcessResult r = RunWithFault("worker-mid-log:7");
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ExpectExactlyOnce(200, &run, &results, &errors);
  EXPECT_TRUE(errors.empty());
  std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("died: signal 9"), std::string::npos);
  for (int i = 1; i <= 200; ++i) {
    EXPECT_NE(log.find("seen " + std::to_string(i) + "\n"), std::string::npos) << "item " << i;
  }
}

TEST_F(Crash, WorkersDyingAtEveryStartStopTheRunWithExit3) {
  WriteJob(50, "workers = 2");
  ProcessResult r = RunWithFault("worker-start:1");
  EXPECT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("workers keep dying at start"), std::string::npos) << r.err;
}

TEST_F(Crash, InProcessHandlerOverrunningTheTimeoutIsKilledAndReplaced) {
  WriteFile(dir_ / "items.txt", "a\nb\nhang\nc\nd\ne\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"overrun\"\nworkers = 2\nhandler = \"plugin\"\ntimeout = \"300ms\"\n"
            "[input]\npath = \"items.txt\"\n[plugin]\nlibrary = \"" SHOAL_CRASHY_PLUGIN
            "\"\nconfig = { crash_on = \"never\", hang_on = \"hang\" }\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {}, seconds(60)));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "hang");
  EXPECT_EQ(errors[0].reason.value_or(""), "timeout");
  EXPECT_EQ(results.size(), 5u);
}

TEST_F(Crash, ResumeRefusesAnInputThatChanged) {
  WriteJob(60, "workers = 2\ngrace = \"5s\"", /*sleep_ms=*/40);
  std::unique_ptr<Child> shoal = Start();
  ASSERT_TRUE(WaitForExecutions(10));
  ASSERT_EQ(kill(shoal->pid(), SIGTERM), 0);
  ProcessResult r = shoal->Wait(seconds(30));
  ASSERT_EQ(r.status, 128 + SIGTERM) << Describe(r);
  fs::path run = *RunDirs().begin();
  // The first item is recorded (it ran before the ten, and a SIGTERM lets
  // running items finish); now it is no longer the same.
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::vector<std::string> recorded = Items(results);
  ASSERT_NE(std::find(recorded.begin(), recorded.end(), "1"), recorded.end());
  std::string items = ReadFile(dir_ / "items.txt");
  WriteFile(dir_ / "items.txt", "changed" + items.substr(items.find('\n')));
  ProcessResult resumed = Shoal({"resume", run.string()});
  EXPECT_EQ(resumed.status, 2) << Describe(resumed);
  EXPECT_NE(resumed.err.find("the input changed"), std::string::npos) << resumed.err;
}

// ---- A poison item kills its worker on every attempt ----

TEST_F(Crash, PoisonItemFailsAfterItsAttemptsOthersSucceed) {
  std::string items;
  for (int i = 1; i <= 100; ++i)
    items += (i == 37 ? std::string("poison") : std::to_string(i)) + "\n";
  WriteFile(dir_ / "items.txt", items);
  // $PPID of the shell is the worker that runs it.
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"poison\"\nworkers = 2\nretries = 2\n[input]\npath = \"items.txt\"\n"
            "[command]\nargv = [\"sh\", \"-c\", \"if [ \\\"$1\\\" = poison ]; then kill -SEGV "
            "$PPID; sleep 5; fi\", \"sh\", \"{item}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "poison");
  EXPECT_EQ(errors[0].reason.value_or(""), "worker died: signal 11");
  EXPECT_EQ(results.size(), 99u);
  EXPECT_NE(ReadFile(run / "errors.jsonl").find("\"attempts\":3"), std::string::npos);
  EXPECT_EQ(ReadFile(run / "failed.txt"), "poison\n");
}

// ---- The master killed, terminated or interrupted, then resumed ----

struct StopCase {
  int signal;
  int expected_status;
};

void PrintTo(const StopCase& c, std::ostream* os) {
  *os << "SIG" << sigabbrev_np(c.signal) << " -> exit " << c.expected_status;
}

class MasterStopped : public Crash, public ::testing::WithParamInterface<StopCase> {
 protected:
  // "ended exit_status ok failed" of the run's run.json; "False None" before it ends.
  std::string RunState(const fs::path& run) {
    ProcessResult r = Run({"python3", "-c",
                           "import json, sys\n"
                           "s = json.load(open(sys.argv[1]))\n"
                           "print(s['ended'], s['exit_status'], "
                           "*([s['ok'], s['failed']] if s['ended'] else []))",
                           (run / "run.json").string()});
    return r.status == 0 ? r.out.substr(0, r.out.find('\n')) : Describe(r);
  }
};

TEST_P(MasterStopped, NoProcessRemainsAndResumeCompletesTheRun) {
  const StopCase c = GetParam();
  WriteJob(120, "workers = 2\ngrace = \"5s\"", /*sleep_ms=*/40);
  std::unique_ptr<Child> shoal = Start();
  // Let it get going: some items done, commands running.
  ASSERT_TRUE(WaitForExecutions(20));
  std::set<pid_t> seen;
  for (pid_t p : Descendants(shoal->pid())) seen.insert(p);
  ASSERT_FALSE(seen.empty());
  ASSERT_EQ(kill(shoal->pid(), c.signal), 0);
  ASSERT_TRUE(CollectUntilExit(*shoal, &seen));
  ProcessResult r = shoal->Wait(seconds(1));
  EXPECT_EQ(r.status, c.expected_status) << Describe(r);
  EXPECT_TRUE(WaitFor(
      [&] { return std::none_of(seen.begin(), seen.end(), [](pid_t p) { return Alive(p); }); },
      seconds(30)))
      << "a worker or command outlived its master";

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_LT(results.size(), 120u) << "stopped too late to test anything";
  if (c.signal != SIGKILL) {
    EXPECT_NE(ReadFile(run / "log.txt").find("shoal resume"), std::string::npos);
  }

  // run.json, read by Python's json: a killed master never said it ended.
  EXPECT_EQ(RunState(run), c.signal == SIGKILL ? "False None"
                                               : "True " + std::to_string(c.expected_status) + " " +
                                                     std::to_string(results.size()) + " 0");

  ProcessResult resumed = Shoal({"resume", run.string()});
  ASSERT_EQ(resumed.status, 0) << Describe(resumed);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, Numbers(120));
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(SegmentsOf(shoal->pid()).empty());
  EXPECT_EQ(RunState(run), "True 0 120 0");
}

INSTANTIATE_TEST_SUITE_P(
    Signals, MasterStopped,
    ::testing::Values(StopCase{SIGKILL, 128 + SIGKILL}, StopCase{SIGTERM, 128 + SIGTERM},
                      StopCase{SIGINT, 128 + SIGINT}, StopCase{SIGHUP, 128 + SIGTERM}),
    [](const auto& info) { return std::string(sigabbrev_np(info.param.signal)); });

TEST_F(Crash, SecondInterruptStopsAtOnce) {
  WriteJob(10, "workers = 2\ngrace = \"60s\"", /*sleep_ms=*/30000);
  std::unique_ptr<Child> shoal = Start();
  ASSERT_TRUE(WaitFor([&] { return Descendants(shoal->pid()).size() >= 4; }, seconds(30)));
  std::vector<pid_t> seen = Descendants(shoal->pid());
  ASSERT_EQ(kill(shoal->pid(), SIGINT), 0);
  // Once the master has taken in the first interrupt, it and every item run on.
  ASSERT_TRUE(
      WaitFor([&] { return shoal->StderrSoFar().find("again to stop now") != std::string::npos; },
              seconds(30)))
      << shoal->StderrSoFar();
  EXPECT_FALSE(shoal->Exited()) << "the first interrupt must let running items finish";
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](pid_t p) { return Alive(p); }));
  ASSERT_EQ(kill(shoal->pid(), SIGINT), 0);
  // The items would sleep 30 s and the grace is 60 s: only "at once" ends it
  // before they do, and then no item has a record.
  ASSERT_TRUE(WaitFor([&] { return shoal->Exited(); }, seconds(60)));
  ProcessResult r = shoal->Wait(seconds(1));
  EXPECT_EQ(r.status, 128 + SIGINT) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_TRUE(results.empty());
  EXPECT_NE(ReadFile(run / "log.txt").find("stopping at once"), std::string::npos);
  EXPECT_TRUE(WaitFor(
      [&] { return std::none_of(seen.begin(), seen.end(), [](pid_t p) { return Alive(p); }); },
      seconds(30)));
}

// ---- Hung commands: TERM ignored, a grandchild forked ----

class Hung : public Crash {
 protected:
  void WriteHungJob(const std::string& job_extra) {
    WriteFile(dir_ / "items.txt", "a\nb\n");
    // The shell ignores TERM and INT and leaves a grandchild in its group.
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"hung\"\nworkers = 2\n" + job_extra +
                  "\n[input]\npath = \"items.txt\"\n[command]\nargv = [\"sh\", \"-c\", "
                  "\"trap '' TERM INT; sleep 300 & echo $! > \\\"$1\\\"; wait\", \"sh\", "
                  "\"{run}/grandchild-{item}\"]\n");
  }

  std::vector<pid_t> Grandchildren(const fs::path& run) {
    std::vector<pid_t> pids;
    for (const char* item : {"a", "b"}) {
      std::string text = ReadFile(run / (std::string("grandchild-") + item));
      if (!text.empty()) pids.push_back(std::stoi(text));
    }
    return pids;
  }
};

TEST_F(Hung, TimeoutKillsTheCommandAndItsGrandchild) {
  WriteHungJob("timeout = \"500ms\"");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {}, seconds(60)));
  ASSERT_EQ(errors.size(), 2u);
  for (const Record& e : errors) EXPECT_EQ(e.reason.value_or(""), "timeout");
  std::vector<pid_t> grandchildren = Grandchildren(run);
  ASSERT_EQ(grandchildren.size(), 2u);
  for (pid_t p : grandchildren) EXPECT_FALSE(Alive(p)) << "grandchild " << p;
}

TEST_F(Hung, InterruptKillsTheCommandAndItsGrandchild) {
  WriteHungJob("grace = \"300ms\"");
  std::unique_ptr<Child> shoal = Start();
  fs::path run;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::set<fs::path> dirs = RunDirs();
        if (dirs.empty()) return false;
        run = *dirs.begin();
        return Grandchildren(run).size() == 2;
      },
      seconds(30)));
  std::vector<pid_t> grandchildren = Grandchildren(run);
  ASSERT_EQ(kill(shoal->pid(), SIGINT), 0);
  ASSERT_TRUE(WaitFor([&] { return shoal->Exited(); }, seconds(60)));
  ProcessResult r = shoal->Wait(seconds(1));
  EXPECT_EQ(r.status, 128 + SIGINT) << Describe(r);
  for (pid_t p : grandchildren) {
    EXPECT_TRUE(WaitFor([&] { return !Alive(p); }, seconds(30))) << "grandchild " << p;
  }
  // Interrupted items have no record: resume would run them again.
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_TRUE(results.empty());
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
