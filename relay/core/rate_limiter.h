// Per-host event rate limits, as the reference relay (indigo) applies them:
// three sliding windows (1 s, 1 h, 1 day) with default limits of 50, 2,500
// and 20,000 events — indigo's DefaultSlurperConfig — settable per host by
// the admin API.
//
// A sliding window estimates the count over the last `window` as
//   count(current fixed window) + count(previous) * (fraction of the previous
//   window still inside the sliding one),
// which is what indigo's slidingwindow limiter does: O(1) memory per host,
// no per-event timestamps.
//
// An event that would exceed a limit is not dropped: the host's subscriber
// waits (`admit` says how long) before reading more, so the upstream is
// slowed down by TCP back-pressure and nothing it sent is lost.
//
// Threading: `admit` is called by the host's own subscriber task only; the
// limits are atomics so the admin API can change them from any task.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace faultline::relay {

using Clock = std::chrono::steady_clock;

struct RateLimits {
  std::int64_t per_second = 50;
  std::int64_t per_hour = 2'500;
  std::int64_t per_day = 20'000;
};

class SlidingWindow {
 public:
  SlidingWindow(Clock::duration window, std::int64_t limit) : window_(window), limit_(limit) {}

  // How long to wait before one more event fits; zero when it fits now.
  // Does not count the event.
  Clock::duration wait_time(Clock::time_point now);
  void record(Clock::time_point now);
  void set_limit(std::int64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  std::int64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  // Current sliding estimate of events in the window.
  double estimate(Clock::time_point now);

 private:
  void advance(Clock::time_point now);

  Clock::duration window_;
  std::atomic<std::int64_t> limit_;
  Clock::time_point start_{};  // start of the current fixed window
  std::int64_t current_ = 0;
  std::int64_t previous_ = 0;
};

class HostRateLimiter {
 public:
  explicit HostRateLimiter(RateLimits limits = {});

  // Zero when the event may pass now (and it is counted), else how long the
  // caller should wait before asking again.
  Clock::duration admit(Clock::time_point now = Clock::now());
  void set_limits(const RateLimits& limits);
  RateLimits limits() const;

 private:
  SlidingWindow second_, hour_, day_;
};

}  // namespace faultline::relay
