#include "io/detail/wait.h"

namespace faultline::io::detail {

ThreadParker& ThreadParker::current() {
  thread_local ThreadParker parker;
  return parker;
}

bool ThreadParker::park(std::uint64_t token, Deadline deadline) {
  std::unique_lock lk(m_);
  while (parked_with(token)) {
    if (deadline == kNoDeadline) {
      cv_.wait(lk);
    } else if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      // Either we end the wait ourselves, or a waker won the race just now.
      return !cancel_park(token);
    }
  }
  return true;
}

void ThreadParker::on_wake() {
  // Taking the lock orders the token change before the waiter's re-check.
  std::lock_guard lk(m_);
  cv_.notify_one();
}

}  // namespace faultline::io::detail
