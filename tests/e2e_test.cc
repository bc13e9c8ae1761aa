// End-to-end tests: run the built `shoal` binary (SHOAL_BIN) on data each test
// generates in a fresh temporary directory, and check the run directory that
// the README promises. Records are read by python3's json module through
// tests/check_records.py: a strict parser independent of shoal's own writer.
// Processes are started with posix_spawn, stdin from /dev/null, in their own
// process group so that a hung run is killed whole at its deadline.

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// a. sha256 over a tree whose names need quoting in every shell.
TEST_F(E2e, Sha256TreeWithAwkwardNamesMatchesSha256sum) {
  const std::vector<std::string> dirs = {"plain", "with space", "-dash",
                                         "é日本", "a/b/deep",   "q'uote"};
  const std::vector<std::string> stems = {"-lead",       "sp ace", "single'q", "double\"q",
                                          "dollar$HOME", "café",   "日本語",   "plain"};
  std::vector<std::string> rels;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 2000; ++i) {
    std::string rel = dirs[i % dirs.size()] + "/" + stems[i % stems.size()] + " " +
                      std::to_string(i) + (i % 3 ? ".bin" : "");
    std::string content((i * 7919) % 5000, '\0');  // i = 0: an empty file
    for (char& c : content) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      c = static_cast<char>(state >> 56);
    }
    WriteFile(dir_ / "data" / rel, content);
    rels.push_back(rel);
  }
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"sums\"\n"
            "handler = \"sha256\"\n"
            "\n"
            "[input]\n"
            "path = \"data\"\n"
            "\n"
            "[output]\n"
            "dir = \"runs\"\n"
            "format = \"jsonl\"\n");

  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  for (const char* name :
       {"settings.toml", "results.jsonl", "errors.jsonl", "failed.txt", "log.txt"}) {
    EXPECT_TRUE(fs::is_regular_file(run / name)) << name << " missing in " << run;
  }
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors[0].item << ": "
                              << errors[0].reason.value_or("");
  ExpectEachItemOnce(results, errors, rels);
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");

  // sha256sum -z: NUL-terminated lines and no escaping of file names.
  std::vector<std::string> argv{"sha256sum", "-z", "--"};
  argv.insert(argv.end(), rels.begin(), rels.end());
  Child sums(argv, dir_ / "data", NextCapture());
  ProcessResult s = sums.Wait(seconds(60));
  ASSERT_EQ(s.status, 0) << Describe(s);
  std::map<std::string, std::string> expected;
  size_t start = 0;
  while (start < s.out.size()) {
    size_t end = s.out.find('\0', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = s.out.substr(start, end - start);
    ASSERT_GT(line.size(), 66u) << line;
    expected[line.substr(66)] = line.substr(0, 64);
    start = end + 1;
  }
  ASSERT_EQ(expected.size(), rels.size());
  int mismatches = 0;
  for (const Record& rec : results) {
    auto it = expected.find(rec.item);
    ASSERT_NE(it, expected.end()) << "unexpected item " << rec.item;
    if (rec.output.value_or("") != it->second && ++mismatches <= 5) {
      ADD_FAILURE() << rec.item << ": shoal says " << rec.output.value_or("(no output)")
                    << ", sha256sum says " << it->second;
    }
  }
  EXPECT_EQ(mismatches, 0);

  std::vector<std::string> log = Lines(ReadFile(run / "log.txt"));
  ASSERT_FALSE(log.empty()) << "log.txt is empty";
  const std::regex timestamp(R"(\d\d:\d\d:\d\d)");
  EXPECT_TRUE(std::regex_search(log.front(), timestamp)) << "no timestamp: " << log.front();
  EXPECT_TRUE(std::regex_search(log.back(), timestamp)) << "no timestamp: " << log.back();
}

