// Verifying consumers of the relay's firehose (run as fibers in the stress
// process).
//
// Per event every consumer checks (SeqChecker + per-host tracking):
//  - relay seq: strictly increasing with no gap and no duplicate, from the
//    cursor it connected with (cursor 0: the first event must be seq 1).
//    `#info OutdatedCursor` re-bases (the next event starts the window).
//  - per host (from the DID, make_did): emit times strictly increasing — a
//    duplicate or reordered upstream event breaks it (`order_violations`).
//  - latency: receive time − the frame's `time` (latency consumers only).
// Kinds:
//  - normal: reads as fast as it can, reconnects with its last seq as cursor
//    if the stream breaks (counted: `disconnects`, a failure for a correct relay).
//  - slow: SO_RCVBUF shrunk; does not read until the relay's log is
//    `slow_threshold` events ahead of it (or `slow_deadline` passed), then
//    drains until the relay cuts it off. Must see a `ConsumerTooSlow` error
//    frame when it fell that far behind; that is not a failure.
//  - reconnect: every `reconnect_every` closes and reconnects with its last
//    seq as cursor; the seq must continue with no gap across reconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "io/io.h"
#include "stress/histogram.h"

namespace faultline::stress {

// The relay-seq invariant on its own (unit-tested).
class SeqChecker {
 public:
  // The seq the next event must have is `cursor + 1`.
  void rebase(std::int64_t cursor) { last_ = cursor; }
  // Returns true when `seq` is new (it advanced); gaps/dups counted.
  bool observe(std::int64_t seq);
  std::int64_t last() const { return last_; }
  std::uint64_t gaps() const { return gap_events_; }      // missing events in total
  std::uint64_t gap_runs() const { return gap_runs_; }    // places where a gap occurred
  std::uint64_t duplicates() const { return dups_; }

 private:
  std::int64_t last_ = 0;
  std::uint64_t gap_events_ = 0, gap_runs_ = 0, dups_ = 0;
};

enum class ConsumerKind { normal, slow, reconnect };
const char* to_string(ConsumerKind k);

struct ConsumerOptions {
  ConsumerKind kind = ConsumerKind::normal;
  std::string name;             // "c0", "slow", "reconnect"
  std::string endpoint;         // "127.0.0.1:PORT" of the relay
  std::uint32_t hosts = 0;      // for per-host tracking
  std::int64_t start_cursor = 0;
  bool record_latency = true;
  std::chrono::milliseconds reconnect_every{5000};
  // The slow consumer reads again once the relay reports it more than
  // `relay_buffer` events behind (relay_consumer_lag for our connection, via
  // `relay_lag`), or — when the relay's metric is not there — once it is
  // `slow_threshold` behind the relay's log by its own count (kernel socket
  // buffers hold several thousand frames on top of the relay's queue).
  std::int64_t slow_threshold = 2 * 16'384;
  std::int64_t relay_buffer = 16'384;
  // NaN when unknown. Called with our local port (the relay names consumers
  // by their peer address).
  std::function<double(std::uint16_t)> relay_lag;
  std::chrono::milliseconds slow_deadline{20'000};
  // SO_RCVBUF of the slow consumer (0: the kernel default). Shrinking it after
  // connect (io::Io::connect makes the socket) leaves TCP trickling a few
  // frames per window probe, so the relay needs many seconds to finish the
  // batch it is writing before it can send ConsumerTooSlow: keep the default.
  int slow_rcvbuf = 0;
};

class Consumer {
 public:
  // `latency` may be shared by several consumers; `relay_seq` is the relay's
  // latest log seq as the sampler last saw it (the slow consumer's clock).
  Consumer(io::Io& io, ConsumerOptions options, Histogram* latency, const std::atomic<std::int64_t>* relay_seq);

  void start();
  // Asks the task to end (it finishes the message it is on) and joins it.
  void stop();

  const ConsumerOptions& options() const { return opt_; }
  // Live counters (any thread).
  std::int64_t last_seq() const { return last_seq_.load(std::memory_order_relaxed); }
  std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  std::uint64_t gaps() const { return gaps_.load(std::memory_order_relaxed); }
  std::uint64_t duplicates() const { return dups_.load(std::memory_order_relaxed); }
  std::uint64_t order_violations() const { return order_.load(std::memory_order_relaxed); }
  std::uint64_t unreadable() const { return unreadable_.load(std::memory_order_relaxed); }
  std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  std::uint64_t disconnects() const { return disconnects_.load(std::memory_order_relaxed); }
  std::uint64_t outdated_infos() const { return outdated_.load(std::memory_order_relaxed); }
  std::uint64_t future_cursors() const { return future_.load(std::memory_order_relaxed); }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  bool too_slow() const { return too_slow_.load(std::memory_order_relaxed); }
  bool finished() const { return finished_.load(std::memory_order_relaxed); }
  // Steady-clock time of the first gap (0: none).
  std::int64_t first_gap_us() const { return first_gap_us_.load(std::memory_order_relaxed); }
  // Slow consumer: largest lag behind the relay it reached before draining.
  std::int64_t max_lag_seen() const { return max_lag_.load(std::memory_order_relaxed); }
  // Slow consumer: the largest lag the relay itself reported for it.
  double max_relay_lag_seen() const { return max_relay_lag_.load(std::memory_order_relaxed); }
  // Slow consumer: it fell far enough behind that ConsumerTooSlow is due.
  bool exercised() const { return exercised_.load(std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // After stop(): events per host, and a description of anything odd.
  const std::vector<std::uint32_t>& per_host() const { return per_host_; }
  std::vector<std::string> notes() const;

 private:
  void run();
  bool session(std::int64_t cursor);  // false: do not reconnect
  void note(std::string s);

  io::Io& io_;
  ConsumerOptions opt_;
  Histogram* latency_;
  const std::atomic<std::int64_t>* relay_seq_;
  io::TaskHandle task_;
  std::atomic<bool> stop_{false};
  SeqChecker seq_;
  std::vector<std::uint32_t> per_host_;
  std::vector<std::int64_t> host_last_time_;
  std::atomic<std::int64_t> last_seq_{0};
  std::atomic<std::uint64_t> events_{0}, gaps_{0}, dups_{0}, order_{0}, unreadable_{0}, reconnects_{0},
      disconnects_{0}, outdated_{0}, future_{0};
  std::atomic<bool> connected_{false}, too_slow_{false}, finished_{false}, draining_{false};
  std::atomic<std::int64_t> first_gap_us_{0}, max_lag_{0};
  std::atomic<double> max_relay_lag_{0};
  std::atomic<bool> exercised_{false};
  mutable std::mutex notes_mu_;
  std::vector<std::string> notes_;
};

}  // namespace faultline::stress
