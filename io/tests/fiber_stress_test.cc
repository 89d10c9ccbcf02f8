// The Evented scheduler's fiber switches under load: the paths the sanitizer
// switch hooks (io/evented/sanitizer_switch.h) must get right. In ASan/TSan
// trees these run with detect_stack_use_after_return=1 (sanitizers/asan.options)
// and any report fails them; elsewhere they are plain correctness tests.
//
//   - 10,000 fibers spawned and joined, each with instrumented stack frames;
//   - fibers migrating across scheduler threads and finishing on a thread
//     other than the one they started on (their stacks are then recycled by
//     that thread), with locals and exceptions that live across the hops;
//   - stacks reused wave after wave;
//   - cross-thread wake-ups (semaphores, channels, the bridge) and
//     cancellation of parked fibers.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io/io.h"

extern "C" int faultline_current_scheduler_thread();

namespace faultline::io {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Io> evented(unsigned threads) {
  Options o;
  o.backend = Backend::evented;
  o.scheduler_threads = threads;
  return Io::create(o);
}

// Keeps the optimiser from eliding addressable locals: each call below gets a
// real (under ASan with detect_stack_use_after_return: a fake) stack frame.
[[gnu::noinline]] void touch(volatile unsigned char* p, std::size_t n, unsigned char v) {
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(v + i);
}
[[gnu::noinline]] std::uint64_t sum(const volatile unsigned char* p, std::size_t n) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += p[i];
  return s;
}
std::uint64_t expected_sum(std::size_t n, unsigned char v) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<unsigned char>(v + i);
  return s;
}

// A chain of frames with addressable locals; the innermost calls `at_bottom`
// (which may switch, migrate or throw) and every frame checks its local
// afterwards: a frame clobbered across the switch shows up as a wrong sum.
template <class F>
[[gnu::noinline]] bool deep(int depth, unsigned char seed, F& at_bottom) {
  volatile unsigned char local[96];
  touch(local, sizeof local, seed);
  bool ok = depth == 0 ? (at_bottom(), true) : deep(depth - 1, static_cast<unsigned char>(seed + 1), at_bottom);
  return ok && sum(local, sizeof local) == expected_sum(sizeof local, seed);
}

TEST(FiberStress, TenThousandFibersSpawnedAndJoined) {
  auto io = evented(2);
  constexpr int kFibers = 10000;
  std::atomic<int> ran{0}, good{0};
  std::vector<TaskHandle> hs;
  hs.reserve(kFibers);
  for (int i = 0; i < kFibers; ++i)
    hs.push_back(io->spawn([&, i] {
      auto yield = [&] { io->yield(); };
      if (deep(3, static_cast<unsigned char>(i), yield)) good++;
      ran++;
    }));
  for (auto& h : hs) h.join();
  EXPECT_EQ(ran.load(), kFibers);
  EXPECT_EQ(good.load(), kFibers);
  EXPECT_EQ(io->live_tasks(), 0u);
}

// Every fiber hops across the scheduler threads and finishes away from where
// it started; finished stacks go to the cache of the thread they ended on and
// are handed to fibers spawned there next round.
TEST(FiberStress, MigratingFibersFinishOnOtherThreads) {
  constexpr unsigned kThreads = 3;
  constexpr int kRounds = 8, kFibers = 200, kHops = 5;
  auto io = evented(kThreads);
  std::atomic<int> finished{0}, moved{0}, intact{0};
  for (int round = 0; round < kRounds; ++round) {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < kFibers; ++i)
      hs.push_back(io->spawn([&, i, round] {
        const int start = faultline_current_scheduler_thread();
        unsigned hop = static_cast<unsigned>(i + round);
        auto migrate = [&] { io->migrate(++hop % kThreads); };
        bool ok = true;
        for (int h = 0; h < kHops; ++h) ok = deep(2 + h % 3, static_cast<unsigned char>(i * 7 + h), migrate) && ok;
        // End on another thread than the first one, whatever the hops did.
        io->migrate(static_cast<unsigned>(start + 1) % kThreads);
        if (faultline_current_scheduler_thread() != start) moved++;
        if (ok) intact++;
        finished++;
      }));
    for (auto& h : hs) h.join();
  }
  EXPECT_EQ(finished.load(), kRounds * kFibers);
  EXPECT_EQ(moved.load(), kRounds * kFibers);
  EXPECT_EQ(intact.load(), kRounds * kFibers);
  EXPECT_EQ(io->live_tasks(), 0u);
}

