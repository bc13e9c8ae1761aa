#include "config/halt.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

HaltRule Rule(std::string_view text) {
  Result<HaltRule> r = ParseHalt(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : HaltRule{};
}

TEST(HaltTest, WhenWhatAndACountOrAShare) {
  HaltRule r = Rule("now,fail=1");
  EXPECT_EQ(r.when, HaltWhen::kNow);
  EXPECT_EQ(r.on, HaltOn::kFail);
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.source, "job.halt = now,fail=1");
  r = Rule("soon,fail=20%");
  EXPECT_EQ(r.when, HaltWhen::kSoon);
  EXPECT_DOUBLE_EQ(r.percent, 20.0);
  EXPECT_EQ(Rule("soon,success=3").on, HaltOn::kSuccess);
  EXPECT_DOUBLE_EQ(Rule("now,success=12.5%").percent, 12.5);
  EXPECT_EQ(Rule("soon,done=100").on, HaltOn::kDone);
  EXPECT_EQ(Rule("soon,done=100").count, 100u);
}

TEST(HaltTest, NeverAndParallelsNumbers) {
  EXPECT_EQ(Rule("never").when, HaltWhen::kNever);
  EXPECT_EQ(Rule("0").when, HaltWhen::kNever);
  EXPECT_EQ(Rule("1").when, HaltWhen::kSoon);
  EXPECT_EQ(Rule("1").count, 1u);
  EXPECT_EQ(Rule("2").when, HaltWhen::kNow);
}

TEST(HaltTest, RefusesWhatIsNoRule) {
  for (std::string_view bad : {"now", "soon,", "now,fail", "now,fail=", "now,fail=0", "now,fail=-1",
                               "now,fail=x", "later,fail=1", "now,crash=1", "now,fail=0%",
                               "now,fail=101%", "soon,done=50%", "now,fail=1,", "3"}) {
    EXPECT_FALSE(ParseHalt(bad).ok()) << bad;
  }
  EXPECT_NE(ParseHalt("soon,done=50%").status().message().find("write a count"), std::string::npos);
}

TEST(HaltTest, MaxFailuresIsSoonFail) {
  JobSettings job;
  EXPECT_EQ(HaltRuleOf(job).when, HaltWhen::kNever);
  job.max_failures = 5;
  HaltRule r = HaltRuleOf(job);
  EXPECT_EQ(r.when, HaltWhen::kSoon);
  EXPECT_EQ(r.on, HaltOn::kFail);
  EXPECT_EQ(r.count, 5u);
  EXPECT_EQ(r.source, "job.max_failures = 5");
  job.max_failures = 0;
  job.max_failures_percent = 12.5;
  EXPECT_EQ(HaltRuleOf(job).source, "job.max_failures = 12.5%");
  job.max_failures_percent = 0;
  job.halt = "now,success=2";
  EXPECT_EQ(HaltRuleOf(job).when, HaltWhen::kNow);
  EXPECT_EQ(HaltRuleOf(job).on, HaltOn::kSuccess);
}

}  // namespace
}  // namespace shoal
