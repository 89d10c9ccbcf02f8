#include "relay/core/ordered_gate.h"

#include <algorithm>

namespace faultline::relay {
namespace {

class ParkingGate final : public OrderedGate {
 public:
  ParkingGate(io::Io& io, std::int64_t next)
      : mutex_(io.make_mutex("broadcast.gate")), turn_(io.make_condition("broadcast.gate.turn")), next_(next) {}

  bool wait_turn(std::int64_t seq) override {
    io::LockGuard g(*mutex_);
    while (next_ < seq) turn_->wait(*mutex_);
    return true;
  }
  void done(std::int64_t seq) override {
    io::LockGuard g(*mutex_);
    next_ = std::max(next_, seq + 1);
    turn_->notify_all();
  }

 private:
  std::unique_ptr<io::Mutex> mutex_;
  std::unique_ptr<io::Condition> turn_;
  std::int64_t next_;
};

class SpinningGate final : public OrderedGate {
 public:
  SpinningGate(std::int64_t next, std::uint64_t budget) : next_(next), budget_(budget) {}

  bool wait_turn(std::int64_t seq) override {
    std::uint64_t n = 0;
    while (next_.load(std::memory_order_acquire) < seq) {
      if (++n > budget_) {
        spins_.fetch_add(n, std::memory_order_relaxed);
        return false;
      }
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    spins_.fetch_add(n, std::memory_order_relaxed);
    return true;
  }
  void done(std::int64_t seq) override {
    // A waiter that gave up marks its seq done too, so `next_` only grows.
    auto cur = next_.load(std::memory_order_relaxed);
    while (cur < seq + 1 && !next_.compare_exchange_weak(cur, seq + 1, std::memory_order_release)) {
    }
  }
  std::uint64_t spins() const override { return spins_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> next_;
  std::uint64_t budget_;
  std::atomic<std::uint64_t> spins_{0};
};

}  // namespace

std::unique_ptr<OrderedGate> OrderedGate::parking(io::Io& io, std::int64_t next) {
  return std::make_unique<ParkingGate>(io, next);
}
std::unique_ptr<OrderedGate> OrderedGate::spinning(std::int64_t next, std::uint64_t budget) {
  return std::make_unique<SpinningGate>(next, budget);
}

}  // namespace faultline::relay
