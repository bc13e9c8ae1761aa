// End-to-end tests of a run as its users live it (issue 6): the progress line
// on a terminal (through a pseudo-terminal), status lines elsewhere, log.txt's
// start line and summary, retries with backoff, halting on max_failures and
// resuming, output in input order, the sha256 TSV, --dry-run and --help.
// Timing assertions are lower bounds only: a loaded machine is slow, never fast.

#include <poll.h>
#include <pty.h>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

using std::chrono::milliseconds;

// `shoal ARGS...` on a pseudo-terminal: everything it wrote there, and its status.
struct TerminalResult {
  int status = kTimedOut;
  std::string output;
};

TerminalResult RunOnTerminal(const std::vector<std::string>& argv, const fs::path& cwd,
                             seconds timeout) {
  TerminalResult result;
  struct winsize size {};
  size.ws_row = 24;
  size.ws_col = 100;
  int fd = -1;
  pid_t pid = forkpty(&fd, nullptr, nullptr, &size);
  if (pid < 0) {
    result.output = std::string("forkpty: ") + strerror(errno);
    return result;
  }
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  auto deadline = steady_clock::now() + timeout;
  char buf[4096];
  while (steady_clock::now() < deadline) {
    struct pollfd p {
      fd, POLLIN, 0
    };
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EIO: every process holding the terminal is gone
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  int wstatus = 0;
  if (steady_clock::now() >= deadline) {
    kill(pid, SIGKILL);
    waitpid(pid, &wstatus, 0);
    return result;
  }
  waitpid(pid, &wstatus, 0);
  result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Milliseconds since midnight of a log.txt line's timestamp ("...T03:15:00.123Z ...").
int64_t LogMillis(const std::string& line) {
  std::smatch m;
  static const std::regex stamp(R"(T(\d\d):(\d\d):(\d\d)\.(\d\d\d)Z)");
  if (!std::regex_search(line, m, stamp)) return -1;
  return ((std::stoll(m[1]) * 60 + std::stoll(m[2])) * 60 + std::stoll(m[3])) * 1000 +
         std::stoll(m[4]);
}

std::vector<std::string> Matching(const std::vector<std::string>& lines, const std::regex& re) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (std::regex_search(l, re)) out.push_back(l);
  }
  return out;
}

// The "index" of every record of a jsonl file, in file order.
std::vector<uint64_t> IndicesInOrder(const fs::path& file) {
  std::vector<uint64_t> out;
  static const std::regex index(R"(^\{"index":(\d+),)");
  for (const std::string& line : Lines(ReadFile(file))) {
    std::smatch m;
    if (std::regex_search(line, m, index)) out.push_back(std::stoull(m[1]));
  }
  return out;
}

class RunExperience : public E2e {
 protected:
  // items.txt with `n` lines "1".."n", and settings.toml running `argv` over
  // them; `extra` goes at the end of [job] (and may open more tables).
  void ListJob(int n, const std::string& argv, const std::string& extra = "") {
    std::string list;
    for (int i = 1; i <= n; ++i) list += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", list);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"exp\"\nworkers = 2\n" + extra +
                  "\n[input]\npath = \"items.txt\"\n\n[command]\nargv = " + argv + "\n");
  }
};

TEST_F(RunExperience, ProgressLineOnATerminalIsRedrawnAndCleared) {
  ListJob(12, R"(["sleep", "0.25"])");  // about 1.5 s on two workers
  TerminalResult r =
      RunOnTerminal(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, seconds(120));
  ASSERT_EQ(r.status, 0) << r.output;
  // A draw is "\r<line>\x1b[K"; the erase at the end is "\r\x1b[K".
  size_t clears = Count(r.output, "\r\x1b[K");
  size_t draws = Count(r.output, "\x1b[K") - clears;
  EXPECT_GE(draws, 3u) << r.output;
  EXPECT_NE(r.output.find("/12 "), std::string::npos) << "no done/total in\n" << r.output;
  EXPECT_NE(r.output.find("ETA"), std::string::npos) << r.output;
  // Erased before the summary, and never drawn again after it.
  size_t last_clear = r.output.rfind("\r\x1b[K");
  size_t summary = r.output.find("shoal: 12 ok");
  ASSERT_NE(last_clear, std::string::npos) << r.output;
  ASSERT_NE(summary, std::string::npos) << r.output;
  EXPECT_LT(last_clear, summary);
  EXPECT_EQ(r.output.find("\x1b[K", last_clear + 4), std::string::npos) << r.output;
  // No plain status lines on a terminal.
  EXPECT_EQ(r.output.find("remaining"), std::string::npos) << r.output;
}

