#include "relay/core/broadcaster.h"

#include <gtest/gtest.h>

#include <chrono>

namespace faultline::relay {
namespace {

using namespace std::chrono_literals;

Outgoing event(std::int64_t seq) {
  return {seq, std::make_shared<const std::vector<std::uint8_t>>(std::vector<std::uint8_t>{std::uint8_t(seq & 0xff)})};
}

// A broadcaster with two consumers: `slow` holds 4 frames, `fast` 100.
// Build it inside a task of `io`.
struct SlowAndFast {
  explicit SlowAndFast(io::Io& io)
      : b(io, false),
        slow(std::make_shared<ConsumerQueue>(io, 4, "slow")),
        fast(std::make_shared<ConsumerQueue>(io, 100, "fast")) {
    b.subscribe(slow);
    b.subscribe(fast);
  }
  // Only `slow` was cut off; `fast` got all `published` frames.
  void expect_only_slow_cut_off(std::size_t published) {
    EXPECT_TRUE(slow->too_slow());
    EXPECT_FALSE(fast->too_slow());
    EXPECT_EQ(b.too_slow_total(), 1u);
    std::vector<Outgoing> got;
    EXPECT_EQ(slow->pop(got, 100, 1s), ConsumerQueue::Pop::too_slow);
    EXPECT_EQ(fast->pop(got, 100, 1s), ConsumerQueue::Pop::ok);
    EXPECT_EQ(got.size(), published);
  }
  Broadcaster b;
  std::shared_ptr<ConsumerQueue> slow, fast;
};

class BroadcasterTest : public ::testing::TestWithParam<io::Backend> {
 protected:
  std::unique_ptr<io::Io> io_ = io::Io::create({.backend = GetParam(), .scheduler_threads = 2});
};

TEST_P(BroadcasterTest, SubscribeReturnsTheHandOverPointAndDeliversEverythingAfterIt) {
  io_->block_on([&] {
    Broadcaster b(*io_, false);
    for (int s = 1; s <= 10; ++s) b.publish(event(s));
    auto q = std::make_shared<ConsumerQueue>(*io_, 100, "c1");
    EXPECT_EQ(b.subscribe(q), 10);
    for (int s = 11; s <= 20; ++s) b.publish(event(s));
    std::vector<Outgoing> got;
    ASSERT_EQ(q->pop(got, 100, 1s), ConsumerQueue::Pop::ok);
    ASSERT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i].seq, 11 + i);
    b.unsubscribe(q.get());
    EXPECT_EQ(b.consumers(), 0u);
  });
}

TEST_P(BroadcasterTest, AFullQueueMarksOnlyThatConsumerTooSlow) {
  io_->block_on([&] {
    SlowAndFast c(*io_);
    for (int s = 1; s <= 5; ++s) c.b.publish(event(s));
    c.expect_only_slow_cut_off(5);
    EXPECT_EQ(c.fast->high_water(), 5u);
  });
}

TEST_P(BroadcasterTest, PopTimesOutAndCloseWakesTheSender) {
  auto q = std::make_shared<ConsumerQueue>(*io_, 4, "c");
  io_->block_on([&] {
    std::vector<Outgoing> got;
    EXPECT_EQ(q->pop(got, 10, 20ms), ConsumerQueue::Pop::timeout);
    auto closer = io_->spawn([&] {
      io_->sleep_for(10ms);
      q->close();
    });
    EXPECT_EQ(q->pop(got, 10, 10s), ConsumerQueue::Pop::closed);
    closer.join();
  });
}

TEST_P(BroadcasterTest, StatsReportLagFromWhatTheSenderWrote) {
  io_->block_on([&] {
    Broadcaster b(*io_, false);
    auto q = std::make_shared<ConsumerQueue>(*io_, 100, "c");
    b.subscribe(q);
    for (int s = 1; s <= 30; ++s) b.publish(event(s));
    q->set_last_sent(12);
    auto stats = b.stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].lag, 18);
    EXPECT_EQ(stats[0].depth, 30u);
  });
}

TEST_P(BroadcasterTest, ABatchIsPublishedWholeOrNotAtAllToANewSubscriber) {
  io_->block_on([&] {
    Broadcaster b(*io_, false);
    std::vector<Outgoing> first, second;
    for (int s = 1; s <= 10; ++s) first.push_back(event(s));
    for (int s = 11; s <= 20; ++s) second.push_back(event(s));
    b.publish_batch(first);
    auto q = std::make_shared<ConsumerQueue>(*io_, 100, "c");
    EXPECT_EQ(b.subscribe(q), 10);
    b.publish_batch(second);
    std::vector<Outgoing> got;
    ASSERT_EQ(q->pop(got, 100, 1s), ConsumerQueue::Pop::ok);
    ASSERT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i].seq, 11 + i);
    EXPECT_EQ(q->high_water(), 10u);
  });
}

TEST_P(BroadcasterTest, ABatchThatOverflowsAQueueMarksItTooSlowLikeSinglePublishes) {
  io_->block_on([&] {
    SlowAndFast c(*io_);
    std::vector<Outgoing> batch;
    for (int s = 1; s <= 4; ++s) batch.push_back(event(s));
    c.b.publish_batch(batch);  // exactly full: not too slow yet
    EXPECT_FALSE(c.slow->too_slow());
    c.b.publish_batch(std::vector<Outgoing>{event(5)});
    c.expect_only_slow_cut_off(5);
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, BroadcasterTest, ::testing::Values(io::Backend::threaded, io::Backend::evented),
                         [](const auto& p) { return std::string(io::to_string(p.param)); });

}  // namespace
}  // namespace faultline::relay
