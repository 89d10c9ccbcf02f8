// Deadline: turns one overall timeout into the per-call timeouts that
// io::Io's operations take. kForever stays forever; an expired deadline gives
// a zero timeout (the io call then fails with ETIMEDOUT unless it can complete
// at once).
#pragma once

#include <chrono>

#include "io/net.h"

namespace faultline::relay::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Deadline(io::Duration timeout) {
    if (timeout != io::kForever) {
      auto now = Clock::now();
      // Saturate instead of overflowing for very long timeouts.
      at_ = timeout > Clock::time_point::max() - now ? Clock::time_point::max() : now + timeout;
      forever_ = at_ == Clock::time_point::max();
    }
  }
  bool forever() const { return forever_; }
  bool expired() const { return !forever_ && Clock::now() >= at_; }
  // What is left, as an io timeout.
  io::Duration left() const {
    if (forever_) return io::kForever;
    auto l = at_ - Clock::now();
    return l > io::Duration::zero() ? std::chrono::duration_cast<io::Duration>(l) : io::Duration::zero();
  }

 private:
  bool forever_ = true;
  Clock::time_point at_{};
};

}  // namespace faultline::relay::net
