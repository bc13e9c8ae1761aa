// The five jobs shoal is built for, as shipped in examples/<job>/settings.toml, each run
// end to end exactly as a user runs it: `shoal run examples/<job>/settings.toml
// -i DATA -o RUNS`, on data the test generates. The only other options a test
// passes are --set for a path or a port (the destination of sync-dirs, the
// address of the local stand-in service of api-calls); everything else is the
// file as shipped, so a change that breaks an example fails here.
//
// Needs python3 (records, the stand-in service), gzip, curl, rsync; cmake is
// optional (its test is skipped without it).

#include <sys/stat.h>

#include <functional>
#include <numeric>

#include "tests/e2e_support.h"

#ifndef SHOAL_EXAMPLES_DIR
#error "SHOAL_EXAMPLES_DIR must name the examples/ source directory"
#endif

namespace shoal {
namespace e2e {
namespace {

// One record's fields by name; absent fields are nullopt.
using Fields = std::map<std::string, std::optional<std::string>>;

bool OnPath(const std::string& program) {
  const char* path = getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Deterministic bytes: the same seed gives the same content.
std::string Bytes(size_t size, uint64_t seed) {
  std::string s(size, '\0');
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (char& c : s) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(state >> 56);
  }
  return s;
}

// Every entry below `root`, relative, with what it is: "f:<bytes>", "l:<target>",
// "d" (plus the permission bits), for comparing two trees.
std::map<std::string, std::string> TreeOf(const fs::path& root) {
  std::map<std::string, std::string> tree;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    std::string what;
    if (S_ISLNK(st.st_mode)) {
      what = "l:" + fs::read_symlink(p).string();
    } else if (S_ISDIR(st.st_mode)) {
      what = "d";
    } else {
      what = "f:" + ReadFile(p);
    }
    tree[fs::relative(p, root).string()] = what + " mode " + std::to_string(st.st_mode & 07777);
  }
  return tree;
}

std::vector<std::string> Names(const std::vector<Fields>& records, const std::string& field) {
  std::vector<std::string> names;
  for (const Fields& r : records) names.push_back(r.at(field).value_or("(none)"));
  std::sort(names.begin(), names.end());
  return names;
}

class Examples : public E2e {
 protected:
  static std::string Example(const std::string& job, const std::string& file = "settings.toml") {
    return std::string(SHOAL_EXAMPLES_DIR) + "/" + job + "/" + file;
  }

