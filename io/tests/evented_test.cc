// Evented-only behaviour: migration, the reactor fallback, guard pages, the
// affinity checker's diagnostics (and the raw failures it prevents).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstddef>
#include <thread>

#include "io/affinity.h"
#include "io/evented/sanitizer_switch.h"
#include "io/io.h"

extern "C" std::uint64_t faultline_current_fiber_id();
extern "C" int faultline_current_scheduler_thread();

namespace faultline::io {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Io> evented(unsigned threads, std::optional<ReactorKind> reactor = std::nullopt) {
  Options o;
  o.backend = Backend::evented;
  o.scheduler_threads = threads;
  o.reactor = reactor;
  return Io::create(o);
}

TEST(Evented, FiberMigratesAcrossSchedulerThreads) {
  auto io = evented(3);
  io->block_on([&] {
    std::vector<int> seen;
    std::vector<std::thread::id> threads;
    long live_value = 12345;  // a local that must survive every hop
    for (unsigned hop = 0; hop < 9; ++hop) {
      io->migrate(hop % 3);
      seen.push_back(faultline_current_scheduler_thread());
      threads.push_back(std::this_thread::get_id());
      live_value += hop;
    }
    EXPECT_EQ(live_value, 12345 + 36);
    for (unsigned hop = 0; hop < 9; ++hop) EXPECT_EQ(seen[hop], static_cast<int>(hop % 3));
    EXPECT_NE(threads[0], threads[1]);
    EXPECT_NE(faultline_current_fiber_id(), 0u);
  });
  EXPECT_EQ(faultline_current_fiber_id(), 0u);
  EXPECT_EQ(faultline_current_scheduler_thread(), -1);
}

TEST(Evented, ReactorCanBeForcedByEnvironment) {
  setenv("FAULTLINE_REACTOR", "epoll", 1);
  auto io = evented(1);
  unsetenv("FAULTLINE_REACTOR");
  EXPECT_EQ(io->reactor(), ReactorKind::epoll);
  EXPECT_EQ(io->scheduler_threads(), 1u);
}

// Makes io_uring_setup fail with `err` for this process, as rr (ENOSYS) and
// Docker's seccomp profile (EPERM) do.
void deny_io_uring(int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | static_cast<unsigned>(err)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    std::fprintf(stderr, "cannot install seccomp filter\n");
    std::_Exit(3);
  }
}

void fallback_child(int err) {
  deny_io_uring(err);
  unsetenv("FAULTLINE_REACTOR");
  auto io = evented(2);
  if (io->reactor() != ReactorKind::epoll) std::_Exit(4);
  // ... and the runtime still works: a loopback round trip on epoll.
  bool ok = io->block_on([&] {
    auto l = io->listen(Endpoint::loopback_v4(0));
    if (!l) return false;
    auto port = l.value.local_endpoint().port();
    auto srv = io->spawn([&] {
      auto c = io->accept(l.value, 2s);
      if (c) (void)io->send_all(c.value, std::string_view("pong"), 2s);
    });
    auto c = io->connect(Endpoint::loopback_v4(port), 2s);
    if (!c) return false;
    std::byte buf[4];
    auto r = io->recv(c.value, buf, 2s);
    srv.join();
    return r && r.value == 4;
  });
  io.reset();
  std::_Exit(ok ? 0 : 5);
}

TEST(EventedDeathTest, FallsBackToEpollWhenIoUringIsUnavailable) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(fallback_child(ENOSYS), ::testing::ExitedWithCode(0),
              "io_uring_setup failed: Function not implemented.*rr cannot record io_uring.*epoll");
  EXPECT_EXIT(fallback_child(EPERM), ::testing::ExitedWithCode(0), "io_uring_setup failed.*seccomp.*epoll");
}

// Recurses until `limit` (far beyond any fiber stack); volatile frames keep
// the optimizer from turning it into a loop.
[[gnu::noinline]] int recurse(volatile char* prev, int depth, int limit) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (prev) frame[1] = prev[0];
  if (depth >= limit) return frame[0];
  return recurse(frame, depth + 1, limit) + frame[1];
}

