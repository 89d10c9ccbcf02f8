#include "relay/core/frame_validator.h"

#include <algorithm>
#include <exception>
#include <span>

#include "relay/core/batch_pacer.h"

namespace faultline::relay {

FrameValidator::FrameValidator(io::Io& io, const proto::Limits& limits, io::Duration window)
    : io_(io), limits_(limits), window_(window), mutex_(io.make_mutex("validate.queue")), work_(io.make_condition("validate.work")) {}

FrameValidator::~FrameValidator() = default;

void FrameValidator::start(unsigned tasks) {
  for (unsigned i = 0; i < std::max(1u, tasks); ++i)
    tasks_.push_back(io_.spawn([this] { batcher_loop(); }, "frame-validator"));
}

void FrameValidator::stop() {
  for (auto& t : tasks_) t.cancel();
  for (auto& t : tasks_) {
    try {
      t.join();
    } catch (...) {
    }
  }
  tasks_.clear();
}

void FrameValidator::check(const std::shared_ptr<Request>& request) {
  request->results.clear();
  if (request->frames.empty()) return;
  io::LockGuard g(*mutex_);
  request->done_ = false;
  pending_.push_back(request);
  // Only an empty-to-non-empty transition needs a batcher: one already awake
  // takes everything queued when it gets to run.
  if (pending_.size() == 1) work_->notify_one();
  while (!request->done_) request->ready_->wait(*mutex_);
}

void FrameValidator::batcher_loop() {
  std::vector<std::shared_ptr<Request>> batch;
  BatchPacer pacer(io_, window_);
  try {
    for (;;) {
      {
        io::LockGuard g(*mutex_);
        while (pending_.empty()) work_->wait(*mutex_);
      }
      // A frame is waiting: let more join it if the last batch was recent.
      pacer.pace();
      {
        io::LockGuard g(*mutex_);
        std::size_t frames = 0;
        while (!pending_.empty() && frames < kMaxBatch) {
          frames += pending_.front()->frames.size();
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
        // More than one batch queued: another batcher can take the rest now.
        if (!pending_.empty()) work_->notify_one();
      }
      if (batch.empty()) continue;  // the other batcher took them meanwhile
      batches_.fetch_add(1, std::memory_order_relaxed);
      io_.offload([&] {
        for (auto& r : batch) {
          r->results.resize(r->frames.size());
          for (std::size_t i = 0; i < r->frames.size(); ++i) {
            // One frame's failure must not strand the others' subscribers,
            // which only this task wakes.
            auto& result = r->results[i];
            try {
              result = proto::check_frame(
                  std::span(reinterpret_cast<const std::uint8_t*>(r->frames[i].data()), r->frames[i].size()),
                  limits_);
            } catch (const std::exception& e) {
              result = proto::FrameCheck{};
              result.reason = "check-failed";
              result.detail = e.what();
            }
          }
        }
      });
      {
        io::LockGuard g(*mutex_);
        for (auto& r : batch) {
          r->done_ = true;
          r->ready_->notify_one();
        }
      }
      batch.clear();
    }
  } catch (const io::Cancelled&) {
  }
}

}  // namespace faultline::relay