  // `shoal run examples/JOB/settings.toml -i INPUT -o runs EXTRA...`, from the test's directory.
  ProcessResult RunExample(const std::string& job, const std::string& input,
                           const std::vector<std::string>& extra = {},
                           seconds timeout = seconds(240),
                           const std::string& file = "settings.toml") {
    std::vector<std::string> args{"run", Example(job, file), "-i", input, "-o", runs_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Shoal(args, timeout);
  }

  // examples/api-calls, settings file FILE: a CSV of ids, each called on a
  // local stand-in that fails some ids; failed.txt is exactly those; retry
  // fixes exactly those. `set` is the --set that points FILE at the
  // stand-in; a failed id's record has `reason`, and `stderr` holding
  // stderr_of(id).
  void ApiCalls(const std::string& file, const std::function<std::string(const std::string&)>& set,
                const std::string& reason,
                const std::function<std::string(const std::string&)>& stderr_of,
                const std::function<std::string(const std::string&)>& answer_of);

  // The named fields of every record of FILE, read by tests/record_fields.py.
  ::testing::AssertionResult ReadFields(const fs::path& file, const std::string& kind,
                                        const std::vector<std::string>& names,
                                        std::vector<Fields>* records) {
    if (!fs::exists(file)) return ::testing::AssertionFailure() << file << " does not exist";
    std::vector<std::string> argv{"python3", std::string(SHOAL_TESTS_DIR) + "/record_fields.py",
                                  kind, file.string()};
    argv.insert(argv.end(), names.begin(), names.end());
    ProcessResult r = Run(argv);
    if (r.status != 0) return ::testing::AssertionFailure() << "record_fields.py: " << Describe(r);
    records->clear();
    size_t start = 0;
    size_t field = 0;
    while (start < r.out.size()) {
      size_t end = r.out.find('\0', start);
      if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated field";
      if (field == 0) records->emplace_back();
      std::string value = r.out.substr(start, end - start);
      records->back()[names[field]] =
          value == "-" ? std::nullopt : std::optional<std::string>(value.substr(1));
      field = (field + 1) % names.size();
      start = end + 1;
    }
    if (field != 0) return ::testing::AssertionFailure() << "record_fields.py: a partial record";
    return ::testing::AssertionSuccess();
  }

  // A regular file's content, resolved against the run directory when relative.
  static std::string RunFile(const fs::path& run, const std::string& rel) {
    return ReadFile(fs::path(rel).is_absolute() ? fs::path(rel) : run / rel);
  }
};

// "key: value" of an item log ("" when absent).
std::string LogField(const std::string& log, const std::string& key) {
  for (const std::string& line : Lines(log)) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "";
}

// 1. examples/convert-tree: every file gets a gzip twin in out/, mirroring the tree.
TEST_F(Examples, ConvertTreeMirrorsTheInputAsGzip) {
  if (!OnPath("gzip")) GTEST_SKIP() << "gzip is not installed";
  const std::vector<std::string> dirs = {"", "a", "a/b", "a/b/c", "with space", "-dash", "é"};
  std::vector<std::string> rels;
  for (int i = 0; i < 150; ++i) {
    std::string dir = dirs[i % dirs.size()];
    std::string name = (i % 4 == 0 ? "it's " : "file") + std::to_string(i) + (i % 3 ? ".txt" : "");
    std::string rel = dir.empty() ? name : dir + "/" + name;
    WriteFile(dir_ / "data" / rel, Bytes((i * 7919) % 20000, i));  // i = 0: empty
    rels.push_back(rel);
  }

  ProcessResult r = RunExample("convert-tree", "data");
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  std::vector<Fields> results, errors;
  ASSERT_TRUE(ReadFields(run / "results.jsonl", "results", {"item", "output_file"}, &results));
  ASSERT_TRUE(ReadFields(run / "errors.jsonl", "errors", {"item"}, &errors));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(Names(results, "item"), Sorted(rels));
  for (const Fields& rec : results) {
    EXPECT_EQ(rec.at("output_file").value_or(""), "out/" + *rec.at("item") + ".gz");
  }

  // out/ holds exactly one .gz per input file, at the mirrored place, and each
  // decompresses to the input's bytes.
  std::vector<std::string> converted;
  for (const auto& [rel, what] : TreeOf(run / "out")) {
    if (what[0] == 'f') converted.push_back(rel);
  }
  std::vector<std::string> expected;
  for (const std::string& rel : rels) expected.push_back(rel + ".gz");
  EXPECT_EQ(Sorted(converted), Sorted(expected));
  int wrong = 0;
  for (const std::string& rel : rels) {
    ProcessResult z = Run({"gzip", "-dc", (run / "out" / (rel + ".gz")).string()});
    if ((z.status != 0 || z.out != ReadFile(dir_ / "data" / rel)) && ++wrong <= 5) {
      ADD_FAILURE() << rel << ".gz does not decompress to " << rel << ": " << Describe(z);
    }
  }
  EXPECT_EQ(wrong, 0);
}

void Examples::ApiCalls(const std::string& file,
                        const std::function<std::string(const std::string&)>& set,
                        const std::string& reason,
                        const std::function<std::string(const std::string&)>& stderr_of,
                        const std::function<std::string(const std::string&)>& answer_of) {
  std::string csv = "customer_id,name,email\n";
  std::vector<std::string> ids, failing;
  for (int i = 1; i <= 40; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "C%04d", i);
    ids.push_back(id);
    if (i % 5 == 2) failing.push_back(id);
    csv += std::string(id) + ",\"Doe, Jane " + std::to_string(i) + "\"," + id + "@example.com\n";
  }
  WriteFile(dir_ / "customers.csv", csv);
  std::string fail_list;
  for (const std::string& id : failing) fail_list += id + "\n";
  WriteFile(dir_ / "fail.txt", fail_list);