TEST(EventedDeathTest, StackOverflowIsReportedAsSuch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto io = evented(1);
        io->spawn([] { recurse(nullptr, 0, 1 << 20); }, "deep-recursion").join();
      },
      "fiber stack overflow: fiber [0-9]+ \\(\"deep-recursion\"\\) ran past its 65536-byte stack");
}

TEST(AffinityDeathTest, EventedMutexFromPlainThreadIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        set_affinity_mode(AffinityMode::check);
        auto io = evented(1);
        auto m = io->make_mutex("pool.lock");
        m->lock();
      },
      "affinity violation: an Evented primitive used from a thread that is not a fiber scheduler thread\n"
      "  primitive: Evented 'pool.lock', operation lock\n"
      ".*actual:   a plain thread");
}

TEST(AffinityDeathTest, SchedulerThreadBlockingOnThreadedMutexIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        set_affinity_mode(AffinityMode::check);
        Options t;
        t.backend = Backend::threaded;
        auto threaded = Io::create(t);
        auto m = threaded->make_mutex("db.lock");
        auto io = evented(1);
        io->block_on([&] { m->lock(); });  // uncontended, and still reported
      },
      "a fiber scheduler thread about to block on a Threaded primitive\n"
      "  primitive: Threaded 'db.lock', operation lock\n"
      ".*actual:   a fiber scheduler thread");
}

#if FAULTLINE_ASAN
// ASan catches the SIGSEGV and reports it (exit code 1): a read near address
// 0. The asan preset also has UBSan, which names the call on the NULL
// scheduler before it faults (and also exits 1).
const auto kNullSchedulerDeath = ::testing::ExitedWithCode(1);
constexpr const char* kNullSchedulerMessage =
    "SEGV on unknown address 0x0000000000|runtime error: member call on null pointer of type "
    "'(faultline::io::evented::|struct )Scheduler'";  // clang | gcc
#elif FAULTLINE_TSAN
// So does TSan (its default exit code is 66).
const auto kNullSchedulerDeath = ::testing::ExitedWithCode(66);
constexpr const char* kNullSchedulerMessage = "ThreadSanitizer: SEGV on unknown address 0x0000000000";
#elif defined(FAULTLINE_UBSAN_TRAP)
// The trapping UBSan build stops at the member call on the NULL scheduler (ud2).
const auto kNullSchedulerDeath = ::testing::KilledBySignal(SIGILL);
constexpr const char* kNullSchedulerMessage = "";
#else
const auto kNullSchedulerDeath = ::testing::KilledBySignal(SIGSEGV);
constexpr const char* kNullSchedulerMessage = "";
#endif

TEST(AffinityDeathTest, FiberThatNeverSwitchesIsNamedByTheStallDetector) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        set_affinity_mode(AffinityMode::check);
        setenv("FAULTLINE_STALL_MS", "100", 1);
        auto io = evented(1);
        std::atomic<bool> never{false};
        io->spawn(
              [&] {
                auto until = std::chrono::steady_clock::now() + 10s;  // bounded: the detector fires long before
                while (!never.load() && std::chrono::steady_clock::now() < until) {
                }
              },
              "spinner")
            .join();
        std::_Exit(0);
      },
      "fiber [0-9]+ \\(\"spinner\"\\) has held scheduler thread 0 for [0-9]+ ms without switching");
}

TEST(AffinityDeathTest, UncheckedEventedMutexFromPlainThreadCrashesOnNullScheduler) {
  // What the checker prevents: the contended slow path reads the scheduler
  // thread-local, which is NULL here — a SIGSEGV, as in production.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        set_affinity_mode(AffinityMode::off);
        auto io = evented(1);
        auto m = io->make_mutex("pool.lock");
        std::atomic<bool> held{false};
        auto owner = io->spawn([&] {
          m->lock();
          held = true;
          io->sleep_for(5s);
          m->unlock();
        });
        while (!held) std::this_thread::sleep_for(1ms);
        m->lock();  // contended, from a plain thread
        std::_Exit(0);
      },
      kNullSchedulerDeath, kNullSchedulerMessage);
}

}  // namespace
}  // namespace faultline::io
