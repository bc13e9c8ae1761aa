// Support for end-to-end tests: run the built `shoal` binary (SHOAL_BIN) on
// data a test generates in a fresh temporary directory and read the run
// directory it writes. Records are read by python3's json module through
// tests/check_records.py: a strict parser independent of shoal's own writer.
// Processes are started with posix_spawn, stdin from /dev/null, in their own
// process group so that a hung run is killed whole at its deadline.
//
// Every e2e test file includes this and derives its fixture from E2e.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"

extern char** environ;

#ifndef SHOAL_BIN
#error "SHOAL_BIN must name the built shoal binary"
#endif
#ifndef SHOAL_TESTS_DIR
#error "SHOAL_TESTS_DIR must name the tests/ source directory"
#endif

namespace shoal {
namespace e2e {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::steady_clock;

using test::WaitFor;  // wait for an event (a file, a pid, a record), never sleep

inline constexpr int kTimedOut = -1;

struct ProcessResult {
  int status = kTimedOut;  // exit code, 128 + signal number, or kTimedOut
  std::string out;
  std::string err;
};

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A child process with stdout and stderr going to files (no pipe can fill up).
class Child {
 public:
  Child(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& capture)
      : out_path_(capture.string() + ".out"), err_path_(capture.string() + ".err") {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      spawn_error_ = std::string("cannot start ") + argv[0] + ": " + strerror(rc);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) Kill();
  }

  pid_t pid() const { return pid_; }
  // What it wrote to stderr so far.
  std::string StderrSoFar() const { return ReadFile(err_path_); }

  // True once the child has exited (and was reaped).
  bool Exited() {
    if (pid_ <= 0) return true;
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) != pid_) return false;
    status_ = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    pid_ = 0;
    return true;
  }

  // Waits until the child exits or the deadline passes (then kills its group).
  ProcessResult Wait(steady_clock::duration timeout) {
    auto deadline = steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    while (!Exited()) {
      if (steady_clock::now() > deadline) {
        Kill();
        break;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    ProcessResult result;
    result.status = status_;
    result.out = ReadFile(out_path_);
    result.err = spawn_error_ + ReadFile(err_path_);
    return result;
  }

 private:
  void Kill() {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
    status_ = kTimedOut;
  }

  pid_t pid_ = -1;
  int status_ = kTimedOut;
  std::string out_path_;
  std::string err_path_;
  std::string spawn_error_;
};

// What a test needs from a record; every field was checked by check_records.py.
struct Record {
  uint64_t index = 0;
  std::string item;
  std::string status;
  std::optional<std::string> reason;
  std::optional<std::string> output;
  std::optional<std::string> output_file;
  std::optional<std::string> exit;
};

inline std::string Describe(const ProcessResult& r) {
  std::string how = r.status == kTimedOut ? "did not finish in time (killed) or did not start"
                                          : "exit status " + std::to_string(r.status);
  return how + "\n--- stdout:\n" + r.out.substr(0, 4000) + "\n--- stderr:\n" +
         r.err.substr(0, 4000);
}

inline std::vector<std::string> Items(const std::vector<Record>& records) {
  std::vector<std::string> items;
  for (const Record& r : records) items.push_back(r.item);
  std::sort(items.begin(), items.end());
  return items;
}

// "1" .. "n", as items.
inline std::vector<std::string> Numbers(int n) {
  std::vector<std::string> v;
  for (int i = 1; i <= n; ++i) v.push_back(std::to_string(i));
  return v;
}

inline std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline std::set<std::string> DevShmEntries() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev/shm", ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("shoal-") || name.starts_with("sem.shoal-")) names.insert(name);
  }
  return names;
}

