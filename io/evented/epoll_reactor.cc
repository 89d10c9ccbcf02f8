// EpollReactor: the readiness-based fallback reactor, used when io_uring is
// unavailable (io_uring_setup fails with ENOSYS under rr — rr cannot record
// shared-memory rings — and with EPERM under Docker's default seccomp
// profile) or when FAULTLINE_REACTOR=epoll forces it.
//
// An operation first tries the non-blocking syscall. On EAGAIN the fiber
// registers itself as the fd's reader or writer and parks. One registration
// per fd carries both interests (EPOLLONESHOT, re-armed with whatever interest
// remains), so a reader fiber and a writer fiber can share a socket. A waiter
// that leaves by timeout or cancellation removes itself, so no epoll event can
// ever point at a frame that is gone.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <unordered_map>

#include "io/evented/fiber.h"
#include "io/evented/reactor.h"
#include "io/evented/scheduler.h"

namespace faultline::io::evented {
namespace {

struct ReadyWait {
  Fiber* fiber;
  std::uint64_t token;
  bool ready = false;
};

struct FdInterest {
  ReadyWait* reader = nullptr;
  ReadyWait* writer = nullptr;
};

class EpollReactor final : public Reactor {
 public:
  EpollReactor(Scheduler& s, int wake_fd) : sched_(s), wake_fd_(wake_fd) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(eventfd)");
  }
  ~EpollReactor() override { ::close(epfd_); }

  ReactorKind kind() const override { return ReactorKind::epoll; }

  void poll(detail::Deadline deadline) override {
    timespec ts{};
    timespec* tsp = &ts;
    if (deadline == detail::kNoDeadline) {
      tsp = nullptr;
    } else if (deadline != detail::Deadline::min()) {
      auto left = deadline - detail::Clock::now();
      if (left > Duration::zero()) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        ts.tv_sec = ns / 1'000'000'000;
        ts.tv_nsec = ns % 1'000'000'000;
      }
    }
    epoll_event events[128];
    int n = ::epoll_pwait2(epfd_, events, 128, tsp, nullptr);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
        continue;
      }
      auto it = interest_.find(fd);
      if (it == interest_.end()) continue;
      FdInterest& in = it->second;
      std::uint32_t e = events[i].events;
      const std::uint32_t any_error = EPOLLERR | EPOLLHUP;
      if (in.reader && (e & (EPOLLIN | EPOLLRDHUP | any_error))) wake(in.reader);
      if (in.writer && (e & (EPOLLOUT | any_error))) wake(in.writer);
      rearm(fd, in);
    }
  }

  bool has_pending_submissions() const override { return false; }
  void cancel_io(Fiber*) override {}  // epoll waits are cancelled by waking the fiber

  Result<int> accept(int fd, detail::Deadline deadline) override {
    for (;;) {
      detail::throw_if_cancelled();
      int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c >= 0) return {c, 0};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return {-1, errno};
      if (int w = wait(fd, false, deadline)) return {-1, w};
    }
  }

  int connect(int fd, const Endpoint& to, detail::Deadline deadline) override {
    detail::throw_if_cancelled();
    if (::connect(fd, to.addr(), to.size()) == 0) return 0;
    if (errno != EINPROGRESS && errno != EINTR) return errno;
    if (int w = wait(fd, true, deadline)) return w;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
  }

  Result<std::size_t> recv(int fd, std::span<std::byte> buf, detail::Deadline deadline) override {
    for (;;) {
      detail::throw_if_cancelled();
      ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (r >= 0) return {static_cast<std::size_t>(r), 0};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, errno};
      if (int w = wait(fd, false, deadline)) return {0, w};
    }
  }

  Result<std::size_t> send(int fd, std::span<const std::byte> buf, detail::Deadline deadline) override {
    for (;;) {
      detail::throw_if_cancelled();
      ssize_t r = ::send(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r >= 0) return {static_cast<std::size_t>(r), 0};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, errno};
      if (int w = wait(fd, true, deadline)) return {0, w};
    }
  }

 private:
  void wake(ReadyWait*& slot) {
    ReadyWait* w = slot;
    slot = nullptr;
    w->ready = true;
    w->fiber->wake(w->token);
  }

  // (Re-)arms the one-shot registration with the interest still wanted, or
  // removes it when nobody waits on the fd any more.
  void rearm(int fd, FdInterest& in) {
    std::uint32_t want = (in.reader ? EPOLLIN | EPOLLRDHUP : 0u) | (in.writer ? EPOLLOUT : 0u);
    if (want == 0) {
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      interest_.erase(fd);
      return;
    }
    epoll_event ev{};
    ev.events = want | EPOLLONESHOT;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }

  // Parks the running fiber until `fd` is readable (or writable); 0 when
  // ready, ETIMEDOUT, or throws Cancelled.
  int wait(int fd, bool for_write, detail::Deadline deadline) {
    Fiber* f = sched_.current_fiber();
    ReadyWait w{f, f->begin_park()};
    FdInterest& in = interest_[fd];
    ReadyWait*& slot = for_write ? in.writer : in.reader;
    slot = &w;
    rearm(fd, in);
    sched_.park(f, w.token, deadline, CancelMode::wake, ParkKind::io, for_write ? "epoll(write)" : "epoll(read)");
    if (!w.ready) {  // timed out or cancelled: withdraw the registration
      auto it = interest_.find(fd);
      if (it != interest_.end()) {
        ReadyWait*& s = for_write ? it->second.writer : it->second.reader;
        if (s == &w) s = nullptr;
        rearm(fd, it->second);
      }
      if (f->cancel_requested()) throw Cancelled();
      return ETIMEDOUT;
    }
    return 0;
  }

  Scheduler& sched_;
  int wake_fd_;
  int epfd_ = -1;
  std::unordered_map<int, FdInterest> interest_;
};

}  // namespace

std::unique_ptr<Reactor> make_epoll_reactor(Scheduler& s, int wake_fd) {
  return std::make_unique<EpollReactor>(s, wake_fd);
}

}  // namespace faultline::io::evented