  // The stand-in service; its port is chosen by the kernel and written to a
  // file. It is killed with its process group when `server` goes out of scope.
  const fs::path port_file = dir_ / "port";
  const fs::path requests = dir_ / "requests.log";
  Child server({"python3", Example("api-calls", "fake_api.py"), "--port-file", port_file.string(),
                "--fail-file", (dir_ / "fail.txt").string(), "--request-log", requests.string(),
                "--lifetime", "280"},
               dir_, NextCapture());
  WaitFor([&] { return fs::exists(port_file) || server.Exited(); }, seconds(20));
  ASSERT_TRUE(fs::exists(port_file))
      << "fake_api.py did not start: " << server.Wait(seconds(1)).err;
  const std::string base = "http://127.0.0.1:" + Lines(ReadFile(port_file)).at(0);

  auto check_answers = [&](const std::vector<Fields>& results) {
    for (const Fields& rec : results) {
      EXPECT_EQ(rec.at("output").value_or(""), answer_of(*rec.at("item")));
    }
  };

  ProcessResult r =
      RunExample("api-calls", "customers.csv", {"--set", set(base)}, seconds(240), file);
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path first;
  ASSERT_TRUE(NewRunDir({}, &first));
  std::vector<Fields> results, errors;
  ASSERT_TRUE(ReadFields(first / "results.jsonl", "results", {"item", "output"}, &results));
  ASSERT_TRUE(ReadFields(first / "errors.jsonl", "errors", {"item", "reason", "attempts", "stderr"},
                         &errors));
  std::vector<std::string> ok_ids;
  std::set_difference(ids.begin(), ids.end(), failing.begin(), failing.end(),
                      std::back_inserter(ok_ids));
  EXPECT_EQ(Names(results, "item"), ok_ids);
  check_answers(results);
  EXPECT_EQ(Names(errors, "item"), failing);
  for (const Fields& rec : errors) {
    EXPECT_EQ(rec.at("reason").value_or(""), reason) << *rec.at("item");
    EXPECT_EQ(rec.at("attempts").value_or(""), "3") << "job.retries = 2";
    EXPECT_NE(rec.at("stderr").value_or("").find(stderr_of(*rec.at("item"))), std::string::npos)
        << *rec.at("item") << ": " << rec.at("stderr").value_or("");
  }
  EXPECT_EQ(Sorted(Lines(ReadFile(first / "failed.txt"))), failing);
  // One call per id, three per failing id (retries = 2).
  std::map<std::string, int> calls;
  for (const std::string& id : Lines(ReadFile(requests))) ++calls[id];
  for (const std::string& id : ids) {
    bool fails = std::binary_search(failing.begin(), failing.end(), id);
    EXPECT_EQ(calls[id], fails ? 3 : 1) << id;
  }
  EXPECT_EQ(calls.size(), ids.size());

