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
        request->frame.assign(reinterpret_cast<const char*>(frame.data()), frame.size());
        v.check(request);
        const auto& r = request->result;
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

// Shutdown order in the relay: subscribers are cancelled while parked in
// check(), then the validator stops; neither may hang.
TEST_P(FrameValidatorTest, ACancelledCallerAndStopDoNotHang) {
  FrameValidator v(*io_, proto::Limits{});
  v.start(1);
  auto task = io_->spawn([&] {
    auto request = std::make_shared<FrameValidator::Request>(*io_);
    auto frame = proto::make_commit_frame(proto::CommitSpec{});
    for (int i = 0; i < 100'000; ++i) {
      request->frame.assign(reinterpret_cast<const char*>(frame.data()), frame.size());
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
