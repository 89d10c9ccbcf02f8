#include "relay/core/broadcaster.h"

#include <algorithm>
#include <chrono>

namespace faultline::relay {

ConsumerQueue::ConsumerQueue(io::Io& io, std::size_t capacity, std::string name)
    : name_(std::move(name)),
      mutex_(io.make_mutex("consumer.queue")),
      ready_(io.make_condition("consumer.ready")),
      capacity_(capacity == 0 ? 1 : capacity) {}

bool ConsumerQueue::push(const Outgoing& event) {
  io::LockGuard g(*mutex_);
  if (closed_ || too_slow_.load(std::memory_order_relaxed)) return false;
  const bool was_empty = items_.empty();
  if (!append_locked(event)) return false;
  if (was_empty) ready_->notify_one();
  return true;
}

bool ConsumerQueue::push_batch(std::span<const Outgoing> events) {
  io::LockGuard g(*mutex_);
  if (closed_ || too_slow_.load(std::memory_order_relaxed)) return false;
  const bool was_empty = items_.empty();
  for (const auto& event : events)
    if (!append_locked(event)) return false;
  if (was_empty && !items_.empty()) ready_->notify_one();
  return true;
}

bool ConsumerQueue::append_locked(const Outgoing& event) {
  if (items_.size() >= capacity_) {
    too_slow_.store(true, std::memory_order_relaxed);
    items_.clear();
    ready_->notify_all();
    return false;
  }
  items_.push_back(event);
  if (items_.size() > high_water_.load(std::memory_order_relaxed))
    high_water_.store(items_.size(), std::memory_order_relaxed);
  return true;
}

ConsumerQueue::Pop ConsumerQueue::pop(std::vector<Outgoing>& out, std::size_t max, io::Duration timeout) {
  io::LockGuard g(*mutex_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (items_.empty() && !closed_ && !too_slow_.load(std::memory_order_relaxed)) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= io::Duration::zero()) return Pop::timeout;
    ready_->wait_for(*mutex_, std::chrono::duration_cast<io::Duration>(left));
  }
  if (too_slow_.load(std::memory_order_relaxed)) return Pop::too_slow;
  if (items_.empty()) return Pop::closed;
  std::size_t n = std::min(max, items_.size());
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return Pop::ok;
}

void ConsumerQueue::close() {
  io::LockGuard g(*mutex_);
  closed_ = true;
  ready_->notify_all();
}

std::size_t ConsumerQueue::depth() const {
  io::LockGuard g(*mutex_);
  return items_.size();
}

Broadcaster::Broadcaster(io::Io& io, bool raw_consumer_pointers)
    : raw_(raw_consumer_pointers), mutex_(io.make_mutex("broadcaster")) {}

Broadcaster::~Broadcaster() = default;

std::int64_t Broadcaster::subscribe(const std::shared_ptr<ConsumerQueue>& queue) {
  io::LockGuard g(*mutex_);
  if (raw_)
    raw_queues_.push_back(queue.get());
  else
    owned_.push_back(queue);
  count_.fetch_add(1, std::memory_order_relaxed);
  return last_published_.load(std::memory_order_relaxed);
}

void Broadcaster::unsubscribe(const ConsumerQueue* queue) {
  io::LockGuard g(*mutex_);
  if (raw_) {
    // The injected defect: forget the queue later, although its owner frees
    // it as soon as this returns.
    if (std::find(raw_queues_.begin(), raw_queues_.end(), queue) != raw_queues_.end() &&
        std::find(unsubscribed_.begin(), unsubscribed_.end(), queue) == unsubscribed_.end()) {
      unsubscribed_.push_back(queue);
      count_.fetch_sub(1, std::memory_order_relaxed);
    }
    return;
  }
  if (std::erase_if(owned_, [&](const std::shared_ptr<ConsumerQueue>& q) { return q.get() == queue; }) > 0)
    count_.fetch_sub(1, std::memory_order_relaxed);
}

void Broadcaster::sweep() {
  io::LockGuard g(*mutex_);
  for (auto* q : unsubscribed_) std::erase(raw_queues_, q);
  unsubscribed_.clear();
}

void Broadcaster::publish(const Outgoing& event) {
  io::LockGuard g(*mutex_);
  auto push = [&](ConsumerQueue& q) {
    bool was_slow = q.too_slow();
    if (!q.push(event) && !was_slow && q.too_slow()) too_slow_total_.fetch_add(1, std::memory_order_relaxed);
  };
  if (raw_) {
    for (auto* q : raw_queues_) push(*q);
  } else {
    for (auto& q : owned_) push(*q);
  }
  last_published_.store(event.seq, std::memory_order_release);
}

void Broadcaster::publish_batch(std::span<const Outgoing> events) {
  if (events.empty()) return;
  io::LockGuard g(*mutex_);
  if (raw_) {
    // --inject consumer-uaf: event by event through push(), as publish() does.
    for (const auto& event : events)
      for (auto* q : raw_queues_) {
        bool was_slow = q->too_slow();
        if (!q->push(event) && !was_slow && q->too_slow()) too_slow_total_.fetch_add(1, std::memory_order_relaxed);
      }
  } else {
    for (auto& q : owned_) {
      bool was_slow = q->too_slow();
      if (!q->push_batch(events) && !was_slow && q->too_slow()) too_slow_total_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  last_published_.store(events.back().seq, std::memory_order_release);
}

std::vector<ConsumerStats> Broadcaster::stats() const {
  io::LockGuard g(*mutex_);
  std::vector<ConsumerStats> out;
  auto last = last_published_.load(std::memory_order_relaxed);
  auto add = [&](const ConsumerQueue& q) {
    out.push_back({q.name(), q.depth(), q.high_water(), last - q.last_sent(), q.too_slow()});
  };
  if (raw_) {
    for (auto* q : raw_queues_)
      if (std::find(unsubscribed_.begin(), unsubscribed_.end(), q) == unsubscribed_.end()) add(*q);
  } else {
    for (auto& q : owned_) add(*q);
  }
  return out;
}

}  // namespace faultline::relay