  // The service recovers; retry calls exactly the failed ids, once each.
  ProcessResult healed = Run({"curl", "-sSf", base + "/control/stop-failing"});
  ASSERT_EQ(healed.status, 0) << Describe(healed);
  const size_t calls_before = Lines(ReadFile(requests)).size();
  std::set<fs::path> before = RunDirs();
  r = Shoal({"retry", first.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  // The run is complete in its own directory: every id answered once.
  EXPECT_EQ(RunDirs(), before);
  ASSERT_TRUE(ReadFields(first / "results.jsonl", "results", {"item", "output"}, &results));
  ASSERT_TRUE(ReadFields(first / "errors.jsonl", "errors", {"item"}, &errors));
  EXPECT_EQ(Names(results, "item"), ids);
  check_answers(results);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(ReadFile(first / "failed.txt"), "");
  std::vector<std::string> retried = Lines(ReadFile(requests));
  retried.erase(retried.begin(), retried.begin() + static_cast<ptrdiff_t>(calls_before));
  EXPECT_EQ(Sorted(retried), failing);
}

int OrdersOf(const std::string& id) {
  int sum = 0;
  for (unsigned char c : id) sum += c;
  return sum % 97;
}

// 2. examples/api-calls/settings.toml: the http handler; JSON answers are
// JSON in the records.
TEST_F(Examples, ApiCallsListFailedIdsAndRetryFixesThem) {
  ApiCalls(
      "settings.toml",
      [](const std::string& base) { return "http.url=" + base + "/customers/{item}"; }, "http 500",
      [](const std::string& id) { return "internal error for " + id; },
      [](const std::string& id) {
        // record_fields.py prints a JSON output as json.dumps does.
        return "{\"id\": \"" + id + "\", \"name\": \"Customer " + id +
               "\", \"orders\": " + std::to_string(OrdersOf(id)) + "}";
      });
}

// examples/api-calls/curl.toml: the same job, one curl per id; answers are
// strings.
TEST_F(Examples, ApiCallsWithCurlListFailedIdsAndRetryFixesThem) {
  if (!OnPath("curl")) GTEST_SKIP() << "curl is not installed (scripts/setup.sh installs it)";
  ApiCalls(
      "curl.toml", [](const std::string& base) { return "command.env.API_URL=" + base; },
      "exit 22",  // curl -f
      [](const std::string&) { return "500"; },
      [](const std::string& id) {
        return "{\"id\":\"" + id + "\",\"name\":\"Customer " + id +
               "\",\"orders\":" + std::to_string(OrdersOf(id)) + "}";
      });
}

// examples/api-calls/run.sh, as shipped: it starts its own stand-in, runs
// both files and the retry, and stops the stand-in.
TEST_F(Examples, ApiCallsScriptRunsBothFormsAgainstItsOwnService) {
  if (!OnPath("curl")) GTEST_SKIP() << "curl is not installed (scripts/setup.sh installs it)";
  ProcessResult r = Run({"env", "N=100", "SHOAL=" + std::string(SHOAL_BIN),
                         Example("api-calls", "run.sh"), runs_.string()},
                        seconds(240));
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.err.find("exit status 1; 96 answers, 4 failed ids"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("100 answers, 0 failed"), std::string::npos) << r.err;
  fs::path http_run;
  std::vector<Fields> results;
  for (const fs::path& d : RunDirs()) {
    if (d.filename().string().rfind("api-calls-2", 0) == 0) http_run = d;
  }
  ASSERT_FALSE(http_run.empty());
  ASSERT_TRUE(ReadFields(http_run / "results.jsonl", "results", {"item"}, &results));
  EXPECT_EQ(results.size(), 100u);
  // The service is gone with the script: its port no longer answers.
  const std::string port = Lines(ReadFile(runs_ / "service" / "port")).at(0);
  ProcessResult gone = Run({"curl", "-sS", "--max-time", "5", "http://127.0.0.1:" + port + "/"});
  EXPECT_NE(gone.status, 0) << Describe(gone);
}

// 3. examples/configure-projects: each immediate sub-directory with a
// CMakeLists.txt is configured; its success or failure and its own log.
TEST_F(Examples, ConfigureProjectsReportsEachProject) {
  if (!OnPath("cmake")) GTEST_SKIP() << "cmake is not installed";
  auto project = [&](const std::string& dir, const std::string& name, const std::string& extra) {
    WriteFile(dir_ / "projects" / dir / "CMakeLists.txt",
              "cmake_minimum_required(VERSION 3.13)\n"
              "project(" +
                  name +
                  " LANGUAGES NONE)\n"
                  "message(STATUS \"project " +
                  name + " here\")\n" + extra);
  };
  project("alpha", "alpha", "");
  project("beta", "beta", "");
  project("beta/sub", "nested", "message(FATAL_ERROR \"nested must not be configured\")\n");
  project("gamma delta", "gamma", "");
  project("broken", "broken", "message(FATAL_ERROR \"broken on purpose\")\n");
  project(".hidden", "hidden", "message(FATAL_ERROR \"hidden must not be configured\")\n");
  WriteFile(dir_ / "projects" / "notes" / "README", "not a project\n");
  WriteFile(dir_ / "projects" / "CMakeLists.txt", "message(FATAL_ERROR \"the folder itself\")\n");

  ProcessResult r = RunExample("configure-projects", "projects");
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  std::vector<Fields> results, errors;
  ASSERT_TRUE(ReadFields(run / "results.jsonl", "results", {"item", "exit"}, &results));
  ASSERT_TRUE(ReadFields(run / "errors.jsonl", "errors", {"item", "reason", "stderr"}, &errors));
  EXPECT_EQ(Names(results, "item"), (std::vector<std::string>{"alpha", "beta", "gamma delta"}));
  ASSERT_EQ(Names(errors, "item"), std::vector<std::string>{"broken"});
  EXPECT_EQ(errors[0].at("reason").value_or(""), "exit 1");
  EXPECT_NE(errors[0].at("stderr").value_or("").find("broken on purpose"), std::string::npos);
  EXPECT_EQ(ReadFile(run / "failed.txt"), "broken\n");

  for (const char* name : {"alpha", "beta", "gamma delta"}) {
    EXPECT_TRUE(fs::is_regular_file(run / "out" / name / "CMakeCache.txt")) << name;
  }
  for (const char* name : {"notes", "sub", "nested", ".hidden"}) {
    EXPECT_FALSE(fs::exists(run / "out" / name)) << name;
    EXPECT_FALSE(fs::exists(run / "logs" / (std::string(name) + ".log"))) << name;
  }
  // Each project's output in its own log, and only its own.
  const std::vector<std::string> names = {"alpha", "beta", "gamma", "broken"};
  for (const std::string dir : {"alpha", "beta", "gamma delta", "broken"}) {
    std::string log = ReadFile(run / "logs" / (dir + ".log"));
    std::string name = dir.substr(0, dir.find(' '));
    EXPECT_NE(log.find("-- project " + name + " here\n"), std::string::npos) << dir << ":\n" << log;
    for (const std::string& other : names) {
      if (other == name) continue;
      EXPECT_EQ(log.find("project " + other + " here"), std::string::npos) << dir;
    }
    EXPECT_EQ(LogField(log, "status"), name == "broken" ? "failed: exit 1" : "ok") << log;
    EXPECT_NE(LogField(log, "command").find("cmake -S "), std::string::npos) << log;
  }
  EXPECT_NE(ReadFile(run / "logs" / "broken.log").find("--- stderr ---"), std::string::npos);
}

// 4. examples/command-list: each line a command, at most 4 at a time; each
// one's stdout (of any size), stderr and exit code under its index.
TEST_F(Examples, CommandListKeepsEachCommandsOutput) {
  const std::string running = (dir_ / "running.log").string();
  std::vector<std::string> commands = {
      "echo out-1; echo err-1 >&2",
      "echo out-2; echo err-2 >&2; exit 3",
      "head -c 5000000 /dev/zero | tr '\\0' a; echo err-3 >&2",
      "printf 'no newline'",
      "echo before; echo err-5 >&2; kill -9 $$",
  };
  // A slow one ends only once two have started (or after 10 s): if the run
  // lets them overlap, they do, however the machine schedules them.
  for (int i = 6; i <= 17; ++i) {
    commands.push_back("echo + >> '" + running + "'; i=0; while [ $(grep -c + '" + running +
                       "') -lt 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; " +
                       "sleep 0.3; echo - >> '" + running + "'; echo slow-" + std::to_string(i));
  }
  std::string text;
  for (const std::string& c : commands) text += c + "\n";
  WriteFile(dir_ / "commands.txt", text);

  ProcessResult r = RunExample("command-list", "commands.txt");
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  std::vector<Fields> results, errors;
  ASSERT_TRUE(ReadFields(run / "results.jsonl", "results",
                         {"index", "item", "exit", "output", "output_file"}, &results));
  ASSERT_TRUE(ReadFields(run / "errors.jsonl", "errors",
                         {"index", "item", "reason", "exit", "signal", "output", "stderr"},
                         &errors));
  ASSERT_EQ(results.size() + errors.size(), commands.size());

  // output.order = "input": results in the order of the file.
  std::vector<uint64_t> order;
  for (const Fields& rec : results) order.push_back(std::stoull(*rec.at("index")));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));

