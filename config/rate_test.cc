#include "config/rate.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

uint64_t Interval(std::string_view text) {
  Result<uint64_t> r = ParseRateInterval(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : 0;
}

TEST(RateTest, PerSecondMinuteHour) {
  EXPECT_EQ(Interval("50/s"), 20'000'000u);
  EXPECT_EQ(Interval("600/m"), 100'000'000u);
  EXPECT_EQ(Interval("3600/h"), 1'000'000'000u);
  EXPECT_EQ(Interval("0.5/s"), 2'000'000'000u);
  EXPECT_EQ(Interval("1000000/s"), 1'000u);
}

TEST(RateTest, ZeroIsNoLimit) {
  EXPECT_EQ(Interval("0"), 0u);
  EXPECT_EQ(Interval(""), 0u);
  EXPECT_EQ(Interval("0/s"), 0u);
}

TEST(RateTest, RefusesWhatIsNoRate) {
  for (std::string_view bad :
       {"50", "50/d", "/s", "-5/s", "5e3/s", "1.2.3/s", "x/s", "2000000/s"}) {
    Result<uint64_t> r = ParseRateInterval(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(ParseRateInterval("50").status().message().find("no unit"), std::string::npos);
}

}  // namespace
}  // namespace shoal
