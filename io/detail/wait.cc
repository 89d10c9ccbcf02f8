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

bool ThreadParker::claim_and_wake(std::uint64_t token) {
  // The token changes under the lock, and park() reads it only under the
  // lock: so the parked thread cannot return before notify_one() is done.
  // With the swap outside the lock it could — and a thread-local parker of a
  // thread that then exited was destroyed while its waker was still inside
  // pthread_cond_signal (TSan, io_test ChannelDeliversEverythingOnceAndCloses).
  std::lock_guard lk(m_);
  if (!claim(token)) return false;
  on_wake();
  return true;
}

void ThreadParker::on_wake() {
  cv_.notify_one();  // under m_ (claim_and_wake)
}

}  // namespace faultline::io::detail
