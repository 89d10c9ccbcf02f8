// Watchdog for the crossio repros: a plain thread that watches a progress
// counter. If it stops moving for `limit`, the program is hung (deadlocked or
// starved) and cannot report anything itself, so the watchdog does: it dumps
// the fibers' states, prints the result record (outcome `hang`) when --json
// was given, and exits 1 — the repro contract's "hang detected".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "harness/record/result_record.h"
#include "repro/common/repro_main.h"

extern "C" void faultline_dump_fibers(int fd);

namespace faultline::repro {

class Watchdog {
 public:
  Watchdog(const ReproArgs& args, record::ResultRecord& rec, std::chrono::milliseconds limit)
      : args_(args), rec_(rec), limit_(limit), thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void progress() { progress_.fetch_add(1, std::memory_order_relaxed); }
  long count() const { return progress_.load(std::memory_order_relaxed); }

 private:
  void run() {
    std::unique_lock lk(m_);
    long last = -1;
    auto since = std::chrono::steady_clock::now();
    while (!stop_) {
      cv_.wait_for(lk, std::chrono::milliseconds(20));
      long now = progress_.load(std::memory_order_relaxed);
      if (now != last) {
        last = now;
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since >= limit_) {
        fire(now);
      }
    }
  }

  [[noreturn]] void fire(long progress) {
    std::fprintf(stderr, "watchdog: no progress for %lld ms (progress counter at %ld): hang detected\n",
                 static_cast<long long>(limit_.count()), progress);
    faultline_dump_fibers(2);
    rec_.outcome = record::Outcome::hang;
    rec_.summary =
        "hang: no progress for " + std::to_string(limit_.count()) + " ms after " + std::to_string(progress) + " steps";
    rec_.details["progress"] = progress;
    rec_.details["watchdog_ms"] = limit_.count();
    rec_.exit_code = record::kExitFail;
    std::fprintf(stderr, "%s [%s]: hang — %s\n", rec_.scenario.c_str(), rec_.variant.c_str(), rec_.summary.c_str());
    if (args_.json) std::printf("%s\n", record::to_json_line(rec_).c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(record::kExitFail);
  }

  const ReproArgs& args_;
  record::ResultRecord& rec_;
  std::chrono::milliseconds limit_;
  std::atomic<long> progress_{0};
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Announces what is about to happen, for runs where the process may die.
inline void announce(const record::ResultRecord& rec, const char* what) {
  std::fprintf(stderr, "%s [%s]: %s\n", rec.scenario.c_str(), rec.variant.c_str(), what);
  std::fflush(stderr);
}

}  // namespace faultline::repro
