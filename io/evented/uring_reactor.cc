// UringReactor: the io_uring reactor of one scheduler thread.
//
// Every operation is one SQE whose user_data points at a UringRequest in the
// parked fiber's frame. The fiber stays parked until that SQE's CQE arrives —
// even on timeout or cancellation — because until then the kernel may still
// write into the fiber's buffer. Special user_data values:
//   0            link timeouts and cancel requests: their CQEs carry nothing
//                we need (the operation's own CQE reports -ECANCELED);
//   kWakeTag     the read armed on the scheduler's eventfd;
//   LIBURING_UDATA_TIMEOUT  liburing's own wait timeout on old kernels.
// Submission is batched: SQEs queue up while fibers run and go to the kernel
// in the scheduler's next poll(), together with reaping.
#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "io/evented/fiber.h"
#include "io/evented/reactor.h"
#include "io/evented/scheduler.h"

namespace faultline::io::evented {
namespace {

constexpr unsigned kRingEntries = 256;
constexpr std::uint64_t kWakeTag = 1;

struct UringRequest {
  Fiber* fiber = nullptr;
  std::uint64_t token = 0;
  int res = 0;
  __kernel_timespec timeout{};
};

__kernel_timespec to_timespec(detail::Deadline deadline) {
  auto left = deadline - detail::Clock::now();
  if (left < Duration::zero()) left = Duration::zero();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  __kernel_timespec ts{};
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  return ts;
}

class UringReactor final : public Reactor {
 public:
  UringReactor(Scheduler& s, int wake_fd) : sched_(s), wake_fd_(wake_fd) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = io_uring_queue_init_params(kRingEntries, &ring_, &p);
    if (r == -EINVAL) {  // kernel older than 6.1: run without the two flags
      p = {};
      r = io_uring_queue_init_params(kRingEntries, &ring_, &p);
    }
    if (r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_queue_init_params");
  }
  ~UringReactor() override { io_uring_queue_exit(&ring_); }

  ReactorKind kind() const override { return ReactorKind::uring; }

  void poll(detail::Deadline deadline) override {
    if (!wake_armed_) arm_wake();
    if (deadline == detail::Deadline::min()) {
      io_uring_submit_and_get_events(&ring_);
    } else {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{};
      __kernel_timespec* tsp = nullptr;
      if (deadline != detail::kNoDeadline) {
        ts = to_timespec(deadline);
        tsp = &ts;
      }
      // -ETIME on timeout and -EINTR on a signal are both just "look again".
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tsp, nullptr);
    }
    reap();
  }

  bool has_pending_submissions() const override {
    return io_uring_sq_ready(const_cast<io_uring*>(&ring_)) > 0 || !wake_armed_;
  }

  void cancel_io(Fiber* f) override {
    if (f->io_request == nullptr) return;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel(sqe, f->io_request, 0);
    io_uring_sqe_set_data64(sqe, 0);
  }

  Result<int> accept(int fd, detail::Deadline deadline) override {
    for (;;) {
      int r = run(deadline, [&](io_uring_sqe* sqe) {
        io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      });
      if (r >= 0) return {r, 0};
      if (r != -EAGAIN) return {-1, -r};
      if (int w = wait_ready(fd, POLLIN, deadline)) return {-1, w};
    }
  }

  int connect(int fd, const Endpoint& to, detail::Deadline deadline) override {
    int r = run(deadline, [&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, fd, to.addr(), to.size()); });
    return r < 0 ? -r : 0;
  }

  Result<std::size_t> recv(int fd, std::span<std::byte> buf, detail::Deadline deadline) override {
    for (;;) {
      int r = run(deadline, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, buf.data(), buf.size(), 0); });
      if (r >= 0) return {static_cast<std::size_t>(r), 0};
      // Sockets are O_NONBLOCK (they may be shared with other backends), and
      // io_uring honours that: wait for readiness through the ring instead.
      if (r != -EAGAIN) return {0, -r};
      if (int w = wait_ready(fd, POLLIN, deadline)) return {0, w};
    }
  }

  Result<std::size_t> send(int fd, std::span<const std::byte> buf, detail::Deadline deadline) override {
    for (;;) {
      int r =
          run(deadline, [&](io_uring_sqe* sqe) { io_uring_prep_send(sqe, fd, buf.data(), buf.size(), MSG_NOSIGNAL); });
      if (r >= 0) return {static_cast<std::size_t>(r), 0};
      if (r != -EAGAIN) return {0, -r};
      if (int w = wait_ready(fd, POLLOUT, deadline)) return {0, w};
    }
  }

 private:
  io_uring_sqe* get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {  // SQ full: hand what is queued to the kernel
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // Submits one operation for the running fiber, with a linked timeout when
  // there is a deadline, parks until its CQE, and returns the CQE's result.
  // Throws io::Cancelled if the task was cancelled; -ETIMEDOUT on timeout.
  template <class Prep>
  int run(detail::Deadline deadline, Prep prep) {
    Fiber* f = sched_.current_fiber();
    detail::throw_if_cancelled();
    UringRequest req;
    req.fiber = f;
    req.token = f->begin_park();
    // Reserve both SQEs first so a full ring cannot split the link.
    if (io_uring_sq_space_left(&ring_) < 2) io_uring_submit(&ring_);
    io_uring_sqe* sqe = get_sqe();
    prep(sqe);
    io_uring_sqe_set_data(sqe, &req);
    if (deadline != detail::kNoDeadline) {
      req.timeout = to_timespec(deadline);
      sqe->flags |= IOSQE_IO_LINK;
      io_uring_sqe* t = get_sqe();
      io_uring_prep_link_timeout(t, &req.timeout, 0);
      io_uring_sqe_set_data64(t, 0);
    }
    f->io_request = &req;
    sched_.park(f, req.token, detail::kNoDeadline, CancelMode::io, ParkKind::io, "io_uring");
    f->io_request = nullptr;
    if (req.res == -ECANCELED) {
      if (f->cancel_requested()) throw Cancelled();
      return -ETIMEDOUT;  // the linked timeout fired
    }
    return req.res;
  }

  // Waits until `fd` is ready for `events`; 0, or an errno (ETIMEDOUT).
  int wait_ready(int fd, unsigned events, detail::Deadline deadline) {
    int r = run(deadline, [&](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, events); });
    return r < 0 ? -r : 0;
  }

  void arm_wake() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
    io_uring_sqe_set_data64(sqe, kWakeTag);
    wake_armed_ = true;
  }

  void reap() {
    unsigned head;
    unsigned n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++n;
      std::uint64_t ud = cqe->user_data;
      if (ud == 0 || ud == LIBURING_UDATA_TIMEOUT) continue;
      if (ud == kWakeTag) {
        wake_armed_ = false;  // re-armed at the next poll
        continue;
      }
      auto* req = reinterpret_cast<UringRequest*>(ud);
      req->res = cqe->res;
      req->fiber->wake(req->token);
    }
    io_uring_cq_advance(&ring_, n);
  }

  Scheduler& sched_;
  int wake_fd_;
  io_uring ring_{};
  std::uint64_t wake_buf_ = 0;
  bool wake_armed_ = false;
};

}  // namespace

std::unique_ptr<Reactor> make_uring_reactor(Scheduler& s, int wake_fd) {
  return std::make_unique<UringReactor>(s, wake_fd);
}

int probe_io_uring() {
  io_uring ring{};
  int r = io_uring_queue_init(2, &ring, 0);
  if (r < 0) return -r;
  io_uring_queue_exit(&ring);
  return 0;
}

}  // namespace faultline::io::evented