// b. A list of 10,000 lines, one process each.
TEST_F(E2e, TenThousandListItemsEachRunOnce) {
  std::vector<std::string> lines;
  std::string list;
  for (int i = 1; i <= 10000; ++i) {
    lines.push_back("line " + std::to_string(i) + (i % 2 ? " é" : " $x 'q'"));
    list += lines.back() + "\n";
  }
  WriteFile(dir_ / "items.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"lines\"\n"
            "handler = \"command\"\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"printf\", \"%s\", \"{item}\"]\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors, {}, seconds(280)));
  EXPECT_EQ(errors.size(), 0u);
  ASSERT_EQ(results.size(), 10000u);
  std::vector<int> seen(10001, 0);
  int wrong = 0;
  for (const Record& rec : results) {
    ASSERT_GE(rec.index, 1u);
    ASSERT_LE(rec.index, 10000u);
    ++seen[rec.index];
    const std::string& line = lines[rec.index - 1];
    if ((rec.item != line || rec.output.value_or("") != line) && ++wrong <= 5) {
      ADD_FAILURE() << "index " << rec.index << ": item '" << rec.item << "', output '"
                    << rec.output.value_or("(none)") << "', expected '" << line << "'";
    }
  }
  EXPECT_EQ(wrong, 0);
  for (int i = 1; i <= 10000; ++i) EXPECT_EQ(seen[i], 1) << "index " << i;
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");
}

// c, d. Failures: exit codes and signals are reasons; failed.txt restarts exactly them.
class E2eFailures : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    std::string list;
    for (int i = 1; i <= 30; ++i) {
      std::string item = "item " + std::to_string(i);
      list += item + "\n";
      all_.push_back(item);
      if (i % 10 == 3) expected_[item] = "exit 3";
      if (i % 10 == 7) expected_[item] = "signal 9";
    }
    WriteFile(dir_ / "items.txt", list);
    WriteFile(dir_ / "settings.toml",
              "[job]\n"
              "name = \"failures\"\n"
              "workers = 3\n"
              "handler = \"command\"\n"
              "\n"
              "[input]\n"
              "path = \"items.txt\"\n"
              "\n"
              "[command]\n"
              "argv = [\"sh\", \"-c\", 'case \"$1\" in *3) exit 3;; *7) kill -9 $$;; esac', "
              "\"sh\", \"{item}\"]\n");
  }

  std::vector<std::string> ExpectedFailedItems() const {
    std::vector<std::string> items;
    for (const auto& [item, reason] : expected_) items.push_back(item);
    return items;
  }

  // A finished run that ran `items` and failed exactly expected_'s items.
  void ExpectFailures(const fs::path& run, const std::vector<std::string>& items) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    ExpectEachItemOnce(results, errors, items);
    EXPECT_EQ(ReasonsByItem(errors), expected_);
    EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), ExpectedFailedItems());
  }

  std::vector<std::string> all_;
  std::map<std::string, std::string> expected_;  // failed item -> reason
};

TEST_F(E2eFailures, ReasonsAndFailedListThenItemsRerun) {
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path first;
  ASSERT_TRUE(NewRunDir({}, &first));
  ExpectFailures(first, all_);

  std::set<fs::path> before = RunDirs();
  r = RunJob({"--items", (first / "failed.txt").string()});
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path second;
  ASSERT_TRUE(NewRunDir(before, &second));
  ExpectFailures(second, ExpectedFailedItems());
}

TEST_F(E2eFailures, RetryRunsExactlyTheFailedItems) {
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path first;
  ASSERT_TRUE(NewRunDir({}, &first));

  std::set<fs::path> before = RunDirs();
  r = Shoal({"retry", first.string()});
  ASSERT_EQ(r.status, 1) << Describe(r);
  // The retry completes the run in its own directory: every item once, the
  // failed ones failed again, the first failures kept under retries/1.
  EXPECT_EQ(RunDirs(), before);
  ExpectFailures(first, all_);
  EXPECT_EQ(Sorted(Lines(ReadFile(first / "retries/1/failed.txt"))), ExpectedFailedItems());
}

