// End-to-end runs of the plugin handler: the built shoal with the example
// plugins (examples/plugins) and a test plugin that crashes on purpose
// (tests/plugins/crashy.c). tests/CMakeLists.txt passes the libraries' paths.
#include <regex>

#include "tests/e2e_support.h"

#if !defined(SHOAL_NOOP_PLUGIN) || !defined(SHOAL_FAILSOME_PLUGIN) || \
    !defined(SHOAL_WORDCOUNT_PLUGIN) || !defined(SHOAL_CRASHY_PLUGIN)
#error "tests/CMakeLists.txt passes the plugins' paths to this file"
#endif

namespace shoal {
namespace e2e {
namespace {

class E2ePlugin : public E2e {
 protected:
  // items.txt with "item 1" .. "item N"; returns the items.
  std::vector<std::string> WriteList(int n) {
    std::vector<std::string> items;
    std::string list;
    for (int i = 1; i <= n; ++i) {
      items.push_back("item " + std::to_string(i));
      list += items.back() + "\n";
    }
    WriteFile(dir_ / "items.txt", list);
    return items;
  }

  void WriteSettings(const std::string& library, const std::string& config,
                     const std::string& job_extra = "") {
    WriteFile(dir_ / "settings.toml",
              "[job]\n"
              "name = \"plugin\"\n"
              "handler = \"plugin\"\n" +
                  job_extra +
                  "\n"
                  "[input]\n"
                  "path = \"items.txt\"\n"
                  "\n"
                  "[plugin]\n"
                  "library = \"" +
                  library + "\"\nconfig = " + config + "\n");
  }

