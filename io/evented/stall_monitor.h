// The stall detector: the affinity checker's eye for what touches no
// primitive — a fiber that spins, or makes a blocking call, on its scheduler
// thread and so starves every other fiber there.
//
// In checked mode (io/affinity.h) each EventedIo runs one monitor thread. Every
// few milliseconds it samples each scheduler's switch counter; a scheduler
// that is inside a fiber and has not switched for `limit`
// ($FAULTLINE_STALL_MS, default 250 ms; 2 s in ASan/TSan builds) is reported: one message naming the
// fiber, the thread and how long, then SIGABRT is sent to *that* thread, so
// the crash capture (and a debugger) sees the culprit's own stack.
// Off in unchecked mode: the repros show the raw starvation there.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline::io::evented {

class Scheduler;

class StallMonitor {
 public:
  StallMonitor(std::vector<Scheduler*> schedulers, std::chrono::milliseconds limit);
  ~StallMonitor();
  StallMonitor(const StallMonitor&) = delete;
  StallMonitor& operator=(const StallMonitor&) = delete;

  // $FAULTLINE_STALL_MS or the default.
  static std::chrono::milliseconds limit_from_environment();

 private:
  void run();

  std::vector<Scheduler*> schedulers_;
  std::chrono::milliseconds limit_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace faultline::io::evented
