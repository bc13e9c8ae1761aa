#include "master/host_gauges.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(HostGaugesTest, ReadsMemAvailableInBytes) {
  EXPECT_EQ(ParseMemAvailable("MemTotal:       16000000 kB\nMemFree:          100 kB\n"
                              "MemAvailable:    2048 kB\nBuffers: 1 kB\n"),
            2048u * 1024);
  EXPECT_EQ(ParseMemAvailable("MemTotal: 1 kB\n"), std::nullopt);  // kernels before 3.14
  EXPECT_EQ(ParseMemAvailable(""), std::nullopt);
}

TEST(HostGaugesTest, ReadsTheOneMinuteLoadAverage) {
  EXPECT_DOUBLE_EQ(*ParseLoadAverage("3.25 1.00 0.50 2/345 6789\n"), 3.25);
  EXPECT_EQ(ParseLoadAverage(""), std::nullopt);
  EXPECT_EQ(ParseLoadAverage("x"), std::nullopt);
}

TEST(HostGaugesTest, ThisMachineHasBoth) {
  ProcHostGauges host;
  EXPECT_TRUE(host.MemAvailableBytes().has_value());
  EXPECT_TRUE(host.LoadAverage1().has_value());
}

}  // namespace
}  // namespace shoal
