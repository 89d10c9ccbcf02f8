// Synchronisation primitives of faultline::io, as backend-neutral interfaces.
// Each concrete primitive belongs to one backend (see Io::make_*):
//   Threaded primitives block the calling OS thread (futex underneath).
//   Evented primitives park the calling fiber and let its scheduler thread run
//   other fibers; they must be used from fibers only.
// Mixing them up is the defect class the affinity checker (io/affinity.h)
// reports and the crossio repros reproduce.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace faultline::io {

enum class Backend { threaded, evented };
std::string_view to_string(Backend b);

using Duration = std::chrono::nanoseconds;

class Primitive {
 public:
  virtual ~Primitive() = default;
  virtual Backend backend() const = 0;
  const std::string& name() const { return name_; }

 protected:
  explicit Primitive(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

class Mutex : public Primitive {
 public:
  virtual void lock() = 0;
  virtual bool try_lock() = 0;
  virtual void unlock() = 0;

 protected:
  using Primitive::Primitive;
};

class Condition : public Primitive {
 public:
  // `m` must be locked by the caller and be of the same backend.
  // Cancellation point. Spurious wake-ups are allowed (use a predicate).
  virtual void wait(Mutex& m) = 0;
  // Returns false on timeout.
  virtual bool wait_for(Mutex& m, Duration d) = 0;
  virtual void notify_one() = 0;
  virtual void notify_all() = 0;

  template <class Pred>
  void wait(Mutex& m, Pred pred) {
    while (!pred()) wait(m);
  }

 protected:
  using Primitive::Primitive;
};

// One-shot: once set, every present and future wait returns at once.
class Event : public Primitive {
 public:
  virtual void set() = 0;
  virtual bool is_set() const = 0;
  virtual void wait() = 0;                // cancellation point
  virtual bool wait_for(Duration d) = 0;  // false on timeout

 protected:
  using Primitive::Primitive;
};

class Semaphore : public Primitive {
 public:
  virtual void acquire() = 0;  // cancellation point
  virtual bool try_acquire() = 0;
  virtual bool acquire_for(Duration d) = 0;  // false on timeout
  virtual void release(std::size_t n = 1) = 0;

 protected:
  using Primitive::Primitive;
};

// RAII lock for io::Mutex.
class LockGuard {
 public:
  explicit LockGuard(Mutex& m) : m_(m) { m_.lock(); }
  ~LockGuard() { m_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& m_;
};

// A bounded multi-producer multi-consumer channel built from one backend's
// Mutex and Conditions, so it parks exactly like that backend's primitives.
// After close(): send() returns false; recv() drains what is left, then nullopt.
template <class T>
class Channel {
 public:
  Channel(std::unique_ptr<Mutex> m, std::unique_ptr<Condition> not_empty, std::unique_ptr<Condition> not_full,
          std::size_t capacity)
      : m_(std::move(m)),
        not_empty_(std::move(not_empty)),
        not_full_(std::move(not_full)),
        capacity_(capacity == 0 ? 1 : capacity) {}

  bool send(T value) {
    LockGuard g(*m_);
    while (!closed_ && items_.size() >= capacity_) not_full_->wait(*m_);
    if (closed_) return false;
    items_.push_back(std::move(value));
    not_empty_->notify_one();
    return true;
  }
  bool try_send(T& value) {
    LockGuard g(*m_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    not_empty_->notify_one();
    return true;
  }
  std::optional<T> recv() {
    LockGuard g(*m_);
    while (!closed_ && items_.empty()) not_empty_->wait(*m_);
    return pop_locked();
  }
  std::optional<T> recv_for(Duration d) {
    LockGuard g(*m_);
    auto deadline = std::chrono::steady_clock::now() + d;
    while (!closed_ && items_.empty()) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= Duration::zero() || !not_empty_->wait_for(*m_, std::chrono::duration_cast<Duration>(left))) {
        if (items_.empty()) return std::nullopt;
      }
    }
    return pop_locked();
  }
  std::optional<T> try_recv() {
    LockGuard g(*m_);
    return pop_locked();
  }
  void close() {
    LockGuard g(*m_);
    closed_ = true;
    not_empty_->notify_all();
    not_full_->notify_all();
  }
  std::size_t size() const {
    LockGuard g(*m_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }

 private:
  std::optional<T> pop_locked() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> v(std::move(items_.front()));
    items_.pop_front();
    not_full_->notify_one();
    return v;
  }

  std::unique_ptr<Mutex> m_;
  std::unique_ptr<Condition> not_empty_, not_full_;
  std::size_t capacity_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace faultline::io
