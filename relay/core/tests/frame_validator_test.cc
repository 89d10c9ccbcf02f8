#include "relay/core/frame_validator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "relay/proto/frame_builder.h"

namespace faultline::relay {
namespace {

using namespace std::chrono_literals;

class FrameValidatorTest : public ::testing::TestWithParam<io::Backend> {
 protected:
  std::unique_ptr<io::Io> io_ = io::Io::create({.backend = GetParam(), .scheduler_threads = 2});
};

// Many subscribers at once, so batches of several frames form: each must get
// its own frame's verdict back, the same one check_frame gives directly.
TEST_P(FrameValidatorTest, EveryCallerGetsTheVerdictOfItsOwnFrame) {
  constexpr int kTasks = 64;
  constexpr int kFramesEach = 20;
  FrameValidator v(*io_, proto::Limits{});
  v.start(2);
  std::atomic<int> mismatches{0}, checked{0};
  std::vector<io::TaskHandle> tasks;
  for (int t = 0; t < kTasks; ++t) {
    tasks.push_back(io_->spawn([&, t] {
      auto request = std::make_shared<FrameValidator::Request>(*io_);
      for (int i = 0; i < kFramesEach; ++i) {
        proto::CommitSpec spec;
        spec.seq = 1 + t * kFramesEach + i;
        auto frame = proto::make_commit_frame(spec);
        const bool corrupt = i % 5 == 4;
        if (corrupt) frame.resize(frame.size() / 2);
        request->frames.assign(1, std::string(reinterpret_cast<const char*>(frame.data()), frame.size()));
        v.check(request);
        ASSERT_EQ(request->results.size(), 1u);
        const auto& r = request->results[0];
        if (r.ok == corrupt || (!corrupt && r.seq != spec.seq)) mismatches.fetch_add(1);
        checked.fetch_add(1);
      }
    }));
  }
  for (auto& t : tasks) t.join();
  v.stop();
  EXPECT_EQ(checked.load(), kTasks * kFramesEach);
  EXPECT_EQ(mismatches.load(), 0);
}

// A subscriber's run: several frames in one request, one verdict per frame
// in the same order, while other requests share the batches; with a pacing
// window too, and runs larger than a batch.
TEST_P(FrameValidatorTest, ARunOfFramesGetsOneVerdictPerFrameInOrder) {
  for (auto window : {io::Duration::zero(), io::Duration(std::chrono::microseconds(500))}) {
    FrameValidator v(*io_, proto::Limits{}, window);
    v.start(2);
    std::atomic<int> mismatches{0}, checked{0};
    std::vector<io::TaskHandle> tasks;
    for (int t = 0; t < 8; ++t) {
      tasks.push_back(io_->spawn([&, t] {
        auto request = std::make_shared<FrameValidator::Request>(*io_);
        std::int64_t seq = 1 + t * 10'000;
        for (std::size_t run : {1u, 7u, 32u, 200u}) {
          request->frames.clear();
          std::vector<std::int64_t> seqs;
          for (std::size_t i = 0; i < run; ++i) {
            proto::CommitSpec spec;
            spec.seq = seq++;
            auto frame = proto::make_commit_frame(spec);
            if (i % 3 == 1) frame.resize(frame.size() / 2);
            seqs.push_back(i % 3 == 1 ? -1 : spec.seq);
            request->frames.emplace_back(reinterpret_cast<const char*>(frame.data()), frame.size());
          }
          v.check(request);
          if (request->results.size() != run) {
            mismatches.fetch_add(1);
            continue;
          }
          for (std::size_t i = 0; i < run; ++i) {
            const auto& r = request->results[i];
            if (seqs[i] < 0 ? r.ok : (!r.ok || r.seq != seqs[i])) mismatches.fetch_add(1);
            checked.fetch_add(1);
          }
        }
      }));
    }
    for (auto& t : tasks) t.join();
    v.stop();
    EXPECT_EQ(checked.load(), 8 * (1 + 7 + 32 + 200));
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_GE(v.batches(), 1u);
  }
}

// Shutdown order in the relay: subscribers are cancelled while parked in
// check(), then the validator stops; neither may hang.
TEST_P(FrameValidatorTest, ACancelledCallerAndStopDoNotHang) {
  FrameValidator v(*io_, proto::Limits{});
  v.start(1);
  auto task = io_->spawn([&] {
    auto request = std::make_shared<FrameValidator::Request>(*io_);
    auto frame = proto::make_commit_frame(proto::CommitSpec{});
    for (int i = 0; i < 100'000; ++i) {
      request->frames.assign(1, std::string(reinterpret_cast<const char*>(frame.data()), frame.size()));
      v.check(request);
    }
  });
  std::this_thread::sleep_for(20ms);
  task.cancel();
  task.join();
  v.stop();
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Backends, FrameValidatorTest, ::testing::Values(io::Backend::threaded, io::Backend::evented),
                         [](const auto& p) { return std::string(io::to_string(p.param)); });

}  // namespace
}  // namespace faultline::relay
