// The plugin handler against real shared libraries: the example plugins
// (examples/plugins) and tests/plugins/probe.c, whose items are instructions
// that exercise each sink function. tests/CMakeLists.txt builds them and
// passes their paths in.
#include "worker/plugin_handler.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/test_util.h"

#if !defined(SHOAL_PROBE_PLUGIN) || !defined(SHOAL_PROBE_BADABI_PLUGIN) || \
    !defined(SHOAL_PROBE_NOENTRY_PLUGIN) || !defined(SHOAL_NOOP_PLUGIN) || \
    !defined(SHOAL_FAILSOME_PLUGIN) || !defined(SHOAL_WORDCOUNT_PLUGIN)
#error "tests/CMakeLists.txt passes the test plugins' paths to this file"
#endif

namespace shoal {
namespace {

namespace fs = std::filesystem;

class RecordingLog : public LogSink {
 public:
  void Log(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

using test::ReadFile;

class PluginHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-plugin-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    run_ = dir_ + "/run";
    fs::create_directories(run_);
    settings_.job.handler = HandlerKind::kPlugin;
    settings_.input.path = dir_ + "/items.txt";
  }
  void TearDown() override {
    handler_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  Result<std::unique_ptr<Handler>> Make(const std::string& library,
                                        std::map<std::string, std::string> config = {}) {
    settings_.plugin.library = library;
    settings_.plugin.config = std::move(config);
    HandlerContext context{settings_, InputKind::kList, run_, 3};
    return MakeHandler(context);
  }

  void Load(const std::string& library, std::map<std::string, std::string> config = {}) {
    Result<std::unique_ptr<Handler>> h = Make(library, std::move(config));
    ASSERT_TRUE(h.ok()) << h.status().message();
    handler_ = std::move(h).value();
  }

  // The load error's message; "" if it loaded.
  std::string LoadError(const std::string& library,
                        std::map<std::string, std::string> config = {}) {
    Result<std::unique_ptr<Handler>> h = Make(library, std::move(config));
    return h.ok() ? "" : h.status().message();
  }

  Outcome Run(const std::string& item, uint64_t index = 1) {
    return handler_->Run(MakeItemPaths(settings_, InputKind::kList, item, index, 3, run_), log_);
  }

  Settings settings_;
  std::string dir_;
  std::string run_;
  std::unique_ptr<Handler> handler_;
  RecordingLog log_;
};

TEST_F(PluginHandlerTest, NoopSucceedsWithoutOutput) {
  Load(SHOAL_NOOP_PLUGIN);
  for (uint64_t i = 1; i <= 100; ++i) {
    Outcome o = Run("item " + std::to_string(i), i);
    ASSERT_TRUE(o.ok) << o.reason;
    EXPECT_EQ(o.exit_code, 0);
    EXPECT_EQ(o.output, "");
    EXPECT_EQ(o.output_file, "");
  }
  EXPECT_TRUE(log_.lines.empty());
  EXPECT_FALSE(fs::exists(run_ + "/out")) << "{out} is made only on demand";
}

TEST_F(PluginHandlerTest, FailsomeFailsEveryNthIndexAndLogsEachItem) {
  Load(SHOAL_FAILSOME_PLUGIN, {{"every", "3"}});
  for (uint64_t i = 1; i <= 7; ++i) {
    Outcome o = Run("it " + std::to_string(i), i);
    if (i % 3 == 0) {
      EXPECT_FALSE(o.ok) << i;
      EXPECT_EQ(o.reason, "failed by plugin: index " + std::to_string(i));
      EXPECT_EQ(o.exit_code, 1);
    } else {
      EXPECT_TRUE(o.ok) << i << ": " << o.reason;
    }
  }
  ASSERT_EQ(log_.lines.size(), 7u);
  EXPECT_EQ(log_.lines[0], "seen it 1");
  EXPECT_EQ(log_.lines[6], "seen it 7");
}

TEST_F(PluginHandlerTest, InitFailureNamesTheLibraryAndThePluginsReason) {
  std::string error = LoadError(SHOAL_FAILSOME_PLUGIN);
  EXPECT_NE(error.find(std::string("plugin.library ") + SHOAL_FAILSOME_PLUGIN), std::string::npos)
      << error;
  EXPECT_NE(error.find("init failed: plugin.config.every is required"), std::string::npos) << error;
  error = LoadError(SHOAL_FAILSOME_PLUGIN, {{"every", "zero"}});
  EXPECT_NE(error.find("must be a whole number"), std::string::npos) << error;
  error = LoadError(SHOAL_PROBE_PLUGIN, {{"init_fail", ""}});
  EXPECT_NE(error.find("init failed: no reason given"), std::string::npos) << error;
}

TEST_F(PluginHandlerTest, WordcountCountsLikeWc) {
  Load(SHOAL_WORDCOUNT_PLUGIN);
  std::ofstream(dir_ + "/a.txt") << "hello world\n  two\t words  here\n\nlast line no newline";
  Outcome o = Run(dir_ + "/a.txt");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "{\"lines\":3,\"words\":9,\"bytes\":52}");
  std::ofstream(dir_ + "/empty.txt").flush();
  EXPECT_EQ(Run(dir_ + "/empty.txt").output, "{\"lines\":0,\"words\":0,\"bytes\":0}");
  o = Run(dir_ + "/missing.txt");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "not found");
  o = Run(dir_);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "is a directory");
}

