#include "relay/core/rate_limiter.h"

#include <gtest/gtest.h>

namespace faultline::relay {
namespace {

using namespace std::chrono_literals;

TEST(SlidingWindow, AdmitsUpToTheLimitThenAsksToWait) {
  SlidingWindow w(1s, 5);
  auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(w.wait_time(t0), Clock::duration::zero()) << i;
    w.record(t0);
  }
  auto wait = w.wait_time(t0);
  EXPECT_GT(wait, Clock::duration::zero());
  EXPECT_LE(wait, 1s);
}

TEST(SlidingWindow, PreviousWindowCountsInProportion) {
  SlidingWindow w(1s, 10);
  auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 10; ++i) w.record(t0);
  // Half-way through the next window, half of the previous 10 still count.
  EXPECT_NEAR(w.estimate(t0 + 1500ms), 5.0, 0.01);
  // Two windows later nothing counts.
  EXPECT_NEAR(w.estimate(t0 + 2500ms), 0.0, 0.01);
}

TEST(SlidingWindow, WaitTimeIsEnoughForTheNextEvent) {
  SlidingWindow w(1s, 10);
  auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 10; ++i) w.record(t0);
  auto now = t0 + 1050ms;  // previous window full (9.5 of it still counts)
  auto wait = w.wait_time(now);
  ASSERT_GT(wait, Clock::duration::zero());
  EXPECT_EQ(w.wait_time(now + wait), Clock::duration::zero());
  EXPECT_GT(w.wait_time(now + wait - 5ms), Clock::duration::zero());
}

TEST(SlidingWindow, ZeroLimitMeansUnlimited) {
  SlidingWindow w(1s, 0);
  auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(w.wait_time(t0), Clock::duration::zero());
    w.record(t0);
  }
}

TEST(HostRateLimiter, DefaultsAreTheReferenceRelays) {
  HostRateLimiter l;
  auto limits = l.limits();
  EXPECT_EQ(limits.per_second, 50);
  EXPECT_EQ(limits.per_hour, 2500);
  EXPECT_EQ(limits.per_day, 20000);
}

TEST(HostRateLimiter, TheTightestWindowWinsAndLimitsCanChange) {
  HostRateLimiter l({.per_second = 100, .per_hour = 3, .per_day = 1000});
  auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(l.admit(t0 + i * 10ms), Clock::duration::zero());
  auto wait = l.admit(t0 + 40ms);
  EXPECT_GT(wait, 10min) << "the hourly window is full";
  l.set_limits({.per_second = 100, .per_hour = 100, .per_day = 1000});
  EXPECT_EQ(l.admit(t0 + 50ms), Clock::duration::zero());
}

}  // namespace
}  // namespace faultline::relay
