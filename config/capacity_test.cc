#include "config/capacity.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

int Workers(std::string_view share, int cores) {
  EXPECT_TRUE(CheckWorkerShare(share).ok()) << share;
  JobSettings job;
  job.workers_share = share;
  return ResolveWorkers(job, cores);
}

TEST(CapacityTest, WorkersRelativeToTheCores) {
  EXPECT_EQ(Workers("50%", 8), 4);
  EXPECT_EQ(Workers("50%", 3), 1);  // rounded down, as parallel
  EXPECT_EQ(Workers("50%", 1), 1);  // at least one
  EXPECT_EQ(Workers("200%", 4), 8);
  EXPECT_EQ(Workers("+2", 4), 6);
  EXPECT_EQ(Workers("-1", 4), 3);
  EXPECT_EQ(Workers("-8", 4), 1);
  EXPECT_EQ(Workers("+4096", 4), kMaxWorkers);
}

TEST(CapacityTest, ACountOrZeroWithoutAShare) {
  JobSettings job;
  EXPECT_EQ(ResolveWorkers(job, 6), 6);
  job.workers = 3;
  EXPECT_EQ(ResolveWorkers(job, 6), 3);
}

TEST(CapacityTest, RefusesWhatIsNoShare) {
  for (std::string_view bad : {"", "x", "%", "0%", "-5%", "5", "+", "-", "+1.5", "++1", "+5000"}) {
    EXPECT_FALSE(CheckWorkerShare(bad).ok()) << bad;
  }
}

TEST(CapacityTest, Memfree) {
  EXPECT_EQ(*ParseMemfree("0"), 0u);
  EXPECT_EQ(*ParseMemfree("4096"), 4096u);
  EXPECT_EQ(*ParseMemfree("512M"), 512ull << 20);
  EXPECT_EQ(*ParseMemfree("2G"), 2ull << 30);
  EXPECT_EQ(*ParseMemfree("2g"), 2ull << 30);
  EXPECT_EQ(*ParseMemfree("1GiB"), 1ull << 30);
  EXPECT_EQ(*ParseMemfree("3KB"), 3ull << 10);
  EXPECT_EQ(*ParseMemfree("1T"), 1ull << 40);
  for (std::string_view bad : {"x", "G", "1.5G", "-1G", "1P", "2 G", "99999999999999999999T"}) {
    EXPECT_FALSE(ParseMemfree(bad).ok()) << bad;
  }
}

TEST(CapacityTest, Load) {
  EXPECT_EQ(*ParseLoad("0", 4), 0.0);
  EXPECT_EQ(*ParseLoad("4", 8), 4.0);
  EXPECT_EQ(*ParseLoad("2.5", 8), 2.5);
  // A share of the online cores, as parallel's --load 100%: not rounded.
  EXPECT_EQ(*ParseLoad("100%", 8), 8.0);
  EXPECT_EQ(*ParseLoad("50%", 3), 1.5);
  EXPECT_EQ(*ParseLoad("250%", 2), 5.0);
  EXPECT_EQ(*ParseLoad("12.5%", 8), 1.0);
  EXPECT_EQ(*ParseLoad("100%", 0), 1.0);  // cores unknown: one
  for (std::string_view bad : {"x", "-1", "1e3", "0%", "%", "-50%", "4%%", "+2", "4 %"}) {
    EXPECT_FALSE(ParseLoad(bad, 4).ok()) << bad;
  }
  EXPECT_NE(ParseLoad("lots", 4).status().message().find("\"100%\" for one per core"),
            std::string::npos);
}

}  // namespace
}  // namespace shoal
