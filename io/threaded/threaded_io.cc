#include "io/threaded/threaded_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <system_error>
#include <thread>

#include "io/affinity.h"
#include "io/detail/sockets.h"

namespace faultline::io::threaded {
namespace {

// A Threaded task: its thread's parker, plus an eventfd that a cancellation
// makes readable so that a poll(2) in progress returns.
class ThreadTask final : public detail::TaskState {
 public:
  ThreadTask(std::function<void()> b, std::string name, ThreadedIo& io)
      : TaskState(Backend::threaded, std::move(name)), body(std::move(b)), owner(io) {
    cancel_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~ThreadTask() override {
    if (cancel_fd >= 0) ::close(cancel_fd);
  }

  std::function<void()> body;
  ThreadedIo& owner;
  int cancel_fd = -1;
  std::atomic<detail::ThreadParker*> parker{nullptr};
  std::shared_ptr<ThreadTask> self;

 private:
  void deliver_cancel() override {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(cancel_fd, &one, sizeof one);
    if (auto* p = parker.load(std::memory_order_acquire)) {
      if (std::uint64_t t = cancellable_token.load(std::memory_order_seq_cst)) p->wake(t);
    }
  }
};

void* thread_main(void* arg) {
  auto* task = static_cast<ThreadTask*>(arg);
  std::shared_ptr<ThreadTask> self = std::move(task->self);
  detail::set_current_thread_role(ThreadRole::threaded_task);
  detail::set_thread_task(self.get());
  self->parker.store(&detail::ThreadParker::current(), std::memory_order_release);
  std::exception_ptr error;
  try {
    self->body();
  } catch (const Cancelled&) {
  } catch (...) {
    error = std::current_exception();
  }
  self->body = nullptr;
  self->parker.store(nullptr, std::memory_order_release);
  detail::set_thread_task(nullptr);
  // Unregister first: live_tasks() is exact once join() returns. After this
  // the Io may be destroyed; only the task state (kept by `self`) is touched.
  self->owner.task_finished(self->id());
  self->finish(error);
  return nullptr;
}

int cancel_fd_of_current() {
  auto* t = dynamic_cast<ThreadTask*>(detail::thread_task());
  return t ? t->cancel_fd : -1;
}

// Waits until `fd` has `events` or the deadline passes; 0, ETIMEDOUT, or
// throws Cancelled when the calling task is cancelled.
int wait_fd(int fd, short events, detail::Deadline deadline) {
  pollfd fds[2] = {{fd, events, 0}, {cancel_fd_of_current(), POLLIN, 0}};
  nfds_t n = fds[1].fd >= 0 ? 2 : 1;
  for (;;) {
    detail::throw_if_cancelled();
    int timeout_ms = -1;
    if (deadline != detail::kNoDeadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - detail::Clock::now()).count();
      if (left <= 0) return ETIMEDOUT;
      timeout_ms = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    }
    int r = ::poll(fds, n, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (n == 2 && fds[1].revents) throw Cancelled();
    if (r > 0) return 0;
  }
}

}  // namespace

void ThreadPolicy::check_block(const Primitive& p, std::string_view op) {
  detail::check_threaded_block(p, op);
}

detail::Parker& ThreadPolicy::parker(const Primitive&, std::string_view) {
  return detail::ThreadParker::current();
}

void ThreadPolicy::park(detail::Parker& p, std::uint64_t token, detail::Deadline d, bool cancellable,
                        const char* reason) {
  detail::park_current(p, token, d, cancellable, reason);
}

void ThreadMutex::lock() {
  // Like lockdep, report what *can* block, not only what did this time: an
  // uncontended lock on a scheduler thread is the same bug waiting for load.
  detail::check_threaded_block(*this, "lock");
  m_.lock();
}

ThreadedIo::ThreadedIo(const Options& options)
    : stack_size_(options.thread_stack_size), bridge_(options.bridge_workers) {}

ThreadedIo::~ThreadedIo() {
  tasks_.cancel_all_and_wait();
}

void ThreadedIo::task_finished(TaskId id) {
  tasks_.remove(id);
}

TaskHandle ThreadedIo::spawn(std::function<void()> body, std::string name) {
  auto task = std::make_shared<ThreadTask>(std::move(body), std::move(name), *this);
  tasks_.add(task);
  task->self = task;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  std::size_t min_stack = static_cast<std::size_t>(PTHREAD_STACK_MIN);
  std::size_t stack = stack_size_ < min_stack ? min_stack : stack_size_;
  pthread_attr_setstacksize(&attr, stack);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  int err = pthread_create(&tid, &attr, thread_main, task.get());
  pthread_attr_destroy(&attr);
  if (err != 0) {
    task->self.reset();
    task_finished(task->id());
    throw std::system_error(err, std::generic_category(), "pthread_create");
  }
  return TaskHandle(std::move(task));
}

void ThreadedIo::sleep_for(Duration d) {
  detail::throw_if_cancelled();
  auto& p = detail::ThreadParker::current();
  std::uint64_t token = p.begin_park();
  detail::park_current(p, token, detail::deadline_after(d), true, "sleep");
  p.cancel_park(token);  // a sleep is never woken by anyone: end it if still open
  detail::throw_if_cancelled();
}

void ThreadedIo::yield() {
  std::this_thread::yield();
}

std::unique_ptr<Mutex> ThreadedIo::make_mutex(std::string name) {
  return std::make_unique<ThreadMutex>(name.empty() ? "threaded.mutex" : std::move(name));
}
std::unique_ptr<Condition> ThreadedIo::make_condition(std::string name) {
  return std::make_unique<ThreadCondition>(name.empty() ? "threaded.condition" : std::move(name));
}
std::unique_ptr<Event> ThreadedIo::make_event(std::string name) {
  return std::make_unique<ThreadEvent>(name.empty() ? "threaded.event" : std::move(name));
}
std::unique_ptr<Semaphore> ThreadedIo::make_semaphore(std::size_t initial, std::string name) {
  return std::make_unique<ThreadSemaphore>(initial, name.empty() ? "threaded.semaphore" : std::move(name));
}

Result<Socket> ThreadedIo::accept(Socket& listener, Duration timeout) {
  auto deadline = detail::deadline_after(timeout);
  for (;;) {
    int c = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      detail::set_nodelay(c);
      return {Socket(c), 0};
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {{}, errno};
    if (int w = wait_fd(listener.fd(), POLLIN, deadline)) return {{}, w};
  }
}

Result<Socket> ThreadedIo::connect(const Endpoint& to, Duration timeout) {
  Socket s(detail::open_stream_socket(to.family()));
  if (!s.valid()) return {{}, errno};
  detail::set_nodelay(s.fd());
  detail::throw_if_cancelled();
  if (::connect(s.fd(), to.addr(), to.size()) != 0) {
    if (errno != EINPROGRESS) return {{}, errno};
    if (int w = wait_fd(s.fd(), POLLOUT, detail::deadline_after(timeout))) return {{}, w};
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return {{}, err};
  }
  return {std::move(s), 0};
}

Result<std::size_t> ThreadedIo::send(Socket& s, std::span<const std::byte> data, Duration timeout) {
  auto deadline = detail::deadline_after(timeout);
  for (;;) {
    detail::throw_if_cancelled();
    ssize_t r = ::send(s.fd(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) return {static_cast<std::size_t>(r), 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, errno};
    if (int w = wait_fd(s.fd(), POLLOUT, deadline)) return {0, w};
  }
}

Result<std::size_t> ThreadedIo::recv(Socket& s, std::span<std::byte> buf, Duration timeout) {
  auto deadline = detail::deadline_after(timeout);
  for (;;) {
    detail::throw_if_cancelled();
    ssize_t r = ::recv(s.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (r >= 0) return {static_cast<std::size_t>(r), 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, errno};
    if (int w = wait_fd(s.fd(), POLLIN, deadline)) return {0, w};
  }
}

}  // namespace faultline::io::threaded
