#include "job/command_cwd.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

CommandSettings WithCwd(const std::string& cwd) {
  CommandSettings c;
  c.cwd = cwd;
  return c;
}

TEST(CommandCwdTest, AFixedCwdMustBeADirectory) {
  std::string pattern = (fs::temp_directory_path() / "shoal-cwd-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  test::WriteFile(dir / "file", "");

  EXPECT_TRUE(CheckFixedCwd(WithCwd(dir.string())).ok());
  EXPECT_TRUE(CheckFixedCwd(WithCwd("")).ok());  // the job's own working directory

  Status missing = CheckFixedCwd(WithCwd((dir / "nonexistent").string()));
  EXPECT_EQ(missing.code(), StatusCode::kUsage);
  EXPECT_NE(missing.message().find("command.cwd \"" + (dir / "nonexistent").string() + "\""),
            std::string::npos)
      << missing.message();
  EXPECT_NE(missing.message().find("does not exist"), std::string::npos) << missing.message();

  Status file = CheckFixedCwd(WithCwd((dir / "file").string()));
  EXPECT_EQ(file.code(), StatusCode::kUsage);
  EXPECT_NE(file.message().find("is not a directory"), std::string::npos) << file.message();

  Status under_file = CheckFixedCwd(WithCwd((dir / "file" / "sub").string()));
  EXPECT_EQ(under_file.code(), StatusCode::kUsage) << under_file.message();
  fs::remove_all(dir);
}

TEST(CommandCwdTest, ACwdWithPlaceholdersIsJudgedPerItem) {
  EXPECT_TRUE(CwdIsTemplate(WithCwd("{dir}")));
  EXPECT_TRUE(CwdIsTemplate(WithCwd("/data/{stem}")));
  EXPECT_FALSE(CwdIsTemplate(WithCwd("/nonexistent")));
  EXPECT_TRUE(CheckFixedCwd(WithCwd("/nonexistent/{stem}")).ok());
}

}  // namespace
}  // namespace shoal
