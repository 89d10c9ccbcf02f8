#include "io/detail/task_state.h"

namespace faultline::io::detail {
namespace {
std::atomic<TaskId> next_task_id{1};
thread_local TaskState* tls_thread_task = nullptr;
}  // namespace

TaskState::TaskState(Backend backend, std::string name)
    : id_(next_task_id.fetch_add(1, std::memory_order_relaxed)), name_(std::move(name)), backend_(backend) {}

void TaskState::request_cancel() {
  if (done()) return;
  if (cancel_requested_.exchange(true, std::memory_order_seq_cst)) return;
  deliver_cancel();
}

void TaskState::finish(std::exception_ptr error) {
  std::lock_guard lk(mu_);
  error_ = std::move(error);
  done_.store(true, std::memory_order_release);
  joiners_.wake_all();
}

void TaskState::wait_done() {
  if (done()) return;
  Parker& p = current_parker();
  Waiter w;
  w.parker = &p;
  {
    std::lock_guard lk(mu_);
    if (done()) return;
    w.token = p.begin_park();
    joiners_.push_back(w);
  }
  park_current(p, w.token, kNoDeadline, /*cancellable=*/false);
}

void throw_if_cancelled() {
  if (TaskState* t = current_task_state(); t && t->cancel_requested()) throw Cancelled();
}

void set_thread_task(TaskState* t) {
  tls_thread_task = t;
}
TaskState* thread_task() {
  return tls_thread_task;
}

}  // namespace faultline::io::detail
