// Intrusive multi-producer single-consumer queue (Vyukov). Any thread pushes;
// only the owning scheduler thread pops. Push is one atomic exchange and never
// blocks, which is what lets a foreign thread wake a fiber without touching
// the scheduler's run queue.
//
// pop() may return nullptr while a push is half done (the producer swapped the
// head but has not linked its node yet). Producers therefore check the
// consumer's "sleeping" flag only *after* their push completes, and ring the
// scheduler's eventfd if it is set: a half-done push is never slept through.
#pragma once

#include <atomic>

namespace faultline::io::evented {

struct MpscNode {
  std::atomic<MpscNode*> next{nullptr};
};

class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  void push(MpscNode* n) {
    n->next.store(nullptr, std::memory_order_relaxed);
    MpscNode* prev = head_.exchange(n, std::memory_order_acq_rel);
    prev->next.store(n, std::memory_order_release);
  }

  MpscNode* pop() {
    MpscNode* tail = tail_;
    MpscNode* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is in progress
    push(&stub_);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

  bool probably_empty() const {
    return tail_ == &stub_ && stub_.next.load(std::memory_order_acquire) == nullptr &&
           head_.load(std::memory_order_acquire) == &stub_;
  }

 private:
  std::atomic<MpscNode*> head_;
  MpscNode* tail_;
  MpscNode stub_;
};

}  // namespace faultline::io::evented
