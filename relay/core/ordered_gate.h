// OrderedGate: lets the fibers of the broadcast stage publish events strictly
// in relay-seq order although each of them prepares events independently
// (event seq goes to stage fiber seq % W).
//
// Contract: `wait_turn(seq)` returns once every seq below it has called
// `done`; the caller publishes and then calls `done(seq)`. Every seq handed
// out must reach `done` exactly once, published or not.
//
// Two implementations, the fixed and the broken variant of the catalogued
// "spin-waiting fibers" defect (repro crossio/spin-wait-in-fiber):
//  - parking: the waiter parks on a Condition of the relay's backend; on the
//    Evented backend its scheduler thread runs the predecessor meanwhile.
//  - spinning (--inject spin-wait): the waiter spins on an atomic without
//    yielding and gives up after `budget` spins, returning false — the caller
//    drops the event. When the predecessor is a fiber of the same scheduler
//    thread it cannot run during the spin, so on the Evented backend the spin
//    usually runs out: events are lost and the stage queues grow, as in
//    production.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "io/io.h"

namespace faultline::relay {

class OrderedGate {
 public:
  virtual ~OrderedGate() = default;
  virtual bool wait_turn(std::int64_t seq) = 0;
  virtual void done(std::int64_t seq) = 0;
  // Spins performed so far (0 for the parking gate).
  virtual std::uint64_t spins() const { return 0; }

  // `next` is the first seq that will be handed out.
  static std::unique_ptr<OrderedGate> parking(io::Io& io, std::int64_t next);
  static std::unique_ptr<OrderedGate> spinning(std::int64_t next, std::uint64_t budget);
};

}  // namespace faultline::relay
