// The reactor of one scheduler thread: where fibers wait for the kernel.
//
// Two implementations with one contract:
//   UringReactor — io_uring via liburing; operations are submitted as SQEs
//     and the fiber parks until its CQE arrives. The ring is created on the
//     scheduler thread with SINGLE_ISSUER|DEFER_TASKRUN when the kernel has
//     them, so a submission from any other thread fails with -EEXIST.
//   EpollReactor — readiness: the operation is tried non-blocking, and on
//     EAGAIN the fiber parks until epoll reports the fd ready.
// Every operation is called by the running fiber on its own scheduler thread,
// takes an absolute deadline (ETIMEDOUT when it passes) and is a cancellation
// point (throws io::Cancelled). poll() is called by the scheduler loop only.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "io/detail/wait.h"
#include "io/io.h"

namespace faultline::io::evented {

class Scheduler;
class Fiber;

class Reactor {
 public:
  virtual ~Reactor() = default;
  virtual ReactorKind kind() const = 0;

  // Reaps completions / readiness and wakes their fibers. Blocks until
  // something happens, the eventfd rings, or `deadline` passes (pass
  // Clock::time_point::min() to never block).
  virtual void poll(detail::Deadline deadline) = 0;
  // True when operations are queued but not yet handed to the kernel.
  virtual bool has_pending_submissions() const = 0;
  // Asks the kernel to cancel `fiber`'s in-flight operation (io_uring only).
  virtual void cancel_io(Fiber* fiber) = 0;

  virtual Result<int> accept(int fd, detail::Deadline deadline) = 0;
  virtual int connect(int fd, const Endpoint& to, detail::Deadline deadline) = 0;  // 0 or errno
  virtual Result<std::size_t> recv(int fd, std::span<std::byte> buf, detail::Deadline deadline) = 0;
  virtual Result<std::size_t> send(int fd, std::span<const std::byte> buf, detail::Deadline deadline) = 0;
};

// Throws std::system_error if the ring cannot be set up.
std::unique_ptr<Reactor> make_uring_reactor(Scheduler& s, int wake_fd);
std::unique_ptr<Reactor> make_epoll_reactor(Scheduler& s, int wake_fd);

// 0 if io_uring works here, else the errno io_uring_setup failed with.
int probe_io_uring();

}  // namespace faultline::io::evented
