// Behaviour shared by both backends (and both Evented reactors): tasks,
// cancellation, timeouts, every primitive, loopback TCP, the bridge.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "io/io.h"

namespace faultline::io {
namespace {

using namespace std::chrono_literals;

struct Config {
  Backend backend;
  ReactorKind reactor;
  std::string name;
};

class IoTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    Options o;
    o.backend = GetParam().backend;
    o.scheduler_threads = 2;
    if (o.backend == Backend::evented) o.reactor = GetParam().reactor;
    io = Io::create(o);
  }
  void TearDown() override { io.reset(); }
  std::unique_ptr<Io> io;
};

TEST_P(IoTest, SpawnJoinRunsEveryTaskOnceWithDistinctIds) {
  std::atomic<int> ran{0};
  std::vector<TaskId> ids(50);
  std::vector<TaskHandle> handles;
  for (int i = 0; i < 50; ++i)
    handles.push_back(io->spawn([&, i] {
      ids[i] = Io::current_task();
      ran++;
    }));
  for (auto& h : handles) h.join();
  EXPECT_EQ(ran.load(), 50);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  EXPECT_NE(ids.front(), 0u);
  EXPECT_EQ(Io::current_task(), 0u) << "the test thread is not a task";
  EXPECT_EQ(io->live_tasks(), 0u);
}

TEST_P(IoTest, JoinRethrowsTheTaskException) {
  auto h = io->spawn([] { throw std::runtime_error("boom"); });
  EXPECT_THROW(h.join(), std::runtime_error);
}

TEST_P(IoTest, BlockOnReturnsTheValue) {
  EXPECT_EQ(io->block_on([] { return 42; }), 42);
}

