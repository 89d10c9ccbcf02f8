// FrameValidator: checks upstream frames on the bridge in batches.
//
// Validation is CPU work (CAR parse, a SHA-256 per block) and, by issue 7,
// runs on the bridge's worker threads. One bridge job per frame made the
// hand-off itself the relay's main cost: a worker woken through a futex and
// the subscriber's scheduler thread woken back, per event. Here subscribers
// queue their frames and park; a few batcher tasks each take everything
// queued (up to kMaxBatch) and check it in one bridge job, then wake the
// subscribers. Under load many frames share one round trip — the more so
// with a pacing window, which keeps each batcher to one batch per window
// while frames keep coming; when idle a frame goes out alone at once.
//
// A request owns its frame while it is queued or being checked: a subscriber
// cancelled while parked (relay shutdown) may leave, and the batcher still
// holds what the bridge job reads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/proto/frame.h"

namespace faultline::relay {

class FrameValidator {
 public:
  // One per subscriber connection, reused for each run of its frames.
  class Request {
   public:
    explicit Request(io::Io& io) : ready_(io.make_condition("validate.ready")) {}
    // In: the frames to check, in the order they came. Out: one verdict
    // per frame, in the same order.
    std::vector<std::string> frames;
    std::vector<proto::FrameCheck> results;

   private:
    friend class FrameValidator;
    std::unique_ptr<io::Condition> ready_;
    bool done_ = false;  // under the validator's mutex
  };

  // `window`: each batcher starts at most one batch per window (BatchPacer).
  FrameValidator(io::Io& io, const proto::Limits& limits, io::Duration window = io::Duration::zero());
  ~FrameValidator();

  // Spawns `tasks` batcher tasks. Batches in flight at once: at most `tasks`.
  void start(unsigned tasks);
  // Cancels and joins the batcher tasks; call once no subscriber checks any
  // more.
  void stop();

  // Checks request->frames and leaves their verdicts in request->results;
  // parks the caller meanwhile. Cancellation point.
  void check(const std::shared_ptr<Request>& request);

  // Frames per bridge job: requests are taken whole until a batch holds at
  // least this many.
  static constexpr std::size_t kMaxBatch = 128;

  // Bridge jobs run so far.
  std::uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }

 private:
  void batcher_loop();

  io::Io& io_;
  const proto::Limits limits_;
  const io::Duration window_;
  std::unique_ptr<io::Mutex> mutex_;
  std::unique_ptr<io::Condition> work_;
  std::deque<std::shared_ptr<Request>> pending_;  // under mutex_
  std::vector<io::TaskHandle> tasks_;
  std::atomic<std::uint64_t> batches_{0};
};

}  // namespace faultline::relay
