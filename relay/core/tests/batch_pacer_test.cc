#include "relay/core/batch_pacer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace faultline::relay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class BatchPacerTest : public ::testing::TestWithParam<io::Backend> {
 protected:
  std::unique_ptr<io::Io> io_ = io::Io::create({.backend = GetParam(), .scheduler_threads = 1});
};

// Back-to-back batches are held to one per window; the first after a quiet
// spell longer than the window is not held at all. (Lower bounds for the
// pacing, a loose upper bound for "not held": a 200 ms window against
// microseconds.)
TEST_P(BatchPacerTest, HoldsBackToBackBatchesToOnePerWindowAndNeverAfterAQuietSpell) {
  io_->block_on([&] {
    BatchPacer pacer(*io_, 200ms);
    const auto t0 = Clock::now();
    pacer.pace();  // the first batch ever: no previous window
    const auto t1 = Clock::now();
    EXPECT_LT(t1 - t0, 150ms);
    pacer.pace();
    pacer.pace();
    const auto t2 = Clock::now();
    EXPECT_GE(t2 - t1, 390ms) << "two back-to-back batches after the first: two windows";
    io_->sleep_for(250ms);  // quieter than a window
    const auto t3 = Clock::now();
    pacer.pace();
    EXPECT_LT(Clock::now() - t3, 150ms);
  });
}

TEST_P(BatchPacerTest, AZeroWindowNeverWaits) {
  io_->block_on([&] {
    BatchPacer pacer(*io_, io::Duration::zero());
    const auto t0 = Clock::now();
    for (int i = 0; i < 1000; ++i) pacer.pace();
    EXPECT_LT(Clock::now() - t0, 150ms);
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchPacerTest, ::testing::Values(io::Backend::threaded, io::Backend::evented),
                         [](const auto& p) { return std::string(io::to_string(p.param)); });

}  // namespace
}  // namespace faultline::relay