  // The "attempts" of each record in an errors.jsonl that check_records.py
  // accepted (so every line is one valid record), by item.
  std::map<std::string, int> AttemptsByItem(const fs::path& file) {
    std::map<std::string, int> attempts;
    const std::regex field(R"re("item":"([^"]*)".*"attempts":(\d+))re");
    for (const std::string& line : Lines(ReadFile(file))) {
      std::smatch m;
      if (std::regex_search(line, m, field)) attempts[m[1]] = std::stoi(m[2]);
    }
    return attempts;
  }
};

// a. The noop plugin over 5,000 list items: every one succeeds, once.
TEST_F(E2ePlugin, NoopRunsEveryItemOnce) {
  std::vector<std::string> items = WriteList(5000);
  WriteSettings(SHOAL_NOOP_PLUGIN, "{}", "workers = 2\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  EXPECT_EQ(results.size(), 5000u);
  EXPECT_TRUE(errors.empty());
  ExpectEachItemOnce(results, errors, items);
  for (const Record& rec : results) {
    ASSERT_EQ(rec.item, items[rec.index - 1]);
    ASSERT_EQ(rec.output.value_or(""), "");
  }
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");
}

// b. failsome: the plugin's reasons in errors.jsonl, failed.txt lists exactly
// those items, and its log lines reach log.txt.
TEST_F(E2ePlugin, FailsomeReasonsFailedListAndLogLines) {
  std::vector<std::string> items = WriteList(200);
  WriteSettings(SHOAL_FAILSOME_PLUGIN, "{ every = 7 }", "workers = 3\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);

  std::map<std::string, std::string> expected;
  for (int i = 7; i <= 200; i += 7) {
    expected["item " + std::to_string(i)] = "failed by plugin: index " + std::to_string(i);
  }
  EXPECT_EQ(ReasonsByItem(errors), expected);
  std::vector<std::string> failed;
  for (const auto& [item, reason] : expected) failed.push_back(item);
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), failed);
  EXPECT_EQ(results.size(), 200u - expected.size());

  // Each item logged "seen <item>", as "worker W item I: seen <item>".
  std::string log = ReadFile(run / "log.txt");
  int missing = 0;
  for (size_t i = 1; i <= items.size(); ++i) {
    std::regex line("worker \\d+ item " + std::to_string(i) + ": seen " + items[i - 1] + "\n");
    if (!std::regex_search(log, line) && ++missing <= 5) {
      ADD_FAILURE() << "log.txt lacks the line of item " << i;
    }
  }
  EXPECT_EQ(missing, 0);
}

// c. wordcount, as examples/plugins/wordcount.toml ships, on generated files:
// the same numbers as `wc -l -w -c`.
TEST_F(E2ePlugin, WordcountMatchesWc) {
  // Printable ASCII words: in the C locale wc does not count a run of only
  // non-printable bytes (or bytes >= 0x80) as a word; the plugin follows POSIX
  // (any run of non-space bytes), and the two agree on text like this.
  const std::vector<std::string> words = {"a", "shoal", "of", "fish", "x1", "--", "{}", "ZZZ"};
  const std::vector<std::string> gaps = {" ", "  ", "\t", "\n", " \n", "\n\n", "\r\n", "\v", "\f"};
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  std::vector<std::string> rels;
  for (int i = 0; i < 60; ++i) {
    std::string rel =
        (i % 3 ? "sub" + std::to_string(i % 4) + "/" : "") + "f" + std::to_string(i) + ".txt";
    std::string text;
    size_t n = i == 0 ? 0 : next() % (i * 200);  // f0.txt is empty
    if (i % 5 == 1) text += "   ";               // leading blanks
    for (size_t w = 0; w < n; ++w) {
      text += words[next() % words.size()];
      text += gaps[next() % gaps.size()];
    }
    if (i % 2) text += "no final newline";
    WriteFile(dir_ / "data" / rel, text);
    rels.push_back(rel);
  }
  std::vector<std::string> args{
      "run",   std::string(SHOAL_TESTS_DIR) + "/../examples/plugins/wordcount.toml",
      "-i",    (dir_ / "data").string(),
      "-o",    runs_.string(),
      "--set", std::string("plugin.library=") + SHOAL_WORDCOUNT_PLUGIN,
      "-j",    "2"};
  ProcessResult r = Shoal(args);
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, rels);

  // wc in the C locale (bytes, not characters, decide what a space is).
  std::vector<std::string> wc{"env", "LC_ALL=C", "wc", "-l", "-w", "-c", "--"};
  for (const std::string& rel : rels) wc.push_back((dir_ / "data" / rel).string());
  ProcessResult counted = Run(wc);
  ASSERT_EQ(counted.status, 0) << Describe(counted);
  std::map<std::string, std::string> expected;
  const std::regex row(R"(^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$)");
  std::string data_prefix = (dir_ / "data").string() + "/";
  for (const std::string& line : Lines(counted.out)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, row)) << line;
    std::string name = m[4];
    if (!name.starts_with(data_prefix)) continue;  // the "total" line
    expected[name.substr(data_prefix.size())] =
        "{\"lines\":" + m[1].str() + ",\"words\":" + m[2].str() + ",\"bytes\":" + m[3].str() + "}";
  }
  ASSERT_EQ(expected.size(), rels.size());
  for (const Record& rec : results) {
    EXPECT_EQ(rec.output.value_or("(none)"), expected[rec.item]) << rec.item;
  }
}

// d. A plugin that crashes on one item kills its worker: with job.retries = 1
// the item gets a second attempt in a fresh worker, then fails as "worker
// died: signal 11"; every other item succeeds.
TEST_F(E2ePlugin, CrashingItemFailsAfterRetriesOthersSucceed) {
  std::vector<std::string> items = WriteList(40);
  WriteSettings(SHOAL_CRASHY_PLUGIN, "{ crash_on = \"item 13\" }", "workers = 2\nretries = 1\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "item 13");
  const std::string reason = errors[0].reason.value_or("");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // A sanitizer runtime may report the fault and exit instead of dying of it.
  EXPECT_TRUE(reason.starts_with("worker died: ")) << reason;
#else
  EXPECT_TRUE(reason.starts_with("worker died: signal 11")) << reason;
#endif
  EXPECT_EQ(AttemptsByItem(run / "errors.jsonl")["item 13"], 2);
  for (const Record& rec : results) EXPECT_EQ(rec.output.value_or(""), rec.item);
  EXPECT_EQ(ReadFile(run / "failed.txt"), "item 13\n");
}

// e. A library that does not exist: the run stops at once with a message
// naming it, and no item runs.
TEST_F(E2ePlugin, MissingLibraryStopsTheRunNamingIt) {
  WriteList(10);
  WriteSettings("no-such-dir/libmissing.so", "{}", "workers = 2\n");
  ProcessResult r = RunJob({}, seconds(60));
  EXPECT_NE(r.status, 0) << Describe(r);
  EXPECT_NE(r.status, kTimedOut) << Describe(r);
  EXPECT_NE(r.err.find("plugin.library /"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/no-such-dir/libmissing.so does not exist"), std::string::npos) << r.err;
  fs::path run;
  if (NewRunDir({}, &run)) {
    std::vector<Record> results, errors;
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    EXPECT_TRUE(results.empty());
  }
}

// A not-a-library file and a missing config key: refused alike, with the reason.
TEST_F(E2ePlugin, UnloadableLibraryAndFailingInitStopTheRun) {
  WriteList(3);
  WriteFile(dir_ / "libtext.so", "just text\n");
  WriteSettings("libtext.so", "{}");
  ProcessResult r = RunJob({}, seconds(60));
  EXPECT_NE(r.status, 0) << Describe(r);
  EXPECT_NE(r.status, kTimedOut) << Describe(r);
  EXPECT_NE(r.err.find("libtext.so cannot be loaded"), std::string::npos) << r.err;

  WriteSettings(SHOAL_FAILSOME_PLUGIN, "{}");
  r = RunJob({}, seconds(60));
  EXPECT_NE(r.status, 0) << Describe(r);
  EXPECT_NE(r.status, kTimedOut) << Describe(r);
  EXPECT_NE(r.err.find("init failed: plugin.config.every is required"), std::string::npos) << r.err;
}

#ifdef SHOAL_ZSTD_PLUGIN
// The zstd example: {out}/<name>.zst mirrors the tree and decompresses to the input.
TEST_F(E2ePlugin, ZstdCompressesIntoOutMirroringTheTree) {
  if (Run({"sh", "-c", "command -v zstd"}).status != 0) GTEST_SKIP() << "no zstd program";
  std::vector<std::string> rels;
  for (int i = 0; i < 20; ++i) {
    std::string rel = "d";
    rel.append(std::to_string(i % 3)).append("/file ").append(std::to_string(i)).append(".log");
    std::string text;
    for (int j = 0; j < i * 500; ++j) text += "line " + std::to_string(j % 17) + "\n";
    WriteFile(dir_ / "data" / rel, text);
    rels.push_back(rel);
  }
  WriteFile(dir_ / "settings.toml", std::string("[job]\nname = \"z\"\nhandler = \"plugin\"\n") +
                                        "[input]\npath = \"data\"\n[plugin]\nlibrary = \"" +
                                        SHOAL_ZSTD_PLUGIN + "\"\nconfig = { level = 5 }\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, rels);
  for (const std::string& rel : rels) {
    fs::path packed = run / "out" / (rel + ".zst");
    ASSERT_TRUE(fs::is_regular_file(packed)) << packed;
    ProcessResult d = Run({"zstd", "-d", "-q", "-c", packed.string()});
    ASSERT_EQ(d.status, 0) << Describe(d);
    EXPECT_EQ(d.out, ReadFile(dir_ / "data" / rel)) << rel;
  }
}
#endif

}  // namespace
}  // namespace e2e
}  // namespace shoal