TEST_P(IoTest, SleepWaitsAtLeastItsDuration) {
  auto elapsed = io->block_on([&] {
    auto t0 = std::chrono::steady_clock::now();
    io->sleep_for(30ms);
    return std::chrono::steady_clock::now() - t0;
  });
  EXPECT_GE(elapsed, 30ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_P(IoTest, CancelInterruptsASleepingTask) {
  std::atomic<bool> reached_end{false};
  auto h = io->spawn([&] {
    io->sleep_for(60s);
    reached_end = true;
  });
  std::this_thread::sleep_for(20ms);
  auto t0 = std::chrono::steady_clock::now();
  h.cancel();
  h.join();
  EXPECT_FALSE(reached_end.load());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_P(IoTest, CancelInterruptsEventWaitAndRecv) {
  auto ev = io->make_event("never");
  auto waiter = io->spawn([&] { ev->wait(); });
  auto listener = io->listen(Endpoint::loopback_v4(0));
  ASSERT_TRUE(listener) << listener.message();
  auto port = listener.value.local_endpoint().port();
  std::atomic<bool> connected{false};
  auto reader = io->spawn([&] {
    auto c = io->connect(Endpoint::loopback_v4(port), 2s);
    ASSERT_TRUE(c) << c.message();
    connected = true;
    std::byte buf[16];
    (void)io->recv(c.value, buf);  // nobody ever writes
    ADD_FAILURE() << "recv returned instead of being cancelled";
  });
  auto acceptor = io->spawn([&] {
    auto a = io->accept(listener.value, 5s);
    ASSERT_TRUE(a) << a.message();
    io->sleep_for(60s);  // keep the peer open
  });
  for (int i = 0; i < 200 && !connected; ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(20ms);
  auto t0 = std::chrono::steady_clock::now();
  waiter.cancel();
  reader.cancel();
  acceptor.cancel();
  waiter.join();
  reader.join();
  acceptor.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_P(IoTest, MutexMakesIncrementsAtomic) {
  auto m = io->make_mutex("counter");
  long counter = 0;
  std::vector<TaskHandle> hs;
  const int tasks = 8, per = 5000;
  for (int t = 0; t < tasks; ++t)
    hs.push_back(io->spawn([&] {
      for (int i = 0; i < per; ++i) {
        LockGuard g(*m);
        long v = counter;
        if (i % 64 == 0) io->yield();  // hold the lock across a switch
        counter = v + 1;
      }
    }));
  for (auto& h : hs) h.join();
  EXPECT_EQ(counter, tasks * per);
}

TEST_P(IoTest, ConditionHandsOffAndTimesOut) {
  auto m = io->make_mutex();
  auto cv = io->make_condition();
  int value = 0;
  auto consumer = io->spawn([&] {
    LockGuard g(*m);
    cv->wait(*m, [&] { return value == 7; });
    value = 8;
  });
  io->block_on([&] {
    io->sleep_for(10ms);
    LockGuard g(*m);
    value = 7;
    cv->notify_all();
  });
  consumer.join();
  EXPECT_EQ(value, 8);
  bool notified = io->block_on([&] {
    LockGuard g(*m);
    return cv->wait_for(*m, 20ms);
  });
  EXPECT_FALSE(notified);
}

TEST_P(IoTest, EventReleasesEveryWaiterAndTimesOut) {
  auto ev = io->make_event();
  std::atomic<int> released{0};
  std::vector<TaskHandle> hs;
  for (int i = 0; i < 20; ++i)
    hs.push_back(io->spawn([&] {
      ev->wait();
      released++;
    }));
  io->block_on([&] {
    io->sleep_for(10ms);
    EXPECT_EQ(released.load(), 0);
    ev->set();
  });
  for (auto& h : hs) h.join();
  EXPECT_EQ(released.load(), 20);
  EXPECT_TRUE(io->block_on([&] { return ev->wait_for(1ms); })) << "a set event stays set";
  auto other = io->make_event();
  EXPECT_FALSE(io->block_on([&] { return other->wait_for(15ms); }));
}

TEST_P(IoTest, SemaphoreBoundsConcurrency) {
  auto sem = io->make_semaphore(3);
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<TaskHandle> hs;
  for (int i = 0; i < 24; ++i)
    hs.push_back(io->spawn([&] {
      sem->acquire();
      int now = ++inside;
      int prev = max_inside.load();
      while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {
      }
      io->sleep_for(2ms);
      --inside;
      sem->release();
    }));
  for (auto& h : hs) h.join();
  EXPECT_LE(max_inside.load(), 3);
  EXPECT_GE(max_inside.load(), 2) << "permits were used concurrently";
  io->block_on([&] {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(sem->try_acquire());
    EXPECT_FALSE(sem->acquire_for(10ms));
  });
}

TEST_P(IoTest, ChannelDeliversEverythingOnceAndCloses) {
  auto ch = io->make_channel<int>(4, "numbers");
  const int producers = 4, per = 500;
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  std::vector<TaskHandle> ps, cs;
  for (int p = 0; p < producers; ++p)
    ps.push_back(io->spawn([&, p] {
      for (int i = 1; i <= per; ++i) ASSERT_TRUE(ch->send(p * per + i));
    }));
  for (int c = 0; c < 3; ++c)
    cs.push_back(io->spawn([&] {
      while (auto v = ch->recv()) {
        sum += *v;
        count++;
      }
    }));
  for (auto& h : ps) h.join();
  io->block_on([&] { ch->close(); });
  for (auto& h : cs) h.join();
  const long n = producers * per;
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n + 1) / 2);
  EXPECT_FALSE(io->block_on([&] { return ch->send(1); })) << "send after close fails";
}

TEST_P(IoTest, ManyTasksSpawnedAndJoined) {
  const int n = GetParam().backend == Backend::evented ? 10000 : 300;
  std::atomic<int> ran{0};
  std::vector<TaskHandle> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i)
    hs.push_back(io->spawn([&] {
      io->yield();
      ran++;
    }));
  for (auto& h : hs) h.join();
  EXPECT_EQ(ran.load(), n);
}

TEST_P(IoTest, CrossThreadWakeupsUnderContention) {
  // Pairs of tasks ping-pong through semaphores; with two scheduler threads
  // and round-robin placement, every other hand-off crosses threads.
  const int pairs = 16, rounds = 300;
  std::vector<std::unique_ptr<Semaphore>> a, b;
  std::atomic<long> hops{0};
  std::vector<TaskHandle> hs;
  for (int p = 0; p < pairs; ++p) {
    a.push_back(io->make_semaphore(0));
    b.push_back(io->make_semaphore(0));
  }
  for (int p = 0; p < pairs; ++p) {
    hs.push_back(io->spawn([&, p] {
      for (int r = 0; r < rounds; ++r) {
        a[p]->release();
        b[p]->acquire();
        hops++;
      }
    }));
    hs.push_back(io->spawn([&, p] {
      for (int r = 0; r < rounds; ++r) {
        a[p]->acquire();
        b[p]->release();
        hops++;
      }
    }));
  }
  for (auto& h : hs) h.join();
  EXPECT_EQ(hops.load(), 2L * pairs * rounds);
}

void echo_roundtrip(Io& io, const Endpoint& where) {
  auto listener = io.listen(where);
  ASSERT_TRUE(listener) << listener.message();
  Endpoint at = listener.value.local_endpoint();
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  auto server = io.spawn([&] {
    auto c = io.accept(listener.value, 5s);
    ASSERT_TRUE(c) << c.message();
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
      auto r = io.recv(c.value, buf, 5s);
      ASSERT_TRUE(r) << r.message();
      if (r.value == 0) break;
      ASSERT_TRUE(io.send_all(c.value, std::span(buf.data(), r.value), 5s));
    }
    io.shutdown(c.value, SHUT_WR);
  });
  std::string echoed;
  io.block_on([&] {
    auto c = io.connect(at, 5s);
    ASSERT_TRUE(c) << c.message();
    // Write and read concurrently: the echo would deadlock on full buffers
    // if either direction blocked the other.
    auto writer = io.spawn([&] {
      ASSERT_TRUE(io.send_all(c.value, payload, 5s));
      io.shutdown(c.value, SHUT_WR);
    });
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
      auto r = io.recv(c.value, buf, 5s);
      ASSERT_TRUE(r) << r.message();
      if (r.value == 0) break;
      echoed.append(reinterpret_cast<const char*>(buf.data()), r.value);
    }
    writer.join();
  });
  server.join();
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);
}

