#include "io/evented/evented_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

#include "io/affinity.h"
#include "io/detail/sockets.h"
#include "io/evented/sync.h"

namespace faultline::io::evented {
namespace {

std::once_flag fallback_notice;

}  // namespace

ReactorKind choose_reactor(const Options& options) {
  if (options.reactor && *options.reactor != ReactorKind::none) return *options.reactor;
  if (const char* env = std::getenv("FAULTLINE_REACTOR")) {
    std::string_view v(env);
    if (v == "epoll") return ReactorKind::epoll;
    if (v == "uring") return ReactorKind::uring;
    if (!v.empty() && v != "auto")
      std::fprintf(stderr, "faultline: ignoring FAULTLINE_REACTOR=%s (expected uring, epoll or auto)\n", env);
  }
  int err = probe_io_uring();
  if (err == 0) return ReactorKind::uring;
  std::call_once(fallback_notice, [err] {
    const char* why = err == ENOSYS  ? " (no io_uring here; under rr this is expected: rr cannot record io_uring)"
                      : err == EPERM ? " (forbidden, e.g. by a container's seccomp profile or io_uring_disabled)"
                                     : "";
    std::fprintf(stderr, "faultline: io_uring_setup failed: %s%s; using the epoll reactor\n", std::strerror(err), why);
  });
  return ReactorKind::epoll;
}

EventedIo::EventedIo(const Options& options)
    : reactor_kind_(choose_reactor(options)), stack_size_(options.fiber_stack_size), bridge_(options.bridge_workers) {
  install_overflow_handler();
  unsigned n = options.scheduler_threads ? options.scheduler_threads : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  if (reactor_kind_ == ReactorKind::uring && options.reactor == ReactorKind::uring && probe_io_uring() != 0)
    throw std::runtime_error("io_uring was requested but io_uring_setup fails here");
  schedulers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    schedulers_.push_back(std::make_unique<Scheduler>(*this, i, reactor_kind_, stack_size_));
    schedulers_.back()->start();
  }
  if (affinity_mode() == AffinityMode::check) {
    std::vector<Scheduler*> all;
    for (auto& s : schedulers_) all.push_back(s.get());
    stall_monitor_ = std::make_unique<StallMonitor>(std::move(all), StallMonitor::limit_from_environment());
  }
}

EventedIo::~EventedIo() {
  // A scheduler can only stop once it owns no fibers.
  tasks_.cancel_all_and_wait();
  stall_monitor_.reset();
  for (auto& s : schedulers_) s->stop();
}

void EventedIo::fiber_finished(Fiber* f) {
  tasks_.remove(f->id());
}

TaskHandle EventedIo::spawn(std::function<void()> body, std::string name) {
  // Spread new fibers round-robin; a fiber stays where it was put unless it
  // migrates itself.
  Scheduler* home = schedulers_[next_.fetch_add(1, std::memory_order_relaxed) % schedulers_.size()].get();
  auto f = std::make_shared<Fiber>(std::move(body), std::move(name), home);
  f->self = f;
  tasks_.add(f);
  home->schedule(f.get());
  return TaskHandle(std::move(f));
}

Scheduler& EventedIo::scheduler_for(const char* operation) const {
  Scheduler* s = Scheduler::current();
  if (s == nullptr || s->current_fiber() == nullptr || &s->io() != this) {
    std::fprintf(stderr,
                 "faultline: Evented Io::%s called from %s; Evented operations must run in a fiber of this Io "
                 "(spawn one, or use Io::block_on)\n",
                 operation, s ? "a scheduler thread of another Io or outside a fiber" : "a plain thread");
    std::abort();
  }
  return *s;
}

void EventedIo::sleep_for(Duration d) {
  Scheduler& s = scheduler_for("sleep_for");
  detail::throw_if_cancelled();
  Fiber* f = s.current_fiber();
  std::uint64_t token = f->begin_park();
  s.park(f, token, detail::deadline_after(d), CancelMode::wake, ParkKind::sleep, "sleep");
  detail::throw_if_cancelled();
}

void EventedIo::yield() {
  // The hot path of every cooperative loop: one check, one call.
  Scheduler* s = Scheduler::current();
  if (s == nullptr || s->current_fiber() == nullptr || &s->io() != this) [[unlikely]]
    s = &scheduler_for("yield");
  s->yield_current();
}

void EventedIo::migrate(unsigned thread_index) {
  Scheduler& s = scheduler_for("migrate");
  s.migrate_current(schedulers_[thread_index % schedulers_.size()].get());
}

std::unique_ptr<Mutex> EventedIo::make_mutex(std::string name) {
  return std::make_unique<FiberMutex>(name.empty() ? "evented.mutex" : std::move(name));
}
std::unique_ptr<Condition> EventedIo::make_condition(std::string name) {
  return std::make_unique<FiberCondition>(name.empty() ? "evented.condition" : std::move(name));
}
std::unique_ptr<Event> EventedIo::make_event(std::string name) {
  return std::make_unique<FiberEvent>(name.empty() ? "evented.event" : std::move(name));
}
std::unique_ptr<Semaphore> EventedIo::make_semaphore(std::size_t initial, std::string name) {
  return std::make_unique<FiberSemaphore>(initial, name.empty() ? "evented.semaphore" : std::move(name));
}

Result<Socket> EventedIo::accept(Socket& listener, Duration timeout) {
  Scheduler& s = scheduler_for("accept");
  auto r = s.reactor().accept(listener.fd(), detail::deadline_after(timeout));
  if (!r) return {{}, r.error};
  detail::set_nodelay(r.value);
  return {Socket(r.value), 0};
}

Result<Socket> EventedIo::connect(const Endpoint& to, Duration timeout) {
  Scheduler& s = scheduler_for("connect");
  Socket sock(detail::open_stream_socket(to.family()));
  if (!sock.valid()) return {{}, errno};
  detail::set_nodelay(sock.fd());
  if (int err = s.reactor().connect(sock.fd(), to, detail::deadline_after(timeout))) return {{}, err};
  return {std::move(sock), 0};
}

Result<std::size_t> EventedIo::send(Socket& sock, std::span<const std::byte> data, Duration timeout) {
  return scheduler_for("send").reactor().send(sock.fd(), data, detail::deadline_after(timeout));
}

Result<std::size_t> EventedIo::recv(Socket& sock, std::span<std::byte> buf, Duration timeout) {
  return scheduler_for("recv").reactor().recv(sock.fd(), buf, detail::deadline_after(timeout));
}

}  // namespace faultline::io::evented
