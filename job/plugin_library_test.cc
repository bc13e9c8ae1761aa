// PluginLibrary's refusals that need no plugin built for the test: the ones
// that need a library (no entry point, another ABI version) are in
// worker/plugin_handler_test.cc, which loads the probe plugins through the
// handler and so through PluginLibrary::Open.
#include "job/plugin_library.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

class PluginLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-plugin-lib-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // The message of a failed Open; also checks that CheckPluginLibrary says the same.
  std::string Refusal(const std::string& path) {
    Result<PluginLibrary> opened = PluginLibrary::Open(path);
    if (opened.ok()) return "opened";
    EXPECT_EQ(CheckPluginLibrary(path).message(), opened.status().message());
    return opened.status().message();
  }

  fs::path dir_;
};

TEST_F(PluginLibraryTest, EmptyPathSaysWhatToSet) {
  EXPECT_NE(Refusal("").find("plugin.library is empty: set library ="), std::string::npos);
}

TEST_F(PluginLibraryTest, MissingFileIsNamed) {
  const std::string path = (dir_ / "libnone.so").string();
  EXPECT_NE(Refusal(path).find("plugin.library " + path + " does not exist"), std::string::npos);
}

TEST_F(PluginLibraryTest, DirectoryIsNotALibrary) {
  EXPECT_NE(Refusal(dir_.string()).find(" is a directory: name the .so file itself"),
            std::string::npos);
}

TEST_F(PluginLibraryTest, FileThatIsNoSharedLibraryCannotBeLoaded) {
  const fs::path path = dir_ / "libtext.so";
  test::WriteFile(path, "not an ELF file\n");
  std::string why = Refusal(path.string());
  EXPECT_NE(why.find("plugin.library " + path.string() + " cannot be loaded: "), std::string::npos)
      << why;
  EXPECT_NE(why.find("it must be a shared library for this machine"), std::string::npos) << why;
}

}  // namespace
}  // namespace shoal