TEST_P(IoTest, LoopbackEchoIPv4) {
  echo_roundtrip(*io, Endpoint::loopback_v4(0));
}
TEST_P(IoTest, LoopbackEchoIPv6) {
  echo_roundtrip(*io, Endpoint::loopback_v6(0));
}

TEST_P(IoTest, RecvTimesOutAndConnectIsRefused) {
  auto listener = io->listen(Endpoint::loopback_v4(0));
  ASSERT_TRUE(listener);
  auto port = listener.value.local_endpoint().port();
  io->block_on([&] {
    auto c = io->connect(Endpoint::loopback_v4(port), 2s);
    ASSERT_TRUE(c) << c.message();
    std::byte buf[8];
    auto t0 = std::chrono::steady_clock::now();
    auto r = io->recv(c.value, buf, 30ms);
    EXPECT_EQ(r.error, ETIMEDOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
    auto a = io->accept(listener.value, 2s);
    ASSERT_TRUE(a);
    auto none = io->accept(listener.value, 20ms);
    EXPECT_EQ(none.error, ETIMEDOUT);
  });
  io->close(listener.value);
  auto refused = io->block_on([&] { return io->connect(Endpoint::loopback_v4(port), 2s).error; });
  EXPECT_EQ(refused, ECONNREFUSED);
}

TEST_P(IoTest, ResolveLocalhost) {
  auto r = io->block_on([&] { return io->resolve("localhost", 80); });
  ASSERT_TRUE(r) << r.message();
  ASSERT_FALSE(r.value.empty());
  bool loopback = false;
  for (auto& e : r.value) loopback |= e.to_string() == "127.0.0.1:80" || e.to_string() == "[::1]:80";
  EXPECT_TRUE(loopback);
}

TEST_P(IoTest, BridgeRunsBlockingWorkWithoutStallingTasks) {
  // 32 tasks each hand 5 blocking 5 ms jobs to 4 workers, while a ticker task
  // keeps running: the scheduler threads are never blocked by the jobs.
  std::atomic<bool> stop{false};
  std::atomic<long> ticks{0};
  auto ticker = io->spawn([&] {
    while (!stop) {
      io->sleep_for(1ms);
      ticks++;
    }
  });
  std::atomic<long> total{0};
  std::atomic<std::size_t> max_depth{0};
  std::vector<TaskHandle> hs;
  for (int t = 0; t < 32; ++t)
    hs.push_back(io->spawn([&, t] {
      for (int j = 0; j < 5; ++j) {
        int v = io->offload([&] {
          std::this_thread::sleep_for(5ms);  // a blocking call
          return t * 100 + j;
        });
        total += v;
        auto d = io->bridge_depth();
        auto prev = max_depth.load();
        while (d > prev && !max_depth.compare_exchange_weak(prev, d)) {
        }
      }
    }));
  for (auto& h : hs) h.join();
  stop = true;
  ticker.join();
  long expect = 0;
  for (int t = 0; t < 32; ++t)
    for (int j = 0; j < 5; ++j) expect += t * 100 + j;
  EXPECT_EQ(total.load(), expect);
  EXPECT_GT(ticks.load(), 20) << "the ticker kept running while the bridge was busy";
  EXPECT_THROW(io->block_on([&] { io->offload([]() -> int { throw std::logic_error("x"); }); }), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Backends, IoTest,
                         ::testing::Values(Config{Backend::threaded, ReactorKind::none, "threaded"},
                                           Config{Backend::evented, ReactorKind::uring, "evented_uring"},
                                           Config{Backend::evented, ReactorKind::epoll, "evented_epoll"}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace faultline::io
