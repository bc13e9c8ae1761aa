#include "master/timeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace shoal {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(TimelineTest, OneLineASecondWhateverTheNumberOfCalls) {
  const uint64_t start = 500 * kSec;  // a fake clock: the test moves the time
  Timeline timeline(start);
  std::string out;
  TimelineSample s;
  s.busy = {1.0, 0.25};
  // The master's loop asks on every round: 1000 rounds a second here.
  for (uint64_t now = start; now < start + 5 * kSec; now += kSec / 1000) {
    if (timeline.Due(now)) {
      ++s.done;
      timeline.Append(now, 1'800'000'000'000 + static_cast<int64_t>((now - start) / 1'000'000), s,
                      &out);
    }
  }
  EXPECT_EQ(Lines(out), 4u) << out;  // at 1s, 2s, 3s, 4s
  EXPECT_EQ(out.substr(0, out.find('\n') + 1),
            "{\"t\":1.000,\"unix_ms\":1800000001000,\"done\":1,\"ok\":0,\"failed\":0,\"retried\":0,"
            "\"in_flight\":0,\"seen\":0,\"busy\":[1.000,0.250],\"cpu_master_s\":0.000,"
            "\"cpu_threads_s\":0.000}\n");
  EXPECT_EQ(timeline.next_due_ns(), start + 5 * kSec);
}

TEST(TimelineTest, AMasterThatWokeLateSkipsTheSecondsItSlept) {
  Timeline timeline(0);
  std::string out;
  EXPECT_FALSE(timeline.Due(kSec - 1));
  EXPECT_TRUE(timeline.Due(kSec));
  timeline.Append(7 * kSec + kSec / 2, 0, {}, &out);  // woke 6.5 s late
  EXPECT_EQ(Lines(out), 1u);
  EXPECT_EQ(timeline.next_due_ns(), 8 * kSec);
  EXPECT_NE(out.find("\"t\":7.500"), std::string::npos) << out;
  EXPECT_NE(out.find("\"busy\":[]"), std::string::npos) << out;
}

TEST(TimelineTest, BusySharesAreClampedToOne) {
  Timeline timeline(0);
  std::string out;
  TimelineSample s;
  s.busy = {1.7, -0.1};
  timeline.Append(kSec, 0, s, &out);
  EXPECT_NE(out.find("\"busy\":[1.000,0.000]"), std::string::npos) << out;
}

}  // namespace
}  // namespace shoal
