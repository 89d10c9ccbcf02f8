#include "relay/core/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace faultline::relay {

void SlidingWindow::advance(Clock::time_point now) {
  if (start_ == Clock::time_point{}) {
    start_ = now;
    return;
  }
  auto elapsed = now - start_;
  if (elapsed < window_) return;
  auto windows = elapsed / window_;
  // One window on: the current count becomes the previous one. Two or more:
  // nothing from them is inside the sliding window any more.
  previous_ = windows == 1 ? current_ : 0;
  current_ = 0;
  start_ += windows * window_;
}

double SlidingWindow::estimate(Clock::time_point now) {
  advance(now);
  double into = std::chrono::duration<double>(now - start_) / std::chrono::duration<double>(window_);
  return static_cast<double>(current_) + static_cast<double>(previous_) * (1.0 - std::clamp(into, 0.0, 1.0));
}

Clock::duration SlidingWindow::wait_time(Clock::time_point now) {
  const auto limit = limit_.load(std::memory_order_relaxed);
  if (limit <= 0) return Clock::duration::zero();  // 0 or less: unlimited
  // The epsilon absorbs rounding in the window fraction.
  if (estimate(now) + 1.0 <= static_cast<double>(limit) + 1e-6) return Clock::duration::zero();
  // Solve current + previous * (1 - t) + 1 <= limit for the fraction t of the
  // current fixed window still to wait for. When the current window alone is
  // full, wait for its end (admit is asked again then).
  const double room = static_cast<double>(limit) - 1.0 - static_cast<double>(current_);
  const double t = (room < 0 || previous_ == 0) ? 1.0 : 1.0 - room / static_cast<double>(previous_);
  auto target = start_ + std::chrono::duration_cast<Clock::duration>(window_ * std::clamp(t, 0.0, 1.0));
  auto wait = target - now;
  // Never report "wait zero" for an event that does not fit.
  return std::max<Clock::duration>(wait, std::chrono::milliseconds(1));
}

void SlidingWindow::record(Clock::time_point now) {
  advance(now);
  ++current_;
}

HostRateLimiter::HostRateLimiter(RateLimits limits)
    : second_(std::chrono::seconds(1), limits.per_second),
      hour_(std::chrono::hours(1), limits.per_hour),
      day_(std::chrono::hours(24), limits.per_day) {}

Clock::duration HostRateLimiter::admit(Clock::time_point now) {
  auto wait = std::max({second_.wait_time(now), hour_.wait_time(now), day_.wait_time(now)});
  if (wait > Clock::duration::zero()) return wait;
  second_.record(now);
  hour_.record(now);
  day_.record(now);
  return Clock::duration::zero();
}

void HostRateLimiter::set_limits(const RateLimits& limits) {
  second_.set_limit(limits.per_second);
  hour_.set_limit(limits.per_hour);
  day_.set_limit(limits.per_day);
}

RateLimits HostRateLimiter::limits() const { return {second_.limit(), hour_.limit(), day_.limit()}; }

}  // namespace faultline::relay
