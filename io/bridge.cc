#include "io/bridge.h"

#include <pthread.h>

#include <cstdio>

#include "io/affinity.h"
#include "io/detail/task_state.h"

namespace faultline::io {

struct Bridge::Job {
  std::function<void()> fn;
  detail::Parker* parker;
  std::uint64_t token;
};

Bridge::Bridge(unsigned workers) {
  if (workers == 0) workers = 1;
  threads_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker_main(i); });
}

Bridge::~Bridge() {
  {
    std::lock_guard lk(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Bridge::run(std::function<void()> job) {
  detail::Parker& p = detail::current_parker();
  Job j{std::move(job), &p, p.begin_park()};
  depth_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(m_);
    queue_.push_back(&j);
  }
  cv_.notify_one();
  // Not a cancellation point: the job is already running or about to.
  detail::park_current(p, j.token, detail::kNoDeadline, /*cancellable=*/false);
}

void Bridge::worker_main(unsigned index) {
  detail::set_current_thread_role(ThreadRole::bridge_worker);
  char name[16];
  std::snprintf(name, sizeof name, "fl-bridge-%u", index);
  pthread_setname_np(pthread_self(), name);
  for (;;) {
    Job* j = nullptr;
    {
      std::unique_lock lk(m_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      j = queue_.front();
      queue_.pop_front();
    }
    j->fn();
    depth_.fetch_sub(1, std::memory_order_relaxed);
    // The job lives in the parked caller's frame: after wake() it may be gone.
    detail::Parker* p = j->parker;
    std::uint64_t token = j->token;
    p->wake(token);
  }
}

}  // namespace faultline::io