TEST_F(PluginHandlerTest, OutputUpToTheInlineLimitStaysInTheRecord) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("write:" + std::to_string(kInlineOutput));
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output.size(), kInlineOutput);
  EXPECT_EQ(o.output.substr(0, 5), "abcde");
  EXPECT_EQ(o.output_file, "");
  EXPECT_FALSE(fs::exists(run_ + "/spill"));
}

TEST_F(PluginHandlerTest, LargerOutputIsSpilledWholeToAFile) {
  Load(SHOAL_PROBE_PLUGIN);
  constexpr size_t kSize = 3 * kInlineOutput + 123;
  Outcome o = Run("write:" + std::to_string(kSize), 17);
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "");
  EXPECT_EQ(o.output_file, "spill/17.output");
  std::string spilled = ReadFile(run_ + "/spill/17.output");
  ASSERT_EQ(spilled.size(), kSize);
  for (size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(spilled[i], static_cast<char>('a' + (i % 1000) % 26)) << "byte " << i;
  }
}

TEST_F(PluginHandlerTest, FailWinsOverTheReturnValueAndTheFirstReasonIsKept) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("fail:disk on fire");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "disk on fire");
  EXPECT_EQ(o.exit_code, -1);
  o = Run("fail:");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "failed by plugin");
  o = Run("failtwice");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "first");
  o = Run("fail:" + std::string(5000, 'r'));
  EXPECT_EQ(o.reason.size(), 1024u);
  // Cut before a character the limit would split (an é across bytes 1024-1025).
  o = Run("fail:" + std::string(1023, 'r') + "\xc3\xa9" + std::string(100, 'r'));
  EXPECT_EQ(o.reason, std::string(1023, 'r'));
}

TEST_F(PluginHandlerTest, NonZeroReturnWithoutAReasonFails) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("return:7");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "plugin returned 7");
  EXPECT_EQ(o.exit_code, 7);
  EXPECT_TRUE(Run("return:0").ok);
}

// Revision 2: JSON output is checked and minified; a permanent failure is
// final, its detail the record's stderr.
TEST_F(PluginHandlerTest, JsonOutputIsCheckedAndPermanentFailuresAreFinal) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("json:{ \"a\": [1, 2] }");
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.output_json);
  EXPECT_EQ(o.output, "{\"a\":[1,2]}");
  o = Run("json:{not json");
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.output_json);
  EXPECT_EQ(o.reason, "output is not valid JSON (the plugin set SHOAL_FLAG_JSON)");
  // Numbers and literals, checked without the parser; what only looks like one fails.
  for (const char* scalar : {"0", "-7", "42", "2.5", "-0.1e-3", "1E+16", "true", "false", "null"}) {
    o = Run(std::string("json:") + scalar);
    EXPECT_TRUE(o.ok && o.output_json) << scalar;
    EXPECT_EQ(o.output, scalar);
  }
  for (const char* bad : {"01", "1.", ".5", "-", "1e", "+1", "nul", "1 2", "0x10", "NaN"}) {
    o = Run(std::string("json:") + bad);
    EXPECT_FALSE(o.ok) << bad;
    EXPECT_FALSE(o.output_json) << bad;
  }
  o = Run("json: 7 ");
  EXPECT_TRUE(o.ok && o.output_json);
  EXPECT_EQ(o.output, "7");
  o = Run("permanent:bad input");
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.final);
  EXPECT_EQ(o.reason, "bad input");
  EXPECT_EQ(o.stderr_tail, "why: bad input");
  o = Run("fail:transient");
  EXPECT_FALSE(o.final);
  EXPECT_EQ(o.stderr_tail, "");
}