// A fiber that migrated finishes on its new thread while the Io shuts down:
// the scheduler thread that created it may exit before the fiber has left its
// stack. Nothing of the creating thread may still be in use by then (under
// ASan: not its fake stack, which dies with the thread).
TEST(FiberStress, CreatorThreadExitsWhileMigratedFiberFinishes) {
  constexpr int kIterations = 150;
  int ended_elsewhere = 0;
  for (int it = 0; it < kIterations; ++it) {
    auto io = evented(2);
    std::atomic<int> moved{0};
    std::vector<TaskHandle> hs;
    for (int i = 0; i < 4; ++i)
      hs.push_back(io->spawn([&, i] {
        const int start = faultline_current_scheduler_thread();
        auto migrate = [&] { io->migrate(static_cast<unsigned>(start + 1)); };
        if (deep(1, static_cast<unsigned char>(i), migrate) && faultline_current_scheduler_thread() != start) moved++;
      }));
    for (auto& h : hs) h.join();
    io.reset();  // at once: the fibers may still be on their way off their stacks
    if (moved.load() == 4) ++ended_elsewhere;
  }
  EXPECT_EQ(ended_elsewhere, kIterations);
}

// An exception thrown and caught after a migration, through frames that were
// created before it (unwinding walks the fake and the real stack; ASan's
// no-return handling runs on the new thread), then more hops and the end.
TEST(FiberStress, ExceptionsAcrossMigrations) {
  constexpr unsigned kThreads = 3;
  constexpr int kFibers = 300;
  auto io = evented(kThreads);
  std::atomic<int> caught{0}, intact{0};
  std::vector<TaskHandle> hs;
  for (int i = 0; i < kFibers; ++i)
    hs.push_back(io->spawn([&, i] {
      unsigned hop = static_cast<unsigned>(i);
      auto migrate_then_throw = [&] {
        io->migrate(++hop % kThreads);
        // (Conditional only so that compilers do not see a noreturn lambda.)
        if (hop != 0) throw std::runtime_error("after hop " + std::to_string(hop));
      };
      bool ok = true;
      for (int k = 0; k < 3; ++k) {
        try {
          deep(3, static_cast<unsigned char>(i + k), migrate_then_throw);
          ok = false;  // must not get here
        } catch (const std::runtime_error& e) {
          if (std::strncmp(e.what(), "after hop", 9) == 0) caught++;
        }
        auto migrate = [&] { io->migrate(++hop % kThreads); };
        ok = deep(2, static_cast<unsigned char>(i - k), migrate) && ok;
      }
      if (ok) intact++;
    }));
  for (auto& h : hs) h.join();
  EXPECT_EQ(caught.load(), 3 * kFibers);
  EXPECT_EQ(intact.load(), kFibers);
}

// Waves of short fibers on one thread: each wave reuses the stacks the last
// one released, with different frame layouts (large locals, deep chains).
TEST(FiberStress, StacksAreReusedCleanly) {
  auto io = evented(1);
  constexpr int kWaves = 20, kFibers = 500;
  std::atomic<int> intact{0};
  for (int w = 0; w < kWaves; ++w) {
    std::vector<TaskHandle> hs;
    for (int i = 0; i < kFibers; ++i)
      hs.push_back(io->spawn([&, w, i] {
        volatile unsigned char big[4096 + 64 * 8];
        const std::size_t used = 4096 + 64 * static_cast<std::size_t>(w % 8);
        touch(big, used, static_cast<unsigned char>(w));
        auto yield = [&] { io->yield(); };
        bool ok = deep((w + i) % 12, static_cast<unsigned char>(i), yield);
        if (ok && sum(big, used) == expected_sum(used, static_cast<unsigned char>(w))) intact++;
      }));
    for (auto& h : hs) h.join();
  }
  EXPECT_EQ(intact.load(), kWaves * kFibers);
}