class E2e : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/shoal-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
    runs_ = dir_ / "runs";
  }

  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "e2e: kept %s for inspection\n", dir_.c_str());
    } else if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Runs `shoal ARGS...` with cwd = the test's directory.
  ProcessResult Shoal(const std::vector<std::string>& args, seconds timeout = seconds(120)) {
    return Run(WithShoal(args), timeout);
  }

  ProcessResult Run(const std::vector<std::string>& argv, seconds timeout = seconds(120)) {
    Child child(argv, dir_, NextCapture());
    return child.Wait(timeout);
  }

  std::vector<std::string> WithShoal(const std::vector<std::string>& args) {
    std::vector<std::string> argv{SHOAL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  fs::path NextCapture() { return dir_ / (".process-" + std::to_string(++processes_)); }

  // `shoal report RUN`, then python3 running `asserts` with `page` the
  // report's text and `d` the data embedded in it; `args` follow as
  // sys.argv[2:]. Exit 0 when every assertion holds.
  ProcessResult CheckReportData(const fs::path& run, const std::string& asserts,
                                const std::vector<std::string>& args = {}) {
    ProcessResult report = Shoal({"report", run.string()});
    if (report.status != 0) return report;
    std::vector<std::string> argv{
        "python3", "-c",
        "import json, re, sys\n"
        "page = open(sys.argv[1]).read()\n"
        "d = json.loads(re.search(r'id=\"shoal-report\">(.*?)</script>', page, re.S).group(1))\n" +
            asserts,
        (run / "report.html").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }

  // `shoal run settings.toml -o runs EXTRA...`
  ProcessResult RunJob(const std::vector<std::string>& extra = {}, seconds timeout = seconds(120)) {
    std::vector<std::string> args{"run", "settings.toml", "-o", runs_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Shoal(args, timeout);
  }

  std::set<fs::path> RunDirs() const {
    std::set<fs::path> dirs;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(runs_, ec)) dirs.insert(entry.path());
    return dirs;
  }

  // The one entry of runs/ that is not in `before`; fails unless there is exactly one.
  ::testing::AssertionResult NewRunDir(const std::set<fs::path>& before, fs::path* run) const {
    std::vector<fs::path> added;
    for (const fs::path& p : RunDirs()) {
      if (!before.count(p)) added.push_back(p);
    }
    if (added.size() != 1) {
      std::string names;
      for (const fs::path& p : added) names.append(" ").append(p.filename().string());
      return ::testing::AssertionFailure() << "expected exactly one new run directory under "
                                           << runs_ << ", found " << added.size() << ":" << names;
    }
    if (!fs::is_directory(added[0])) {
      return ::testing::AssertionFailure() << added[0] << " is not a directory";
    }
    *run = added[0];
    return ::testing::AssertionSuccess();
  }

  // Reads FILE (kind "results" or "errors") through check_records.py.
  ::testing::AssertionResult ReadRecords(const fs::path& file, const std::string& kind,
                                         std::vector<Record>* records) {
    if (!fs::exists(file)) return ::testing::AssertionFailure() << file << " does not exist";
    ProcessResult r =
        Run({"python3", std::string(SHOAL_TESTS_DIR) + "/check_records.py", kind, file.string()});
    if (r.status != 0) {
      return ::testing::AssertionFailure() << "check_records.py: " << Describe(r);
    }
    constexpr size_t kFields = 8;
    std::vector<std::optional<std::string>> fields;
    size_t start = 0;
    while (start < r.out.size()) {
      size_t end = r.out.find('\0', start);
      if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated field";
      std::string field = r.out.substr(start, end - start);
      if (field == "-") {
        fields.emplace_back();
      } else {
        fields.emplace_back(field.substr(1));
      }
      start = end + 1;
    }
    if (fields.size() % kFields != 0) {
      return ::testing::AssertionFailure() << "check_records.py printed a partial record";
    }
    records->clear();
    for (size_t i = 0; i < fields.size(); i += kFields) {
      Record rec;
      rec.index = std::stoull(*fields[i]);
      rec.item = *fields[i + 1];
      rec.status = *fields[i + 2];
      rec.reason = fields[i + 3];
      rec.output = fields[i + 4];
      rec.output_file = fields[i + 5];
      rec.exit = fields[i + 6];
      records->push_back(std::move(rec));
    }
    return ::testing::AssertionSuccess();
  }

  // The one run directory under runs/ (it must be the only one) and its
  // records, strictly read.
  ::testing::AssertionResult ReadOnlyRun(fs::path* run, std::vector<Record>* results,
                                         std::vector<Record>* errors) {
    auto found = NewRunDir({}, run);
    if (!found) return found;
    return ReadRun(*run, results, errors);
  }

  // RunJob(extra, timeout), its exit status checked, then ReadOnlyRun. Use as
  // ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors)).
  void RunAndRead(int status, fs::path* run, std::vector<Record>* results,
                  std::vector<Record>* errors, const std::vector<std::string>& extra = {},
                  seconds timeout = seconds(120)) {
    ProcessResult r = RunJob(extra, timeout);
    ASSERT_EQ(r.status, status) << Describe(r);
    ASSERT_TRUE(ReadOnlyRun(run, results, errors));
  }

  ::testing::AssertionResult ReadRun(const fs::path& run, std::vector<Record>* results,
                                     std::vector<Record>* errors) {
    auto ok = ReadRecords(run / "results.jsonl", "results", results);
    if (!ok) return ok;
    return ReadRecords(run / "errors.jsonl", "errors", errors);
  }

  fs::path dir_;
  fs::path runs_;
  int processes_ = 0;
};

// Every item in exactly one of results/errors, each index once.
inline void ExpectEachItemOnce(const std::vector<Record>& results,
                               const std::vector<Record>& errors,
                               std::vector<std::string> expected_items) {
  std::vector<std::string> all = Items(results);
  std::vector<std::string> failed = Items(errors);
  all.insert(all.end(), failed.begin(), failed.end());
  EXPECT_EQ(Sorted(all), Sorted(std::move(expected_items)));
  std::set<uint64_t> indices;
  for (const auto* records : {&results, &errors}) {
    for (const Record& r : *records) {
      EXPECT_TRUE(indices.insert(r.index).second) << "index " << r.index << " twice";
    }
  }
}

inline std::map<std::string, std::string> ReasonsByItem(const std::vector<Record>& errors) {
  std::map<std::string, std::string> reasons;
  for (const Record& r : errors) reasons[r.item] = r.reason.value_or("");
  return reasons;
}

}  // namespace e2e
}  // namespace shoal