  std::map<uint64_t, Fields> by_index;
  for (const auto* records : {&results, &errors}) {
    for (const Fields& rec : *records) {
      uint64_t index = std::stoull(*rec.at("index"));
      ASSERT_TRUE(by_index.emplace(index, rec).second) << "index " << index << " twice";
      ASSERT_GE(index, 1u);
      ASSERT_LE(index, commands.size());
      EXPECT_EQ(rec.at("item").value_or(""), commands[index - 1]);
    }
  }
  EXPECT_EQ(by_index[1].at("output").value_or(""), "out-1\n");
  EXPECT_EQ(by_index[1].at("exit").value_or(""), "0");
  EXPECT_EQ(by_index[2].at("reason").value_or(""), "exit 3");
  EXPECT_EQ(by_index[2].at("exit").value_or(""), "3");
  EXPECT_EQ(by_index[2].at("output").value_or(""), "out-2\n");
  EXPECT_EQ(by_index[2].at("stderr").value_or(""), "err-2\n");
  ASSERT_EQ(by_index[3].at("output_file").value_or(""), "spill/3.stdout");
  EXPECT_EQ(RunFile(run, "spill/3.stdout"), std::string(5000000, 'a'));
  EXPECT_EQ(by_index[4].at("output").value_or(""), "no newline");
  EXPECT_EQ(by_index[5].at("reason").value_or(""), "signal 9");
  EXPECT_EQ(by_index[5].at("signal").value_or(""), "9");
  EXPECT_EQ(by_index[5].at("output").value_or(""), "before\n");
  EXPECT_EQ(by_index[5].at("stderr").value_or(""), "err-5\n");
  for (uint64_t i = 6; i <= commands.size(); ++i) {
    EXPECT_EQ(by_index[i].at("output").value_or(""), "slow-" + std::to_string(i) + "\n");
  }
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted({commands[1], commands[4]}));

