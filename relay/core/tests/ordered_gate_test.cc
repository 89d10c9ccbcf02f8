#include "relay/core/ordered_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace faultline::relay {
namespace {

class OrderedGateTest : public ::testing::TestWithParam<io::Backend> {};

// W workers each own every W-th seq and publish through the gate: the
// published order must be exactly 1..N although the workers race.
TEST_P(OrderedGateTest, ParkingGatePublishesInOrder) {
  auto io = io::Io::create({.backend = GetParam(), .scheduler_threads = 2});
  constexpr int kWorkers = 4, kEvents = 2000;
  auto gate = OrderedGate::parking(*io, 1);
  auto mutex = io->make_mutex();
  std::vector<std::int64_t> published;
  std::vector<io::TaskHandle> tasks;
  for (int w = 0; w < kWorkers; ++w)
    tasks.push_back(io->spawn([&, w] {
      for (std::int64_t seq = 1 + w; seq <= kEvents; seq += kWorkers) {
        ASSERT_TRUE(gate->wait_turn(seq));
        {
          io::LockGuard g(*mutex);
          published.push_back(seq);
        }
        gate->done(seq);
        if (seq % 7 == 0) io->yield();
      }
    }));
  for (auto& t : tasks) t.join();
  ASSERT_EQ(published.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(published[i], i + 1);
  EXPECT_EQ(gate->spins(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, OrderedGateTest, ::testing::Values(io::Backend::threaded, io::Backend::evented),
                         [](const auto& p) { return std::string(io::to_string(p.param)); });

// The injected defect: on one scheduler thread a spinner whose predecessor is
// a fiber of the same thread cannot be overtaken, so it exhausts its budget.
TEST(SpinningGate, GivesUpWhenThePredecessorShareItsThread) {
  auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
  auto gate = OrderedGate::spinning(1, 10'000);
  std::atomic<int> gave_up{0};
  io->block_on([&] {
    // seq 2 runs first and waits for seq 1, whose fiber has not run yet.
    auto second = io->spawn([&] {
      if (!gate->wait_turn(2)) gave_up.fetch_add(1);
      gate->done(2);
    });
    auto first = io->spawn([&] {
      gate->wait_turn(1);
      gate->done(1);
    });
    second.join();
    first.join();
  });
  EXPECT_EQ(gave_up.load(), 1);
  EXPECT_GE(gate->spins(), 10'000u);
}

}  // namespace
}  // namespace faultline::relay
