#include "io/evented/sync.h"

#include "io/affinity.h"
#include "io/evented/scheduler.h"

namespace faultline::io::evented {

void FiberPolicy::check_use(const Primitive& p, std::string_view op) {
  detail::check_evented_use(p, op);
}

detail::Parker& FiberPolicy::parker(const Primitive& p, std::string_view op) {
  detail::check_evented_use(p, op);
  Scheduler* s = Scheduler::current();
  return *s->current_fiber();
}

void FiberPolicy::park(detail::Parker& p, std::uint64_t token, detail::Deadline d, bool cancellable,
                       const char* reason) {
  Scheduler* s = Scheduler::current();
  s->park(static_cast<Fiber*>(&p), token, d, cancellable ? CancelMode::wake : CancelMode::none, ParkKind::primitive,
          reason);
}

bool FiberMutex::try_lock() {
  detail::check_evented_use(*this, "try_lock");
  int expected = 0;
  return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
}

void FiberMutex::lock() {
  detail::check_evented_use(*this, "lock");
  int expected = 0;
  if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
  // Contended: this is where a plain thread (checker off) dereferences the
  // NULL scheduler — Scheduler::current() is only set on scheduler threads.
  Scheduler* s = Scheduler::current();
  Fiber* f = s->current_fiber();
  detail::Waiter w;
  w.parker = f;
  {
    std::lock_guard lk(mu_);
    // Announce a waiter; if the mutex was released meanwhile, take it.
    if (state_.exchange(2, std::memory_order_acquire) == 0) {
      if (waiters_.empty()) state_.store(1, std::memory_order_relaxed);
      return;
    }
    w.token = f->begin_park();
    waiters_.push_back(w);
  }
  s->park(f, w.token, detail::kNoDeadline, CancelMode::none, ParkKind::primitive, name().c_str());
  // Ownership was handed over by unlock(); state_ stays "held".
}

void FiberMutex::unlock() {
  detail::check_evented_use(*this, "unlock");
  int expected = 1;
  if (state_.compare_exchange_strong(expected, 0, std::memory_order_release)) return;
  std::lock_guard lk(mu_);
  if (!waiters_.wake_one()) {
    state_.store(0, std::memory_order_release);
  } else if (waiters_.empty()) {
    state_.store(1, std::memory_order_relaxed);  // the new owner has no one behind it
  }
}

}  // namespace faultline::io::evented
