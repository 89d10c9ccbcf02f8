// The shared state behind a TaskHandle: identity, cancellation, completion.
//
// A task finishes exactly once (finish()); join() waits for that from any
// context — a fiber parks, a thread blocks — which is why completion uses the
// backend-neutral Parker machinery rather than either backend's primitives.
// Cancellation sets a flag (seen at the task's next cancellation point) and
// asks the backend to interrupt a wait in progress (deliver_cancel()).
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "io/detail/wait.h"
#include "io/io.h"

namespace faultline::io::detail {

class TaskState : public std::enable_shared_from_this<TaskState> {
 public:
  TaskState(Backend backend, std::string name);
  virtual ~TaskState() = default;
  TaskState(const TaskState&) = delete;
  TaskState& operator=(const TaskState&) = delete;

  TaskId id() const { return id_; }
  const std::string& name() const { return name_; }
  Backend backend() const { return backend_; }

  bool cancel_requested() const { return cancel_requested_.load(std::memory_order_seq_cst); }
  void request_cancel();

  // Called once by the task itself when its body has returned or thrown.
  void finish(std::exception_ptr error);
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Waits for finish() from any context; not a cancellation point.
  void wait_done();
  std::exception_ptr error() const { return error_; }

  // The token of a cancellable wait the task's thread is in (0: none), so a
  // Threaded cancellation can interrupt it. Fibers use Fiber::cancel_mode.
  std::atomic<std::uint64_t> cancellable_token{0};

 protected:
  // Interrupts a wait the task may be in; called after the flag is set.
  virtual void deliver_cancel() = 0;

 private:
  const TaskId id_;
  const std::string name_;
  const Backend backend_;
  std::atomic<bool> cancel_requested_{false};
  std::exception_ptr error_;
  std::mutex mu_;
  WaitList joiners_;
  std::atomic<bool> done_{false};
};

// The task the caller runs in (a fiber's or a threaded task's), or nullptr.
TaskState* current_task_state();
// Throws io::Cancelled if the calling task has been cancelled.
void throw_if_cancelled();

// The parker of the calling context: the running fiber, else this thread.
Parker& current_parker();
// Blocks the calling context until woken, until `deadline`, or — when
// `cancellable` — until the calling task is cancelled. The caller learns which
// from its Waiter (granted) and the task's cancel flag. `reason` shows in
// fiber dumps.
void park_current(Parker& p, std::uint64_t token, Deadline deadline, bool cancellable, const char* reason = "wait");

// Set by the Threaded backend on its task threads.
void set_thread_task(TaskState* t);
TaskState* thread_task();

}  // namespace faultline::io::detail
