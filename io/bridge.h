// The bridge: how a task of either backend hands blocking work (disk, a
// database, DNS, CPU-heavy validation) to a pool of OS worker threads.
//
// The caller parks — a fiber parks and its scheduler thread runs other fibers,
// a thread blocks — until a worker has run the job; it never spins. Jobs are
// taken in FIFO order by `workers` threads started with the bridge.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline::io {

class Bridge {
 public:
  explicit Bridge(unsigned workers);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Runs `job` on a worker and waits for it as described above. `job` must
  // not throw (Io::offload wraps it).
  void run(std::function<void()> job);
  // Jobs queued or running.
  std::size_t depth() const { return depth_.load(std::memory_order_relaxed); }
  unsigned workers() const { return static_cast<unsigned>(threads_.size()); }

 private:
  struct Job;
  void worker_main(unsigned index);

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::atomic<std::size_t> depth_{0};
  std::vector<std::thread> threads_;
};

}  // namespace faultline::io