  // Each command's stderr, succeeded or not, is in its log (output.item_logs).
  for (uint64_t i : {1, 2, 3, 5}) {
    std::string log = ReadFile(run / "logs" / (std::to_string(i) + ".log"));
    EXPECT_NE(log.find("--- stderr ---\nerr-" + std::to_string(i) + "\n"), std::string::npos)
        << "logs/" << i << ".log:\n"
        << log.substr(0, 2000);
    EXPECT_EQ(LogField(log, "command").rfind("/bin/sh -c ", 0), 0u) << log.substr(0, 2000);
    EXPECT_EQ(LogField(log, "index"), std::to_string(i));
  }

  // Never more than 4 at a time (job.workers), and they did overlap.
  int now = 0, most = 0;
  for (const std::string& mark : Lines(ReadFile(running))) {
    now += mark == "+" ? 1 : -1;
    most = std::max(most, now);
  }
  EXPECT_EQ(now, 0);
  EXPECT_LE(most, 4);
  EXPECT_GE(most, 2);
}

// 5. examples/sync-dirs: every top-level directory but the excluded ones
// rsync'd to the destination, 75 at a time, a log per directory.
TEST_F(Examples, SyncDirsMirrorsAllButExcludedWithALogEach) {
  if (!OnPath("rsync")) GTEST_SKIP() << "rsync is not installed (scripts/setup.sh installs it)";
  const fs::path source = dir_ / "source";
  std::vector<std::string> synced;
  for (int i = 0; i < 30; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "d%02d", i);
    synced.push_back(name);
  }
  synced.insert(synced.end(), {"with space", "co:lon", "-dash", "tmp-not-excluded"});
  for (size_t i = 0; i < synced.size(); ++i) {
    const fs::path d = source / synced[i];
    for (size_t j = 0; j < i % 5 + 1; ++j) {
      const std::string n = std::to_string(j);
      WriteFile(d / ("f" + n + ".bin"), Bytes(i * 997 + j * 13, i * 31 + j));
      WriteFile(d / "sub" / "deeper" / ("g" + n), Bytes(j * 101, i + j));
    }
    fs::create_directories(d / "empty");
    fs::create_symlink("sub/deeper/g0", d / "link");
    ::chmod((d / "f0.bin").c_str(), 0600);
  }
  const std::vector<std::string> excluded = {"tmp", "lost+found", "build.tmp", "upload.partial"};
  for (const std::string& name : excluded) WriteFile(source / name / "x", "excluded\n");
  WriteFile(source / "top-level-file", "files at the top are not items\n");
  const fs::path dest = dir_ / "dest";
  fs::create_directories(dest);