TEST_F(RunExperience, StatusLinesAtTheIntervalWhenNotATerminal) {
  ListJob(12, R"(["sleep", "0.25"])", "[output]\nstatus_every = \"200ms\"\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.err.find("\x1b["), std::string::npos) << "terminal codes in a file:\n" << r.err;
  const std::regex status(
      R"(\d+ done, \d+ failed, (\d+|\? remaining \(\d+ read so far\)|\d+ remaining), )"
      R"([0-9.]+ items/s, elapsed [0-9.a-z]+, ETA ([0-9.a-z]+|\?))");
  std::vector<std::string> err_lines = Matching(Lines(r.err), status);
  EXPECT_GE(err_lines.size(), 4u) << r.err;
  for (const std::string& l : err_lines) EXPECT_TRUE(l.starts_with("shoal: ")) << l;

  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  std::vector<std::string> log = Lines(ReadFile(run / "log.txt"));
  std::vector<std::string> log_status =
      Matching(log, std::regex("status: " + std::string(R"(\d+ done)")));
  ASSERT_GE(log_status.size(), 4u) << ReadFile(run / "log.txt");
  // The input is counted ahead of the run: the total is known from the start.
  EXPECT_TRUE(std::regex_search(log_status[0], std::regex(R"(, \d+ remaining, )")))
      << log_status[0];
  for (size_t i = 1; i < log_status.size(); ++i) {
    int64_t gap = LogMillis(log_status[i]) - LogMillis(log_status[i - 1]);
    if (gap < 0) gap += 86'400'000;  // midnight
    EXPECT_GE(gap, 195) << log_status[i - 1] << "\n" << log_status[i];
  }
  // The start line names the version and the settings' hash; the summary says the rest.
  EXPECT_EQ(
      Matching(log, std::regex(R"(run started: shoal \S+, settings sha256 [0-9a-f]{64}, )")).size(),
      1u)
      << ReadFile(run / "log.txt");
  EXPECT_EQ(Matching(log, std::regex(R"(summary: 12 ok, 0 failed)")).size(), 1u);
  EXPECT_EQ(Matching(log, std::regex(R"(summary: wall \S+, cpu master [0-9.]+s, workers [0-9.]+s)"))
                .size(),
            1u);
  EXPECT_EQ(
      Matching(log, std::regex(R"(summary: item duration p50 \S+, p95 \S+, p99 \S+, max \S+)"))
          .size(),
      1u);
  EXPECT_EQ(Matching(log, std::regex(R"(summary: slowest: #\d+ \S+ \d+; )")).size(), 1u);
}

TEST_F(RunExperience, QuietPrintsNoStatusLines) {
  ListJob(4, R"(["sleep", "0.2"])", "[output]\nstatus_every = \"100ms\"\n");
  ProcessResult r = RunJob({"-q"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
}

TEST_F(RunExperience, RetriesWaitTheBackoff) {
  // Each item fails its first two attempts; attempt times go to times/<item>.
  fs::create_directories(dir_ / "times");
  ListJob(
      3,
      R"(["sh", "-c", "date +%s%N >> times/$1; n=$(wc -l < times/$1); [ $n -ge 3 ]", "sh", "{item}"])",
      "retries = 2\nretry_delay = \"300ms\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, {"1", "2", "3"});
  EXPECT_EQ(Count(ReadFile(run / "results.jsonl"), "\"attempts\":3,"), 3u)
      << ReadFile(run / "results.jsonl");
  for (const char* item : {"1", "2", "3"}) {
    std::vector<std::string> times = Lines(ReadFile(dir_ / "times" / item));
    ASSERT_EQ(times.size(), 3u) << item;
    int64_t first = std::stoll(times[1]) - std::stoll(times[0]);
    int64_t second = std::stoll(times[2]) - std::stoll(times[1]);
    EXPECT_GE(first, 300'000'000) << "item " << item << ": attempt 2 came too soon";
    EXPECT_GE(second, 600'000'000) << "item " << item << ": attempt 3 came too soon (doubling)";
  }
  std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("summary: 3 ok, 0 failed; 6 retried attempts"), std::string::npos) << log;
}

// Items 1..5 fail, the rest succeed; each takes 50 ms.
constexpr char kFirstFiveFail[] = R"(["sh", "-c", "sleep 0.05; [ $1 -gt 5 ]", "sh", "{item}"])";

TEST_F(RunExperience, MaxFailuresByCountHaltsThenResumeFinishes) {
  ListJob(40, kFirstFiveFail, "max_failures = 3\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("halting: 3 failures reached job.max_failures = 3"), std::string::npos)
      << r.err;
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_GE(errors.size(), 3u);
  EXPECT_LT(results.size() + errors.size(), 40u) << "it did not stop feeding";
  EXPECT_NE(ReadFile(run / "log.txt").find("halted: "), std::string::npos);

  r = Shoal({"resume", run.string()});
  ASSERT_EQ(r.status, 1) << Describe(r);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::vector<std::string> all;
  for (int i = 1; i <= 40; ++i) all.push_back(std::to_string(i));
  ExpectEachItemOnce(results, errors, all);
  EXPECT_EQ(Items(errors), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
}

TEST_F(RunExperience, MaxFailuresByPercentHaltsAfterTheMinimumSample) {
  // Every fourth item fails: 25% > 10%, judged once 20 items finished.
  ListJob(120, R"(["sh", "-c", "sleep 0.02; [ $(($1 % 4)) -ne 0 ]", "sh", "{item}"])",
          "max_failures = \"10%\"\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("job.max_failures = 10%"), std::string::npos) << r.err;
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_GE(results.size() + errors.size(), 20u) << "halted before the minimum sample";
  EXPECT_LT(results.size() + errors.size(), 120u) << "it did not stop feeding";

  // Each run judges its own items: the rest would halt again at 25%.
  r = Shoal({"resume", run.string(), "--set", "job.max_failures=0"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::vector<std::string> all;
  for (int i = 1; i <= 120; ++i) all.push_back(std::to_string(i));
  ExpectEachItemOnce(results, errors, all);
  EXPECT_EQ(errors.size(), 30u);
}

TEST_F(RunExperience, OrderInputWritesRecordsInInputOrder) {
  // Random durations; every seventh item fails; a tiny ring so that the
  // reorder window (4 x queue.slots) fills and holds back feeding.
  std::string list;
  uint64_t state = 12345;
  for (int i = 1; i <= 60; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    list += std::to_string(i) + " 0.0" + std::to_string((state >> 33) % 9) + "\n";
  }
  WriteFile(dir_ / "items.txt", list);
  // "{item}" is one argument, "N 0.0D": the script splits it.
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"order\"\nworkers = 4\n\n[input]\npath = \"items.txt\"\n\n"
            "[command]\nargv = [\"sh\", \"-c\", 'set -- $1; sleep $2; [ $(($1 % 7)) -ne 0 ]', "
            "\"sh\", \"{item}\"]\n\n[output]\norder = \"input\"\n\n[queue]\nslots = 2\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_EQ(results.size() + errors.size(), 60u);
  EXPECT_EQ(errors.size(), 8u);
  for (const fs::path& file : {run / "results.jsonl", run / "errors.jsonl"}) {
    std::vector<uint64_t> indices = IndicesInOrder(file);
    for (size_t i = 1; i < indices.size(); ++i) {
      EXPECT_LT(indices[i - 1], indices[i]) << file << " out of order at line " << i + 1;
    }
  }
  std::vector<std::string> failed = Lines(ReadFile(run / "failed.txt"));
  EXPECT_TRUE(std::is_sorted(failed.begin(), failed.end(), [](const auto& a, const auto& b) {
    return std::stoi(a) < std::stoi(b);
  }));
}

TEST_F(RunExperience, Sha256TsvIsAcceptedBySha256sumCheck) {
  const std::vector<std::string> names = {"plain.txt", "with space", "q'uote", "back\\slash",
                                          "new\nline", "tab\there",  "é日本",  "sub/deep/f"};
  for (size_t i = 0; i < names.size(); ++i) {
    WriteFile(dir_ / "data" / names[i], std::string(i * 1000, static_cast<char>('a' + i)));
  }
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"sums\"\nhandler = \"sha256\"\n\n[input]\npath = \"data\"\n\n"
            "[output]\nformat = \"tsv\"\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  ASSERT_TRUE(fs::is_regular_file(run / "results.tsv"));
  // From another directory: the paths in the file are absolute.
  ProcessResult check = Run({"sha256sum", "--strict", "-c", (run / "results.tsv").string()});
  EXPECT_EQ(check.status, 0) << Describe(check);
  EXPECT_EQ(Count(check.out, ": OK\n"), names.size()) << check.out;

  // A corrupted file is caught: the checksums are real.
  WriteFile(dir_ / "data" / "plain.txt", "changed");
  check = Run({"sha256sum", "-c", (run / "results.tsv").string()});
  EXPECT_EQ(check.status, 1) << Describe(check);
}

TEST_F(RunExperience, DryRunPrintsShellQuotedArgvAndCreatesNothing) {
  WriteFile(dir_ / "items.txt",
            "plain\nwith space\nit's\n-dash\ndollar$HOME\ntab\tin\né日本\na/b/c.txt\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"dry\"\n\n[input]\npath = \"items.txt\"\n\n"
            "[command]\nargv = [\"echo\", \"{item}\", \"{name}\"]\n");
  ProcessResult r = RunJob({"--dry-run"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out,
            "echo plain plain\n"
            "echo 'with space' 'with space'\n"
            "echo 'it'\\''s' 'it'\\''s'\n"
            "echo -dash -dash\n"
            "echo 'dollar$HOME' 'dollar$HOME'\n"
            "echo $'tab\\tin' $'tab\\tin'\n"
            "echo 'é日本' 'é日本'\n"
            "echo a/b/c.txt c.txt\n");
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(fs::exists(runs_)) << "a dry run created " << runs_;

  // {out} names the would-be run directory, which is not created either;
  // shell = true quotes the values inside the script.
  ProcessResult r2 = RunJob({"--dry-run", "--set", R"(command.argv=["cp","{item}","{out}/"])"});
  ASSERT_EQ(r2.status, 0) << Describe(r2);
  std::vector<std::string> lines = Lines(r2.out);
  ASSERT_EQ(lines.size(), 8u) << r2.out;
  std::string runs = runs_.string();
  const std::regex out_dir("^cp a/b/c.txt " + runs + R"(/dry-\d{8}-\d{6}/out/a/b/$)");
  EXPECT_TRUE(std::regex_match(lines[7], out_dir)) << lines[7];
  EXPECT_FALSE(fs::exists(runs_)) << "a dry run created " << runs_;

  // shell = true: the values are quoted inside the script, which is quoted again.
  WriteFile(dir_ / "one.txt", "a b\n");
  r = RunJob({"--dry-run", "-i", "one.txt", "--set", R"(command.argv=["wc -c {item}"])", "--set",
              "command.shell=true"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "/bin/sh -c 'wc -c '\\''a b'\\'''\n");

  // An empty argv runs each item as a command line: shown as sh -c.
  WriteFile(dir_ / "commands.txt", "echo hi; ls -l\n");
  r = RunJob({"--dry-run", "-i", "commands.txt", "--set", "command.argv=[]"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "/bin/sh -c 'echo hi; ls -l'\n");
}

TEST_F(RunExperience, HelpExplainsEveryOptionWithAnExample) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"run", "--help"}}) {
    ProcessResult r = Shoal(args);
    ASSERT_EQ(r.status, 0) << Describe(r);
    // An option's block: its line ("  -x, --name" or "      --name") and the
    // indented lines under it, up to the next option or section.
    std::vector<std::string> lines = Lines(r.out);
    const std::regex option(R"(^  (-\w, |    )--[a-z-]+)");
    size_t options = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!std::regex_search(lines[i], option)) continue;
      ++options;
      bool example = false;
      for (size_t j = i; j < lines.size(); ++j) {
        if (j > i && (lines[j].empty() || std::regex_search(lines[j], option))) break;
        example |= lines[j].find("e.g.") != std::string::npos;
      }
      EXPECT_TRUE(example) << "shoal " << args[0] << ": no example for: " << lines[i];
    }
    EXPECT_GE(options, 12u) << r.out;
    for (const char* name :
         {"--dry-run", "--progress", "--no-progress", "--quiet", "--items", "--set", "--workers"}) {
      EXPECT_NE(r.out.find(name), std::string::npos) << name;
    }
  }
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
