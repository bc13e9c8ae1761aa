#include "job/output_claim.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/test_util.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

TEST(OutputClaimsTest, FirstItemOwnsARelAndOthersAreRefusedNamingIt) {
  TempDir run;
  Result<OutputClaims> claims = OutputClaims::Open(run.path());
  ASSERT_TRUE(claims.ok()) << claims.status().message();
  EXPECT_TRUE(claims->Claim("a/f", 3).ok());
  EXPECT_TRUE(claims->Claim("a/g", 4).ok());
  Status refused = claims->Claim("a/f", 7);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(),
            "{rel} 'a/f' is already item 3's: two items may not share {out} files; list each "
            "path once, spelt one way");
  EXPECT_TRUE(fs::is_directory(run.path() + "/claims"));
  EXPECT_EQ(fs::status(run.path() + "/claims").permissions() & fs::perms::all,
            fs::perms::owner_all);
}

// An earlier attempt's claim, or one from before a resume (another process,
// the same run directory), is the item's own.
TEST(OutputClaimsTest, AnItemsOwnClaimIsItsOwnAcrossOpens) {
  TempDir run;
  ASSERT_TRUE(OutputClaims::Open(run.path())->Claim("x/y.bin", 12).ok());
  Result<OutputClaims> again = OutputClaims::Open(run.path());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Claim("x/y.bin", 12).ok());
  EXPECT_FALSE(again->Claim("x/y.bin", 13).ok());
}

// Many workers claiming the same {rel} at once: exactly one wins.
TEST(OutputClaimsTest, OneOfManyProcessesClaimingAtOnceWins) {
  TempDir run;
  ASSERT_TRUE(OutputClaims::Open(run.path()).ok());
  constexpr int kProcesses = 8;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Result<OutputClaims> claims = OutputClaims::Open(run.path());
      ::_exit(claims.ok() && claims->Claim("same/rel", 100 + i).ok() ? 0 : 1);
    }
    pids.push_back(pid);
  }
  int winners = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) ++winners;
  }
  EXPECT_EQ(winners, 1);
}

TEST(OutputClaimsTest, SomethingElseAtAClaimsNameIsAnError) {
  TempDir run;
  Result<OutputClaims> claims = OutputClaims::Open(run.path());
  ASSERT_TRUE(claims->Claim("p", 1).ok());
  // Replace the claim by a link that is not an index.
  for (const auto& sub : fs::directory_iterator(run.path() + "/claims")) {
    for (const auto& link : fs::directory_iterator(sub.path())) {
      fs::remove(link.path());
      fs::create_symlink("not-a-number", link.path());
    }
  }
  Status s = claims->Claim("p", 2);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is not a claim: remove it"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace shoal