  ProcessResult r = RunExample("sync-dirs", "source", {"--set", "command.cwd=" + dest.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  std::vector<Fields> results, errors;
  ASSERT_TRUE(ReadFields(run / "results.jsonl", "results", {"item"}, &results));
  ASSERT_TRUE(ReadFields(run / "errors.jsonl", "errors", {"item", "reason"}, &errors));
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << *errors[0].at("item");
  EXPECT_EQ(Names(results, "item"), Sorted(synced));

  // dest mirrors source, directory by directory, and holds nothing else.
  std::vector<std::string> in_dest;
  for (const auto& entry : fs::directory_iterator(dest)) {
    in_dest.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(Sorted(in_dest), Sorted(synced));
  for (const std::string& name : synced) {
    EXPECT_EQ(TreeOf(dest / name), TreeOf(source / name)) << name;
  }

  // A log per synced directory, none for the excluded; log.txt brackets the run.
  for (const std::string& name : synced) {
    std::string log = ReadFile(run / "logs" / (name + ".log"));
    EXPECT_EQ(LogField(log, "status"), "ok") << name << ":\n" << log;
    EXPECT_NE(LogField(log, "command").find("rsync -a"), std::string::npos) << log;
    EXPECT_NE(log.find("f0.bin"), std::string::npos) << "no itemized file list:\n" << log;
  }
  for (const std::string& name : excluded) EXPECT_FALSE(fs::exists(run / "logs" / (name + ".log")));
  std::vector<std::string> log_txt = Lines(ReadFile(run / "log.txt"));
  ASSERT_GE(log_txt.size(), 2u);
  const std::regex stamped(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )");
  EXPECT_TRUE(std::regex_search(log_txt.front(), stamped)) << log_txt.front();
  EXPECT_TRUE(std::regex_search(log_txt.back(), stamped)) << log_txt.back();
  EXPECT_TRUE(std::any_of(log_txt.begin(), log_txt.end(), [](const std::string& l) {
    return l.find("summary") != l.npos;
  })) << "no summary line in log.txt";

  // Again after a change: only the changed file is transferred.
  WriteFile(source / "d03" / "f0.bin", "changed, and of another size\n");
  std::set<fs::path> before = RunDirs();
  r = RunExample("sync-dirs", "source", {"--set", "command.cwd=" + dest.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path again;
  ASSERT_TRUE(NewRunDir(before, &again));
  EXPECT_EQ(ReadFile(dest / "d03" / "f0.bin"), "changed, and of another size\n");
  EXPECT_NE(ReadFile(again / "logs" / "d03.log").find("f0.bin"), std::string::npos);
  EXPECT_EQ(ReadFile(again / "logs" / "d04.log").find("--- stdout ---"), std::string::npos)
      << "an unchanged directory transferred something";
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
