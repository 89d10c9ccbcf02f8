// Broadcaster: fans every sequenced event out to the downstream consumers.
//
// Contract:
//  - `publish` is called in strictly increasing seq order (by the broadcast
//    stage, behind its OrderedGate) and never blocks on a consumer: each
//    consumer has its own bounded ConsumerQueue (default 16,384 frames, the
//    reference relay's buffer). A full queue marks that consumer too slow;
//    its sender then sends `ConsumerTooSlow` and closes. The others go on.
//  - `subscribe` registers a queue under the publish lock and returns the
//    last seq published before it: the queue receives exactly the events
//    after that seq. The firehose handler replays (cursor, returned seq] from
//    the event log before draining the queue, so the hand-over from replay to
//    live has no gap and no duplicate.
//  - Consumers are held by shared_ptr, so a queue outlives any publish that
//    is pushing into it. With --inject consumer-uaf the broadcaster keeps a
//    raw pointer instead and forgets it only at its next sweep, while the
//    disconnecting handler frees the queue at once — the catalogued
//    "broadcaster vs consumer lifetime" use-after-free.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/io.h"

namespace faultline::relay {

// One sequenced frame, shared by every consumer queue it is in.
struct Outgoing {
  std::int64_t seq = 0;
  std::shared_ptr<const std::vector<std::uint8_t>> frame;
};

// Consecutive seqs, handed from the sequencer to the broadcast stage in one
// piece so that one hand-off (and one wake-up per consumer) carries many.
using OutgoingBatch = std::vector<Outgoing>;

class ConsumerQueue {
 public:
  ConsumerQueue(io::Io& io, std::size_t capacity, std::string name);

  // Never blocks. False when the queue is full (the consumer is then marked
  // too slow and gets nothing more) or closed.
  bool push(const Outgoing& event);
  // push() for each event in order, under one lock and with at most one
  // wake-up of the sender.
  bool push_batch(std::span<const Outgoing> events);

  enum class Pop { ok, timeout, closed, too_slow };
  // Waits up to `timeout` for at least one frame, then moves up to `max` of
  // them into `out`. Frames queued before the consumer was marked too slow
  // are not delivered: the consumer is cut off at once, like the reference.
  Pop pop(std::vector<Outgoing>& out, std::size_t max, io::Duration timeout);
  void close();

  const std::string& name() const { return name_; }
  std::size_t depth() const;
  std::size_t high_water() const { return high_water_.load(std::memory_order_relaxed); }
  bool too_slow() const { return too_slow_.load(std::memory_order_relaxed); }
  // The sender reports what it has written to the socket (for lag metrics).
  void set_last_sent(std::int64_t seq) { last_sent_.store(seq, std::memory_order_relaxed); }
  std::int64_t last_sent() const { return last_sent_.load(std::memory_order_relaxed); }

 private:
  // Under mutex_: appends, or marks the consumer too slow (and empties the
  // queue) when it is full.
  bool append_locked(const Outgoing& event);
  std::string name_;
  std::unique_ptr<io::Mutex> mutex_;
  std::unique_ptr<io::Condition> ready_;
  std::deque<Outgoing> items_;
  std::size_t capacity_;
  bool closed_ = false;
  std::atomic<bool> too_slow_{false};
  std::atomic<std::size_t> high_water_{0};
  std::atomic<std::int64_t> last_sent_{0};
};

struct ConsumerStats {
  std::string name;
  std::size_t depth;
  std::size_t high_water;
  std::int64_t lag;  // events published but not yet written to this consumer
  bool too_slow;
};

class Broadcaster {
 public:
  Broadcaster(io::Io& io, bool raw_consumer_pointers);
  ~Broadcaster();

  std::int64_t subscribe(const std::shared_ptr<ConsumerQueue>& queue);
  void unsubscribe(const ConsumerQueue* queue);
  void publish(const Outgoing& event);
  // publish() for consecutive seqs at once: a consumer subscribing meanwhile
  // gets all of them or none (the hand-over seq is the batch's last or lower).
  void publish_batch(std::span<const Outgoing> events);

  std::int64_t last_published() const { return last_published_.load(std::memory_order_acquire); }
  void set_last_published(std::int64_t seq) { last_published_.store(seq, std::memory_order_release); }
  // Subscribed consumers. Lock-free, so callable from any thread (the
  // relay's counters() is read from plain threads, where an Evented mutex
  // must not be taken).
  std::size_t consumers() const { return count_.load(std::memory_order_relaxed); }
  std::vector<ConsumerStats> stats() const;
  std::uint64_t too_slow_total() const { return too_slow_total_.load(std::memory_order_relaxed); }
  // --inject consumer-uaf: forgets queues unsubscribed since the last sweep.
  void sweep();

 private:
  bool raw_;
  std::unique_ptr<io::Mutex> mutex_;
  std::vector<std::shared_ptr<ConsumerQueue>> owned_;  // fixed variant
  std::vector<ConsumerQueue*> raw_queues_;             // --inject consumer-uaf
  std::vector<const ConsumerQueue*> unsubscribed_;     // swept later (injected)
  std::atomic<std::int64_t> last_published_{0};
  std::atomic<std::uint64_t> too_slow_total_{0};
  std::atomic<std::size_t> count_{0};  // subscribed and not yet unsubscribed
};

}  // namespace faultline::relay
