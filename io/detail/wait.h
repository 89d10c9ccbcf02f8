// Parking and waking, the one mechanism under every primitive of both backends.
//
// A Parker is something that can block: a fiber (io/evented/fiber.h) or an OS
// thread (ThreadParker below). Parking is token based so that a wake-up can
// never hit the wrong wait:
//   1. the parker starts a wait: its token becomes odd (begin_park);
//   2. it publishes a Waiter {parker, token} (in a primitive's WaitList, a
//      timer, an I/O request) and then blocks;
//   3. a waker calls wake(token): a compare-and-swap odd -> even. Exactly one
//      of {a waker, the timer, cancellation} wins; the others see a stale
//      token and do nothing.
// Waiters live in the waiting task's frame; wakers touch a Waiter only while
// holding the lock of the list it is in, so a timed-out waiter can always
// unlink itself safely before returning.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "io/net.h"

namespace faultline::io::detail {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

inline Deadline deadline_after(Duration d) {
  if (d >= std::chrono::hours(24 * 365)) return kNoDeadline;
  if (d < Duration::zero()) d = Duration::zero();
  return Clock::now() + d;
}

class Parker {
 public:
  virtual ~Parker() = default;

  // Starts a wait; returns the token wakers must present.
  std::uint64_t begin_park() { return token_.fetch_add(1, std::memory_order_acq_rel) + 1; }
  // Ends a wait by the parker itself (timeout, cancellation) if no one woke it
  // yet. Returns false when a waker already won.
  bool cancel_park(std::uint64_t token) {
    return token_.compare_exchange_strong(token, token + 1, std::memory_order_acq_rel);
  }
  // Wakes the parker if it is still parked with `token`. Returns false if the
  // wait already ended (woken by someone else, timed out or cancelled).
  bool wake(std::uint64_t token) { return claim_and_wake(token); }
  bool parked_with(std::uint64_t token) const { return token_.load(std::memory_order_acquire) == token; }
  std::uint64_t current_token() const { return token_.load(std::memory_order_acquire); }

 protected:
  // Makes the parker runnable again (fiber: schedule; thread: notify).
  virtual void on_wake() = 0;
  // wake(): the token's compare-and-swap, then on_wake(). A parker whose
  // memory may go away as soon as its owner sees the new token overrides it
  // to do both under its own lock (ThreadParker).
  virtual bool claim_and_wake(std::uint64_t token) {
    if (!claim(token)) return false;
    on_wake();
    return true;
  }
  bool claim(std::uint64_t token) { return token_.compare_exchange_strong(token, token + 1, std::memory_order_acq_rel); }

 private:
  std::atomic<std::uint64_t> token_{0};
};

// An OS thread's parker: a mutex + condition variable (futex underneath).
class ThreadParker final : public Parker {
 public:
  // Blocks until woken or until `deadline`; returns false on timeout (the
  // wait is then ended: a late waker sees a stale token).
  bool park(std::uint64_t token, Deadline deadline);
  // The parker of the calling thread.
  static ThreadParker& current();

 private:
  void on_wake() override;
  bool claim_and_wake(std::uint64_t token) override;
  std::mutex m_;
  std::condition_variable cv_;
};

// An entry in a primitive's wait list. Lives in the waiting task's frame.
struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool linked = false;
  bool granted = false;  // set by the waker under the list's lock
  Parker* parker = nullptr;
  std::uint64_t token = 0;

  // Grants and wakes; false if the waiter's wait already ended on its own.
  bool grant_and_wake() {
    granted = true;
    if (parker->wake(token)) return true;
    granted = false;
    return false;
  }
};

// Intrusive FIFO of waiters; the owner's lock protects it.
class WaitList {
 public:
  bool empty() const { return head_ == nullptr; }
  void push_back(Waiter& w) {
    w.prev = tail_;
    w.next = nullptr;
    if (tail_)
      tail_->next = &w;
    else
      head_ = &w;
    tail_ = &w;
    w.linked = true;
  }
  Waiter* pop_front() {
    Waiter* w = head_;
    if (w) remove(*w);
    return w;
  }
  void remove(Waiter& w) {
    if (!w.linked) return;
    if (w.prev)
      w.prev->next = w.next;
    else
      head_ = w.next;
    if (w.next)
      w.next->prev = w.prev;
    else
      tail_ = w.prev;
    w.prev = w.next = nullptr;
    w.linked = false;
  }
  // Wakes the first waiter whose wait has not ended; false if none.
  bool wake_one() {
    while (Waiter* w = pop_front())
      if (w->grant_and_wake()) return true;
    return false;
  }
  std::size_t wake_all() {
    std::size_t n = 0;
    while (Waiter* w = pop_front()) n += w->grant_and_wake() ? 1 : 0;
    return n;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace faultline::io::detail
