// Condition, Event and Semaphore, written once over a backend Policy.
//
// Both backends' versions are the same algorithm — an internal lock, a
// WaitList of Waiters, token-based parking (wait.h) — and differ only in
//   Policy::parker(p, op)   whose Parker waits: the running fiber (Evented)
//                           or the calling thread (Threaded). The Evented
//                           policy takes it from the scheduler thread-local,
//                           which is NULL off scheduler threads — exactly the
//                           production crash the crossio repros reproduce when
//                           the affinity checker is off;
//   Policy::check_use / check_block   the affinity checks;
//   Policy::park(...)       how that parker blocks.
// The internal lock is a std::mutex held for a few instructions and never
// across a park, so it is safe for fibers too.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

#include "io/detail/task_state.h"
#include "io/detail/wait.h"
#include "io/sync.h"

namespace faultline::io::detail {

template <class Policy>
class BasicCondition final : public Condition {
 public:
  explicit BasicCondition(std::string name) : Condition(std::move(name)) {}
  Backend backend() const override { return Policy::kBackend; }

  void wait(Mutex& m) override { wait_until(m, kNoDeadline); }
  bool wait_for(Mutex& m, Duration d) override { return wait_until(m, deadline_after(d)); }
  void notify_one() override {
    Policy::check_use(*this, "notify_one");
    std::lock_guard lk(mu_);
    waiters_.wake_one();
  }
  void notify_all() override {
    Policy::check_use(*this, "notify_all");
    std::lock_guard lk(mu_);
    waiters_.wake_all();
  }

 private:
  bool wait_until(Mutex& m, Deadline deadline) {
    Policy::check_block(*this, "wait");
    Parker& p = Policy::parker(*this, "wait");
    Waiter w;
    w.parker = &p;
    {
      std::lock_guard lk(mu_);
      w.token = p.begin_park();
      waiters_.push_back(w);
    }
    m.unlock();
    Policy::park(p, w.token, deadline, true, "condition");
    {
      std::lock_guard lk(mu_);
      waiters_.remove(w);
    }
    m.lock();
    if (!w.granted) throw_if_cancelled();
    return w.granted;
  }

  std::mutex mu_;
  WaitList waiters_;
};

template <class Policy>
class BasicEvent final : public Event {
 public:
  explicit BasicEvent(std::string name) : Event(std::move(name)) {}
  Backend backend() const override { return Policy::kBackend; }

  void set() override {
    Policy::check_use(*this, "set");
    std::lock_guard lk(mu_);
    set_ = true;
    waiters_.wake_all();
  }
  bool is_set() const override {
    std::lock_guard lk(mu_);
    return set_;
  }
  void wait() override { wait_until(kNoDeadline); }
  bool wait_for(Duration d) override { return wait_until(deadline_after(d)); }

 private:
  bool wait_until(Deadline deadline) {
    Policy::check_use(*this, "wait");
    Waiter w;
    {
      std::unique_lock lk(mu_);
      if (set_) return true;
      lk.unlock();
      Policy::check_block(*this, "wait");
      Parker& p = Policy::parker(*this, "wait");
      w.parker = &p;
      lk.lock();
      if (set_) return true;
      w.token = p.begin_park();
      waiters_.push_back(w);
    }
    Policy::park(*w.parker, w.token, deadline, true, "event");
    std::lock_guard lk(mu_);
    waiters_.remove(w);
    if (set_) return true;
    throw_if_cancelled();
    return false;
  }

  mutable std::mutex mu_;
  bool set_ = false;
  WaitList waiters_;
};

template <class Policy>
class BasicSemaphore final : public Semaphore {
 public:
  BasicSemaphore(std::size_t initial, std::string name) : Semaphore(std::move(name)), count_(initial) {}
  Backend backend() const override { return Policy::kBackend; }

  void acquire() override { acquire_until(kNoDeadline); }
  bool acquire_for(Duration d) override { return acquire_until(deadline_after(d)); }
  bool try_acquire() override {
    Policy::check_use(*this, "try_acquire");
    std::lock_guard lk(mu_);
    if (count_ == 0) return false;
    --count_;
    return true;
  }
  // A permit goes straight to a waiter when there is one (granted), so a
  // late-arriving acquirer cannot steal it between the wake and the resume.
  void release(std::size_t n) override {
    Policy::check_use(*this, "release");
    std::lock_guard lk(mu_);
    for (; n > 0; --n)
      if (!waiters_.wake_one()) ++count_;
  }

 private:
  bool acquire_until(Deadline deadline) {
    Policy::check_use(*this, "acquire");
    Waiter w;
    {
      std::unique_lock lk(mu_);
      if (count_ > 0) {
        --count_;
        return true;
      }
      lk.unlock();
      Policy::check_block(*this, "acquire");
      Parker& p = Policy::parker(*this, "acquire");
      w.parker = &p;
      lk.lock();
      if (count_ > 0) {
        --count_;
        return true;
      }
      w.token = p.begin_park();
      waiters_.push_back(w);
    }
    Policy::park(*w.parker, w.token, deadline, true, "semaphore");
    std::lock_guard lk(mu_);
    waiters_.remove(w);
    if (w.granted) return true;
    throw_if_cancelled();
    return false;
  }

  std::mutex mu_;
  std::size_t count_;
  WaitList waiters_;
};

}  // namespace faultline::io::detail