TEST_F(PluginHandlerTest, LogTextBecomesOneLinePerLine) {
  Load(SHOAL_PROBE_PLUGIN);
  ASSERT_TRUE(Run("log:one").ok);
  ASSERT_TRUE(Run("log:two\nthree\n").ok);
  EXPECT_EQ(log_.lines, (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(PluginHandlerTest, OutDirIsCreatedOnDemandAndNeverOutsideRunOut) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("a/b/out");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, run_ + "/out/a/b");
  EXPECT_EQ(ReadFile(run_ + "/out/a/b/out.txt"), "made\n");
  o = Run("../../../out");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, run_ + "/out");
  EXPECT_TRUE(fs::exists(run_ + "/out/out.txt"));
}

TEST_F(PluginHandlerTest, OutDirThroughASymlinkFailsTheItem) {
  Load(SHOAL_PROBE_PLUGIN);
  fs::create_directories(dir_ + "/elsewhere");
  fs::create_directory_symlink(dir_ + "/elsewhere", run_ + "/out");
  Outcome o = Run("x/out");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("refusing symlink"), std::string::npos) << o.reason;
  EXPECT_FALSE(fs::exists(dir_ + "/elsewhere/x"));
}

TEST_F(PluginHandlerTest, ItemFieldsMatchThePlaceholders) {
  Load(SHOAL_PROBE_PLUGIN);
  Outcome o = Run("fields", 42);
  ASSERT_TRUE(o.ok) << o.reason;
  // A list item "fields": path = item, rel = item, no extension, dir ".".
  EXPECT_EQ(o.output, "fields|fields|fields|fields||.|" + run_ + "/out|42|3|6");
}

TEST_F(PluginHandlerTest, ConfigAndWorkerReachInit) {
  Load(SHOAL_PROBE_PLUGIN, {{"level", "3"}, {"mode", "fast and safe"}});
  Outcome o = Run("config");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, "level=3;mode=fast and safe;3|" + run_ + "|" + dir_ + "/items.txt");
}

TEST_F(PluginHandlerTest, StateLivesAcrossItemsAndFinishRunsOnDestruction) {
  const std::string finished = dir_ + "/finished";
  Load(SHOAL_PROBE_PLUGIN, {{"finish_file", finished}});
  EXPECT_EQ(Run("count").output, "1");
  EXPECT_EQ(Run("return:0").exit_code, 0);
  EXPECT_EQ(Run("count").output, "3");
  EXPECT_FALSE(fs::exists(finished));
  handler_.reset();
  EXPECT_EQ(ReadFile(finished), "finished");
}

TEST_F(PluginHandlerTest, EachHandlerHasItsOwnState) {
  Load(SHOAL_PROBE_PLUGIN);
  EXPECT_EQ(Run("count").output, "1");
  Result<std::unique_ptr<Handler>> second = Make(SHOAL_PROBE_PLUGIN);
  ASSERT_TRUE(second.ok()) << second.status().message();
  Outcome o = (*second)->Run(MakeItemPaths(settings_, InputKind::kList, "count", 1, 3, run_), log_);
  EXPECT_EQ(o.output, "1");
  EXPECT_EQ(Run("count").output, "2");
}

TEST_F(PluginHandlerTest, MissingLibraryIsAnErrorNamingIt) {
  const std::string missing = dir_ + "/libnothere.so";
  std::string error = LoadError(missing);
  EXPECT_NE(error.find("plugin.library " + missing + " does not exist"), std::string::npos)
      << error;
  error = LoadError(dir_);
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
  settings_.plugin.library.clear();
  error = LoadError("");
  EXPECT_NE(error.find("plugin.library is empty"), std::string::npos) << error;
}

TEST_F(PluginHandlerTest, NotASharedLibraryIsAnErrorNamingIt) {
  const std::string fake = dir_ + "/libfake.so";
  std::ofstream(fake) << "not an ELF file\n";
  std::string error = LoadError(fake);
  EXPECT_NE(error.find("plugin.library " + fake + " cannot be loaded"), std::string::npos) << error;
  EXPECT_NE(error.find("shared library"), std::string::npos) << error;
}

TEST_F(PluginHandlerTest, MissingEntryPointIsAnError) {
  std::string error = LoadError(SHOAL_PROBE_NOENTRY_PLUGIN);
  EXPECT_NE(error.find(std::string("plugin.library ") + SHOAL_PROBE_NOENTRY_PLUGIN +
                       " does not export shoal_plugin_v1"),
            std::string::npos)
      << error;
}

TEST_F(PluginHandlerTest, OtherAbiVersionIsRefusedWithAdviceToRebuild) {
  std::string error = LoadError(SHOAL_PROBE_BADABI_PLUGIN);
  EXPECT_NE(error.find("built for plugin ABI version 99, this shoal speaks version 1"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("rebuild"), std::string::npos) << error;
}

}  // namespace
}  // namespace shoal