TEST_F(E2e, MissingProgramFailsOnlyItsItem) {
  WriteFile(dir_ / "items.txt", "true\nno-such-program-xyz\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"missing\"\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"{item}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_EQ(Items(results), std::vector<std::string>{"true"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "no-such-program-xyz");
  EXPECT_TRUE(errors[0].reason.value_or("").starts_with("not found"))
      << "reason: " << errors[0].reason.value_or("");
  EXPECT_EQ(ReadFile(run / "failed.txt"), "no-such-program-xyz\n");
}

// e. 100 MB on stdout is spilled to a file, not held in memory.
TEST_F(E2e, HugeStdoutIsSpilledToAFile) {
  constexpr uintmax_t kSize = 104857600;
  WriteFile(dir_ / "items.txt", "big\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"big\"\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"head\", \"-c\", \"104857600\", \"/dev/zero\"]\n"
            "stdout = \"result\"\n");

  // Peak RSS of shoal and every process it waited for, from GNU time.
  bool measure = fs::exists("/usr/bin/time");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  measure = false;  // sanitizer runtimes reserve and touch far more memory
#endif
  std::vector<std::string> argv = WithShoal({"run", "settings.toml", "-o", runs_.string()});
  if (measure) argv.insert(argv.begin(), {"/usr/bin/time", "-v"});
  ProcessResult r = Run(argv);
  ASSERT_EQ(r.status, 0) << Describe(r);

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].output_file.has_value()) << "no output_file in the record";
  fs::path spilled = *results[0].output_file;
  if (spilled.is_relative()) spilled = run / spilled;
  ASSERT_TRUE(fs::is_regular_file(spilled)) << spilled;
  std::string run_prefix = fs::canonical(run).string() + "/";
  EXPECT_TRUE(fs::canonical(spilled).string().starts_with(run_prefix))
      << spilled << " is outside the run directory " << run;
  EXPECT_EQ(fs::file_size(spilled), kSize);
  // The spilled output is not also copied whole into the record.
  EXPECT_LT(fs::file_size(run / "results.jsonl"), 16u << 20);

  if (measure) {
    std::smatch m;
    const std::regex rss(R"(Maximum resident set size \(kbytes\): (\d+))");
    ASSERT_TRUE(std::regex_search(r.err, m, rss)) << r.err;
    EXPECT_LT(std::stoull(m[1]), 200u * 1024) << "peak RSS in KiB";
  }
}

