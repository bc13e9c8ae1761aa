#include "config/http_status.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(HttpStatusSetTest, CodesRangesAndClasses) {
  Result<HttpStatusSet> s = HttpStatusSet::Parse("2xx, 304,400-404", false);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->Contains(200));
  EXPECT_TRUE(s->Contains(299));
  EXPECT_TRUE(s->Contains(304));
  EXPECT_TRUE(s->Contains(402));
  EXPECT_FALSE(s->Contains(405));
  EXPECT_FALSE(s->Contains(300));
  EXPECT_FALSE(s->Contains(0));
  EXPECT_FALSE(s->Contains(600));
}

TEST(HttpStatusSetTest, DefaultRetryOn) {
  Result<HttpStatusSet> s = HttpStatusSet::Parse("429,502,503,504,connection", true);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->Contains(429));
  EXPECT_TRUE(s->Contains(503));
  EXPECT_FALSE(s->Contains(500));
  EXPECT_TRUE(s->connection());
  EXPECT_FALSE(s->timeout());
}

TEST(HttpStatusSetTest, EmptyIsNothing) {
  Result<HttpStatusSet> s = HttpStatusSet::Parse(" ", true);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->Contains(500));
  EXPECT_FALSE(s->connection());
}

TEST(HttpStatusSetTest, RejectsWhatIsNoStatus) {
  EXPECT_FALSE(HttpStatusSet::Parse("2xx,600", false).ok());
  EXPECT_FALSE(HttpStatusSet::Parse("299-200", false).ok());
  EXPECT_FALSE(HttpStatusSet::Parse("6xx", false).ok());
  EXPECT_FALSE(HttpStatusSet::Parse("ok", false).ok());
  // Words are for retry_on only.
  EXPECT_FALSE(HttpStatusSet::Parse("connection", false).ok());
  EXPECT_TRUE(HttpStatusSet::Parse("timeout", true).ok());
}

TEST(RetryAfterTest, Seconds) {
  EXPECT_EQ(ParseRetryAfter("3", 0), 3000u);
  EXPECT_EQ(ParseRetryAfter(" 0 ", 0), 0u);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", 0), 24ULL * 3600 * 1000);
  EXPECT_EQ(ParseRetryAfter("-1", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", 0), std::nullopt);
}

TEST(RetryAfterTest, HttpDate) {
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 10), 10000u);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 10), 0u);
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", 0), std::nullopt);
}

}  // namespace
}  // namespace shoal
