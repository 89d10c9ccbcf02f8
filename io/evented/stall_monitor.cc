#include "io/evented/stall_monitor.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "io/affinity.h"
#include "io/evented/sanitizer_switch.h"
#include "io/evented/scheduler.h"

namespace faultline::io::evented {

StallMonitor::StallMonitor(std::vector<Scheduler*> schedulers, std::chrono::milliseconds limit)
    : schedulers_(std::move(schedulers)), limit_(limit), thread_([this] { run(); }) {}

StallMonitor::~StallMonitor() {
  {
    std::lock_guard lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::chrono::milliseconds StallMonitor::limit_from_environment() {
  if (const char* env = std::getenv("FAULTLINE_STALL_MS")) {
    long ms = std::strtol(env, nullptr, 10);
    if (ms > 0) return std::chrono::milliseconds(ms);
  }
#if FAULTLINE_ASAN || FAULTLINE_TSAN
  // Instrumented code runs several times slower and its first touches of
  // shadow and fake-stack pages fault: a fiber doing honest work on a loaded
  // machine can hold its thread for a few hundred ms. Eight times the limit
  // keeps the detector for real spins without reporting those.
  return std::chrono::milliseconds(2000);
#else
  return std::chrono::milliseconds(250);
#endif
}

void StallMonitor::run() {
  pthread_setname_np(pthread_self(), "fl-stall-mon");
  struct Sample {
    std::uint64_t epoch = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Sample> samples(schedulers_.size());
  auto tick = limit_ / 10 > std::chrono::milliseconds(1) ? limit_ / 10 : std::chrono::milliseconds(1);
  std::unique_lock lk(m_);
  while (!cv_.wait_for(lk, tick, [&] { return stop_; })) {
    auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < schedulers_.size(); ++i) {
      Scheduler* s = schedulers_[i];
      std::uint64_t epoch = s->switch_epoch();
      Fiber* f = s->running_fiber();
      if (epoch != samples[i].epoch || f == nullptr) {
        samples[i] = {epoch, now};
        continue;
      }
      auto stalled = std::chrono::duration_cast<std::chrono::milliseconds>(now - samples[i].since);
      if (stalled < limit_ || affinity_mode() != AffinityMode::check) continue;
      // The fiber is stuck running, so it is alive while we read it.
      std::fprintf(stderr,
                   "faultline: affinity violation: fiber %llu (\"%s\") has held scheduler thread %u for %lld ms "
                   "without switching — a spin-wait or a blocking call on a scheduler thread starves every other "
                   "fiber there\n  fix: park (an Evented primitive) instead of spinning; send blocking work "
                   "through Io::offload (the bridge)\n  the culprit's stack follows (SIGABRT is raised on its "
                   "thread)\n",
                   static_cast<unsigned long long>(f->id()), f->name().c_str(), s->index(),
                   static_cast<long long>(stalled.count()));
      std::fflush(stderr);
      pthread_kill(s->native_thread(), SIGABRT);
      // If SIGABRT is caught and returns, do not report the same stall twice.
      samples[i] = {epoch, now};
    }
  }
}

}  // namespace faultline::io::evented