// Many workers get small rings (common/channel.h RingSizesFor): a 60 KiB
// output is longer than a ring then and crosses in pieces. Every record must
// come out whole, in results and in errors.
TEST_F(E2e, HundredWorkersPassLargeOutputsWhole) {
  constexpr int kItems = 300;
  constexpr size_t kBytes = 60 * 1024;
  std::string list;
  for (int i = 1; i <= kItems; ++i) list += "item" + std::to_string(i) + "\n";
  WriteFile(dir_ / "items.txt", list);
  WriteFile(
      dir_ / "settings.toml",
      "[job]\n"
      "name = \"wide\"\n"
      "workers = 100\n"
      "\n"
      "[input]\n"
      "path = \"items.txt\"\n"
      "\n"
      "[command]\n"
      "argv = [\"sh\", \"-c\", 'yes \"$1\" | head -c 61440; case \"$1\" in *5) exit 1;; esac', "
      "\"sh\", \"{item}\"]\n"
      "stdout = \"result\"\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {}, seconds(280)));
  std::vector<std::string> all;
  for (int i = 1; i <= kItems; ++i) all.push_back("item" + std::to_string(i));
  ExpectEachItemOnce(results, errors, all);
  EXPECT_EQ(errors.size(), static_cast<size_t>(kItems / 10));
  int wrong = 0;
  for (const std::vector<Record>* records : {&results, &errors}) {
    for (const Record& rec : *records) {
      std::string expected;
      while (expected.size() < kBytes) expected += rec.item + "\n";
      expected.resize(kBytes);
      if (rec.output != expected && ++wrong <= 3) {
        ADD_FAILURE() << rec.item << ": output of " << rec.output.value_or("(none)").size()
                      << " bytes is not " << kBytes << " bytes of its own lines";
      }
    }
  }
  EXPECT_EQ(wrong, 0);
}

// A list item longer than the task ring of a run with many workers (64 KiB
// then) fails alone, with its reason; the others run.
TEST_F(E2e, ItemLongerThanASmallTaskRingFailsAlone) {
  const std::string long_item(100 * 1024, 'x');
  WriteFile(dir_ / "items.txt", "short1\n" + long_item + "\nshort2\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"long\"\n"
            "workers = 100\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"true\", \"{item}\"]\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, {"short1", long_item, "short2"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, long_item);
  EXPECT_EQ(errors[0].reason.value_or(""), "item too long for the task ring");
}

// f. Bad settings: exit 2, the error names FILE:LINE:COL, nothing runs.
class E2eBadSettings : public E2e {
 protected:
  void ExpectRejected(const std::string& toml, const std::vector<std::string>& needles) {
    fs::create_directories(dir_ / "data");
    WriteFile(dir_ / "data" / "a.txt", "a\n");
    WriteFile(dir_ / "settings.toml", toml);
    ProcessResult r = RunJob();
    EXPECT_EQ(r.status, 2) << Describe(r);
    for (const std::string& needle : needles) {
      EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr lacks \"" << needle << "\":\n"
                                                       << r.err;
    }
    EXPECT_TRUE(RunDirs().empty()) << "a run directory was created";
  }
};

TEST_F(E2eBadSettings, MalformedToml) {
  ExpectRejected("[job]\nname = \"bad\"\nworkers = 4 5\n", {"settings.toml:3:13"});
}

TEST_F(E2eBadSettings, WrongType) {
  ExpectRejected("[job]\nname = \"bad\"\nworkers = \"four\"\n", {"settings.toml:3:11"});
}

TEST_F(E2eBadSettings, UnknownKeySuggestsTheRightOne) {
  ExpectRejected("[job]\nname = \"bad\"\nworker = 2\n",
                 {"settings.toml:3:1", "did you mean", "workers"});
}

TEST_F(E2eBadSettings, BadDuration) {
  ExpectRejected("[job]\nname = \"bad\"\ntimeout = \"10x\"\n", {"settings.toml:3:11"});
}

TEST_F(E2eBadSettings, MissingInputPath) {
  ExpectRejected("[job]\nname = \"bad\"\n\n[input]\npath = \"no-such-input\"\n", {"input.path"});
}

// g. Shared memory: 0600 while running, gone afterwards. CMake runs this suite
// alone (RUN_SERIAL) so that no other test's objects come and go meanwhile.
class E2eShm : public E2e {};

TEST_F(E2eShm, ObjectsArePrivateAndRemoved) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  std::string list;
  for (int i = 1; i <= 20; ++i) list += std::to_string(i) + "\n";
  WriteFile(dir_ / "items.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"slow\"\n"
            "workers = 2\n"
            "\n"
            "[input]\n"
            "path = \"items.txt\"\n"
            "\n"
            "[command]\n"
            "argv = [\"sleep\", \"0.2\"]\n");
  // A master names its objects shoal-<pid>-<random>: watch only this run's,
  // so that other shoal runs on the machine cannot disturb the test.
  auto ours = [](pid_t master) {
    std::vector<std::string> names;
    for (const std::string& name : DevShmEntries()) {
      if (name.starts_with("shoal-" + std::to_string(master) + "-")) names.push_back(name);
    }
    return names;
  };

  Child child(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  const pid_t master = child.pid();
  std::set<std::string> seen;
  auto deadline = steady_clock::now() + seconds(120);
  while (!child.Exited() && steady_clock::now() < deadline) {
    for (const std::string& name : ours(master)) {
      struct stat st;
      if (lstat(("/dev/shm/" + name).c_str(), &st) != 0) continue;  // just removed
      if (seen.insert(name).second) {
        EXPECT_EQ(st.st_mode & 07777, 0600u) << "/dev/shm/" << name;
        EXPECT_EQ(st.st_uid, geteuid()) << "/dev/shm/" << name;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ProcessResult r = child.Wait(seconds(1));
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_FALSE(seen.empty()) << "no /dev/shm/shoal-" << master << "-* object was seen";
  EXPECT_EQ(ours(master), std::vector<std::string>{}) << "after a successful run";

  WriteFile(dir_ / "bad.toml", "[job]\nname = \"bad\"\n\n[input]\npath = \"no-such-input\"\n");
  Child bad(WithShoal({"run", "bad.toml", "-o", runs_.string()}), dir_, NextCapture());
  const pid_t bad_master = bad.pid();
  r = bad.Wait(seconds(60));
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_EQ(ours(bad_master), std::vector<std::string>{}) << "after a run rejected with exit 2";
}

// Every byte string a name can be (issue 4): through a run, into failed.txt in
// the input's own NUL-separated form, and back with --items, unchanged.
TEST_F(E2e, AwkwardItemsRoundTripThroughFailedListWithNulSeparator) {
  const std::vector<std::string> items = {"with space",
                                          "quote'single",
                                          "dq\"double",
                                          "$HOME",
                                          "*glob*",
                                          "new\nline",
                                          "-n",
                                          "--",
                                          "tab\there",
                                          "back\\slash",
                                          "inv\xff\xfeutf8",
                                          "\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac",
                                          "ctrl\x01x",
                                          "trailing space ",
                                          " leading"};
  std::string list;
  for (const std::string& item : items) list += item + '\0';
  WriteFile(dir_ / "items.bin", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"awkward\"\nworkers = 2\n\n[input]\npath = \"items.bin\"\n"
            "separator = \"nul\"\n\n[command]\n"
            "argv = [\"sh\", \"-c\", \"printf %s \\\"$1\\\"; exit 3\", \"sh\", \"{item}\"]\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  std::set<fs::path> dirs = RunDirs();
  ASSERT_EQ(dirs.size(), 1u);
  fs::path first = *dirs.begin();
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(first, &results, &errors));
  EXPECT_TRUE(results.empty());
  ExpectEachItemOnce(results, errors, items);
  for (const Record& e : errors) {
    EXPECT_EQ(e.reason.value_or(""), "exit 3") << e.item;
    EXPECT_EQ(e.output.value_or(""), e.item) << "the item reached argv changed";
  }
  // failed.txt is the input's own form: NUL-terminated items, each exactly once.
  std::vector<std::string> listed;
  std::string failed = ReadFile(first / "failed.txt");
  ASSERT_FALSE(failed.empty());
  ASSERT_EQ(failed.back(), '\0');
  for (size_t start = 0; start < failed.size();) {
    size_t end = failed.find('\0', start);
    listed.push_back(failed.substr(start, end - start));
    start = end + 1;
  }
  EXPECT_EQ(Sorted(listed), Sorted(items));

  // Back through --items with a command that succeeds: the same bytes arrive.
  r = RunJob({"--items", (first / "failed.txt").string(), "--set",
              "command.argv=[\"printf\", \"%s\", \"{item}\"]"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::set<fs::path> after = RunDirs();
  ASSERT_EQ(after.size(), 2u);
  after.erase(first);
  ASSERT_TRUE(ReadRun(*after.begin(), &results, &errors));
  EXPECT_TRUE(errors.empty());
  ExpectEachItemOnce(results, errors, items);
  for (const Record& res : results) EXPECT_EQ(res.output.value_or(""), res.item);
}

// A slow producer on standard input must not stall the master: while the
// pipe is idle it still drains and writes what finished (and hears signals).
TEST_F(E2e, SlowStandardInputDoesNotStallTheMaster) {
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"stdin\"\nworkers = 1\n\n[input]\npath = \"-\"\n\n"
            "[command]\nargv = [\"printf\", \"%s\", \"{item}\"]\n");
  // The producer sends the second item only once the first one's record is
  // on disk: a master that waited for more input would wait forever.
  std::vector<std::string> shoal = WithShoal({"run", "settings.toml", "-o", runs_.string()});
  std::string command = "(echo first; until grep -qs '\"first\"' '" + runs_.string() +
                        "'/*/results.jsonl; do sleep 0.05; done; echo second) | '" + shoal[0] +
                        "' run settings.toml -o '" + runs_.string() + "'";
  Child child({"sh", "-c", command}, dir_, NextCapture());
  bool recorded = false;
  WaitFor(
      [&] {
        std::set<fs::path> dirs = RunDirs();
        recorded = !dirs.empty() &&
                   ReadFile(*dirs.begin() / "results.jsonl").find("\"first\"") != std::string::npos;
        return recorded || child.Exited();
      },
      seconds(60));
  EXPECT_TRUE(recorded) << "the first item's record did not appear while the producer waited";
  // The destructor kills the pipeline's process group.
}

// -v: log.txt lines (worker starts, retries, handler logs) also go to stderr.
TEST_F(E2e, VerboseEchoesTheLogToStderr) {
  WriteFile(dir_ / "items.txt", "a\nb\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"verbose\"\nworkers = 1\n\n[input]\npath = \"items.txt\"\n\n"
            "[command]\nargv = [\"true\"]\n");
  ProcessResult quiet = RunJob();
  ASSERT_EQ(quiet.status, 0) << Describe(quiet);
  EXPECT_EQ(quiet.err.find("worker 1 started"), std::string::npos) << quiet.err;
  ProcessResult loud = RunJob({"-v"});
  ASSERT_EQ(loud.status, 0) << Describe(loud);
  EXPECT_NE(loud.err.find("worker 1 started"), std::string::npos) << loud.err;
  EXPECT_NE(loud.err.find("summary:"), std::string::npos) << loud.err;
}

// h. check and init.
TEST_F(E2e, CheckPrintsEffectiveSettingsAndInitWritesAValidFile) {
  WriteFile(dir_ / "data" / "one.txt", "1\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"checked\"\n"
            "handler = \"sha256\"\n"
            "\n"
            "[input]\n"
            "path = \"data\"\n");
  ProcessResult r = Shoal({"check", "settings.toml"});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.out.find("[job]"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(runs_)) << "check created " << runs_;

  r = Shoal({"init", (dir_ / "s.toml").string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  ASSERT_TRUE(fs::is_regular_file(dir_ / "s.toml"));
  r = Shoal({"check", (dir_ / "s.toml").string(), "-i", (dir_ / "data").string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.out.find("[job]"), std::string::npos) << r.out;

  // A run directory's settings.toml is itself valid settings (retry and resume use it).
  r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  r = Shoal({"check", (run / "settings.toml").string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.out.find("[job]"), std::string::npos) << r.out;
}

// What the user gave is wrong: exit 2, nothing made. The system refused an
// operation the run needs: exit 3, whatever the settings say.
TEST_F(E2e, ExitStatusSaysWhoseProblemItIs) {
  WriteFile(dir_ / "items.txt", "a\n");
  WriteFile(dir_ / "settings.toml",
            "[input]\npath = \"items.txt\"\n[command]\nargv = [\"true\"]\n");
  ProcessResult r = RunJob({"-i", "missing.txt"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_FALSE(fs::exists(runs_));

  WriteFile(dir_ / "not-a-dir", "");
  r = Shoal({"run", "settings.toml", "-o", (dir_ / "not-a-dir" / "runs").string()});
  EXPECT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("cannot create output.dir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
