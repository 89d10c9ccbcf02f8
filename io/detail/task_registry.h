// The tasks an Io has spawned and not yet finished. Both backends keep one:
// live_tasks() reads it, and destroying an Io cancels what is still running
// and waits until the registry is empty (nothing may outlive its Io).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "io/detail/task_state.h"

namespace faultline::io::detail {

class TaskRegistry {
 public:
  void add(const std::shared_ptr<TaskState>& t) {
    std::lock_guard lk(mu_);
    tasks_.emplace(t->id(), t);
    size_.store(tasks_.size(), std::memory_order_release);
  }
  // Called by the task itself before it reports completion to joiners.
  void remove(TaskId id) {
    std::lock_guard lk(mu_);
    tasks_.erase(id);
    size_.store(tasks_.size(), std::memory_order_release);
    if (tasks_.empty()) empty_.notify_all();
  }
  std::size_t size() const { return size_.load(std::memory_order_acquire); }

  void cancel_all_and_wait() {
    std::vector<std::shared_ptr<TaskState>> running;
    {
      std::lock_guard lk(mu_);
      for (auto& [id, weak] : tasks_)
        if (auto t = weak.lock()) running.push_back(std::move(t));
    }
    for (auto& t : running) t->request_cancel();
    running.clear();
    std::unique_lock lk(mu_);
    empty_.wait(lk, [&] { return tasks_.empty(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable empty_;
  std::unordered_map<TaskId, std::weak_ptr<TaskState>> tasks_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace faultline::io::detail