// Wake-ups that cross threads: ping-pong pairs on different schedulers, a
// channel between schedulers, bridge workers completing parked fibers, and
// cancellation of fibers parked on another thread.
TEST(FiberStress, CrossThreadWakeups) {
  constexpr unsigned kThreads = 3;
  auto io = evented(kThreads);
  constexpr int kPairs = 12, kRounds = 200;
  std::vector<std::unique_ptr<Semaphore>> ping, pong;
  for (int p = 0; p < kPairs; ++p) {
    ping.push_back(io->make_semaphore(0));
    pong.push_back(io->make_semaphore(0));
  }
  std::atomic<long> hops{0};
  std::vector<TaskHandle> hs;
  for (int p = 0; p < kPairs; ++p) {
    hs.push_back(io->spawn([&, p] {
      io->migrate(static_cast<unsigned>(p));
      for (int r = 0; r < kRounds; ++r) {
        ping[p]->release();
        auto wait = [&] { pong[p]->acquire(); };
        deep(1, static_cast<unsigned char>(r), wait);
        hops++;
      }
    }));
    hs.push_back(io->spawn([&, p] {
      io->migrate(static_cast<unsigned>(p + 1));
      for (int r = 0; r < kRounds; ++r) {
        auto wait = [&] { ping[p]->acquire(); };
        deep(1, static_cast<unsigned char>(r), wait);
        pong[p]->release();
        hops++;
      }
    }));
  }
  // A channel from producers on one thread to consumers on the others.
  auto ch = io->make_channel<int>(8, "stress.channel");
  std::atomic<long> received{0};
  constexpr int kItems = 3000;
  hs.push_back(io->spawn([&] {
    io->migrate(0);
    for (int i = 1; i <= kItems; ++i) ch->send(i);
    ch->close();
  }));
  for (unsigned c = 1; c < kThreads; ++c)
    hs.push_back(io->spawn([&, c] {
      io->migrate(c);
      while (auto v = ch->recv()) received += *v;
    }));
  // Bridge workers (plain threads) wake fibers parked on every scheduler.
  std::atomic<int> offloaded{0};
  for (int i = 0; i < 60; ++i)
    hs.push_back(io->spawn([&, i] {
      io->migrate(static_cast<unsigned>(i));
      int v = io->offload([i] { return i * 2; });
      if (v == i * 2) offloaded++;
    }));
  for (auto& h : hs) h.join();
  EXPECT_EQ(hops.load(), 2L * kPairs * kRounds);
  EXPECT_EQ(received.load(), static_cast<long>(kItems) * (kItems + 1) / 2);
  EXPECT_EQ(offloaded.load(), 60);

  // Cancellation from the test thread of fibers parked on every scheduler:
  // each unwinds (Cancelled) through instrumented frames and finishes.
  auto never = io->make_event("stress.never");
  std::vector<TaskHandle> parked;
  std::atomic<int> started{0}, unwound{0};
  for (int i = 0; i < 90; ++i)
    parked.push_back(io->spawn([&, i] {
      struct Count {
        std::atomic<int>& n;
        ~Count() { n++; }
      } count{unwound};
      io->migrate(static_cast<unsigned>(i));
      started++;
      auto wait = [&] { never->wait(); };
      deep(2, static_cast<unsigned char>(i), wait);
    }));
  // Most of them parked first (a cancellation reaches a fiber in any state,
  // so this wait is only for coverage and is bounded).
  for (int waited = 0; started.load() < 90 && waited < 10000; ++waited) std::this_thread::sleep_for(1ms);
  for (auto& h : parked) h.cancel();
  for (auto& h : parked) h.join();
  EXPECT_EQ(unwound.load(), 90);
  EXPECT_EQ(io->live_tasks(), 0u);
}

}  // namespace
}  // namespace faultline::io
