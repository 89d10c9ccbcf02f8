// BatchPacer: holds a batching stage to at most one batch per window.
//
// The relay's batching stages (frame validation, the sequencer) take
// whatever is queued when they get to run. Under load they run as often as
// items trickle in: at 20,000 events/s on two cores, validation batches
// held 2.4 frames and sequencer batches 3.7 events, so every event paid
// most of a batch's fixed cost — a bridge round trip (a futex wake of a
// worker, an eventfd wake back), a write(2) to the log, and one send per
// consumer. That fixed cost, not the events, was the relay's CPU.
//
// pace() is called with the first item of a batch in hand, before the stage
// drains the rest of its queue. When the previous batch began less than
// `window` ago, it sleeps out the remainder so the queue fills meanwhile;
// otherwise it returns at once. So an item after a quiet spell goes straight
// through, and under load an item waits at most `window` longer: the stage
// runs at most 1/window batches a second, each carrying rate × window items.
// A zero window turns pacing off.
#pragma once

#include <chrono>

#include "io/io.h"

namespace faultline::relay {

class BatchPacer {
 public:
  using Clock = std::chrono::steady_clock;

  BatchPacer(io::Io& io, io::Duration window) : io_(io), window_(window) {}

  // Sleeps out the rest of the window begun by the previous batch, if any,
  // and starts a new one. A cancellation point when it sleeps.
  void pace() {
    if (window_ <= io::Duration::zero()) return;
    const auto now = Clock::now();
    const auto open_until = last_start_ + window_;
    if (now < open_until) {
      io_.sleep_for(open_until - now);
      last_start_ = open_until;
    } else {
      last_start_ = now;
    }
  }

 private:
  io::Io& io_;
  const io::Duration window_;
  Clock::time_point last_start_{};
};

}  // namespace faultline::relay
