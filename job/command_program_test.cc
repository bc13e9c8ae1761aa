#include "job/command_program.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

class CommandProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    fs::create_directories(dir_ / "bin");
    test::WriteFile(dir_ / "bin" / "tool", "#!/bin/sh\n");
    ASSERT_EQ(::chmod((dir_ / "bin" / "tool").c_str(), 0755), 0);
    test::WriteFile(dir_ / "bin" / "plain", "not a program\n");
    ASSERT_EQ(::chmod((dir_ / "bin" / "plain").c_str(), 0644), 0);
  }

  // argv, with the job's PATH (command.env) set to this test's bin/ only.
  CommandSettings Command(std::vector<std::string> argv) const {
    CommandSettings c;
    c.argv = std::move(argv);
    c.env["PATH"] = (dir_ / "bin").string();
    return c;
  }

  test::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
};

TEST_F(CommandProgramTest, SearchPathFindsTheFirstExecutableFile) {
  std::string found;
  const std::string path = "/nonexistent:" + (dir_ / "bin").string();
  EXPECT_EQ(SearchPath("tool", path, &found), 0);
  EXPECT_EQ(found, (dir_ / "bin" / "tool").string());
  EXPECT_EQ(SearchPath("plain", path, &found), EACCES);
  EXPECT_EQ(SearchPath("missing", path, &found), ENOENT);
  EXPECT_EQ(SearchPath("bin", dir_.string(), &found), ENOENT);  // a directory is no program
}

TEST_F(CommandProgramTest, ALiteralNameMustBeOnTheJobsPath) {
  EXPECT_TRUE(CheckProgram(Command({"tool", "{}"})).ok());
  Status missing = CheckProgram(Command({"gzipp", "-k", "{}"}));
  EXPECT_EQ(missing.code(), StatusCode::kUsage);
  EXPECT_NE(missing.message().find("command.argv[0] \"gzipp\" is a program on no directory of "
                                   "PATH (" +
                                   (dir_ / "bin").string() + ")"),
            std::string::npos)
      << missing.message();
  Status plain = CheckProgram(Command({"plain"}));
  EXPECT_EQ(plain.code(), StatusCode::kUsage);
  EXPECT_NE(plain.message().find("not executable"), std::string::npos) << plain.message();
  // The job's PATH is the one that counts, not this process's.
  CommandSettings sh = Command({"sh", "-c", "true"});
  EXPECT_FALSE(CheckProgram(sh).ok());
  sh.env.erase("PATH");
  EXPECT_TRUE(CheckProgram(sh).ok());
}

TEST_F(CommandProgramTest, APathIsCheckedFromAFixedCwd) {
  EXPECT_TRUE(CheckProgram(Command({(dir_ / "bin" / "tool").string()})).ok());
  Status gone = CheckProgram(Command({(dir_ / "bin" / "gone").string()}));
  EXPECT_EQ(gone.code(), StatusCode::kUsage);
  EXPECT_NE(gone.message().find("does not exist"), std::string::npos) << gone.message();
  EXPECT_FALSE(CheckProgram(Command({(dir_ / "bin" / "plain").string()})).ok());
  EXPECT_FALSE(CheckProgram(Command({(dir_ / "bin").string()})).ok());  // a directory

  CommandSettings relative = Command({"bin/tool"});
  relative.cwd = dir_.string();
  EXPECT_TRUE(CheckProgram(relative).ok());
  relative.cwd = (dir_ / "bin").string();
  Status elsewhere = CheckProgram(relative);
  EXPECT_NE(elsewhere.message().find("(in command.cwd \"" + relative.cwd + "\")"),
            std::string::npos)
      << elsewhere.message();
  relative.cwd = "{dir}";  // where it starts is known per item only
  EXPECT_TRUE(CheckProgram(relative).ok());
}

TEST_F(CommandProgramTest, ACommandLineInOneWordNamesTheShellOption) {
  for (const std::string& line : {std::string("sh -c \"exit {}\""),
                                  std::string("grep -c x {} | wc -l"), std::string("tool x")}) {
    Status s = CheckProgram(Command({line}));
    EXPECT_EQ(s.code(), StatusCode::kUsage) << line;
    EXPECT_NE(s.message().find("is one word that holds spaces"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("--shell (command.shell = true)"), std::string::npos) << s.message();
  }
  // A program whose name holds a space is a program all the same.
  test::WriteFile(dir_ / "bin" / "my tool", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((dir_ / "bin" / "my tool").c_str(), 0755), 0);
  EXPECT_TRUE(CheckProgram(Command({"my tool"})).ok());
  EXPECT_TRUE(CheckProgram(Command({(dir_ / "bin" / "my tool").string()})).ok());
  // With command.shell the words are a shell's to judge.
  CommandSettings shell = Command({"sh -c \"exit {}\""});
  shell.shell = true;
  EXPECT_TRUE(CheckProgram(shell).ok());
}

TEST_F(CommandProgramTest, ItemsThatNameProgramsAreJudgedPerItem) {
  EXPECT_TRUE(CheckProgram(Command({"{}"})).ok());
  EXPECT_TRUE(CheckProgram(Command({"/opt/{1}/bin/run", "{2}"})).ok());
  EXPECT_TRUE(CheckProgram(Command({})).ok());  // each item a command line for /bin/sh -c
  EXPECT_FALSE(CheckProgram(Command({""})).ok());
}

// Braces that are no placeholder leave the program literal, and checked:
// "{{" is one brace, and ${VAR} and ~ are text that no shell expands.
TEST_F(CommandProgramTest, BracesThatAreNoPlaceholderAreChecked) {
  test::WriteFile(dir_ / "bin" / "a{b", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((dir_ / "bin" / "a{b").c_str(), 0755), 0);
  EXPECT_TRUE(CheckProgram(Command({"a{{b", "{}"})).ok());
  EXPECT_FALSE(CheckProgram(Command({"a{{c", "{}"})).ok());
  for (std::string prog : {"${HOME}/bin/tool", "$TOOL", "~/bin/tool"}) {
    Status s = CheckProgram(Command({prog, "{}"}));
    EXPECT_EQ(s.code(), StatusCode::kUsage) << prog;
    EXPECT_NE(s.message().find("nothing expands $VARIABLES or ~"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("--shell"), std::string::npos) << s.message();
  }
  // From a fixed command.cwd whose braces are literal too.
  fs::create_directories(dir_ / "c{d" / "bin");
  test::WriteFile(dir_ / "c{d" / "bin" / "run", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((dir_ / "c{d" / "bin" / "run").c_str(), 0755), 0);
  CommandSettings relative = Command({"bin/run"});
  relative.cwd = (dir_ / "c{{d").string();
  EXPECT_TRUE(CheckProgram(relative).ok());
  relative.argv = {"bin/gone"};
  EXPECT_FALSE(CheckProgram(relative).ok());
}

}  // namespace
}  // namespace shoal
