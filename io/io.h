// faultline::io — one runtime interface, two backends.
//
//   Threaded: a task is an OS thread; primitives are futex based (std::mutex /
//             std::condition_variable); a blocking call blocks the thread.
//   Evented:  a task is a fiber (Boost.Context) on one of N scheduler threads;
//             each scheduler thread owns a run queue and a reactor (io_uring,
//             or epoll when io_uring is unavailable). Primitives park the
//             fiber, never the thread.
//
// The two meet only through the bridge (`Io::offload`): a fiber hands blocking
// work to a pool of worker threads and parks until it is done.
//
// Contract shared by both backends:
//  - Task bodies run to completion or until cancelled. `TaskHandle::cancel()`
//    makes the task's next (or current) cancellation point throw `Cancelled`;
//    cancellation points are sleep_for, every socket operation, Condition /
//    Event / Semaphore waits and Channel send/recv. Mutex::lock is not one.
//  - An exception escaping a task body is kept and rethrown by join()
//    (`Cancelled` is swallowed: a cancelled task joins normally).
//  - join() may be called from any thread or task of either backend.
//  - Primitives from `make_*` belong to this Io's backend. The affinity checker
//    (io/affinity.h) reports an Evented primitive used off a scheduler thread
//    and a scheduler thread blocking on a Threaded primitive.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/net.h"
#include "io/sync.h"

namespace faultline::io {

enum class ReactorKind { none, uring, epoll };
std::string_view to_string(ReactorKind k);

struct Options {
  Backend backend = Backend::evented;
  // Evented: scheduler threads; 0 means one per core.
  unsigned scheduler_threads = 0;
  // Evented: usable fiber stack (a guard page is added below it).
  std::size_t fiber_stack_size = 64 * 1024;
  // Threaded: stack of each task thread.
  std::size_t thread_stack_size = 256 * 1024;
  // Evented: force a reactor; unset means $FAULTLINE_REACTOR, else io_uring
  // with automatic fallback to epoll when io_uring_setup fails.
  std::optional<ReactorKind> reactor;
  // Worker threads behind the bridge (Io::offload).
  unsigned bridge_workers = 4;
};

// Parse "threaded"/"evented"; nullopt for anything else.
std::optional<Backend> backend_from_string(std::string_view s);

// Thrown at a cancellation point of a cancelled task.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "task cancelled"; }
};

using TaskId = std::uint64_t;

namespace detail {
class TaskState;
}

// A joinable, cancellable handle to a spawned task. Copyable (shared state);
// dropping every handle detaches the task, which still runs to completion.
class TaskHandle {
 public:
  TaskHandle() = default;
  explicit TaskHandle(std::shared_ptr<detail::TaskState> s) : state_(std::move(s)) {}
  // Waits for the task to finish; rethrows an exception that escaped it.
  void join();
  // Requests cancellation; returns immediately. Safe from any thread.
  void cancel();
  bool done() const;
  TaskId id() const;
  bool valid() const { return state_ != nullptr; }

 private:
  std::shared_ptr<detail::TaskState> state_;
};

class Io {
 public:
  static std::unique_ptr<Io> create(const Options& options = {});
  virtual ~Io();
  Io(const Io&) = delete;
  Io& operator=(const Io&) = delete;

  virtual Backend backend() const = 0;
  virtual ReactorKind reactor() const = 0;
  // Evented: scheduler threads. Threaded: 0 (a thread per task).
  virtual unsigned scheduler_threads() const = 0;
  // Tasks alive right now (spawned, not yet finished).
  virtual std::size_t live_tasks() const = 0;

  // ---- tasks ----
  virtual TaskHandle spawn(std::function<void()> body, std::string name = {}) = 0;
  // Runs `body` as a task and waits for it from the calling (non-task) thread.
  template <class F>
  auto block_on(F&& body) -> std::invoke_result_t<F&>;
  // Cancellation points.
  virtual void sleep_for(Duration d) = 0;
  virtual void yield() = 0;
  // Evented: moves the calling fiber to scheduler thread `thread_index`
  // (modulo the thread count) and returns running there. Threaded: no effect.
  virtual void migrate(unsigned thread_index) = 0;
  // The calling task's id, 0 when not inside a task of any Io.
  static TaskId current_task();

  // ---- synchronisation primitives of this backend ----
  virtual std::unique_ptr<Mutex> make_mutex(std::string name = {}) = 0;
  virtual std::unique_ptr<Condition> make_condition(std::string name = {}) = 0;
  virtual std::unique_ptr<Event> make_event(std::string name = {}) = 0;
  virtual std::unique_ptr<Semaphore> make_semaphore(std::size_t initial, std::string name = {}) = 0;
  template <class T>
  std::unique_ptr<Channel<T>> make_channel(std::size_t capacity, std::string name = {}) {
    return std::make_unique<Channel<T>>(make_mutex(name + ".mutex"), make_condition(name + ".not_empty"),
                                        make_condition(name + ".not_full"), capacity);
  }

  // ---- networking (TCP over IPv4/IPv6) ----
  // Binding never blocks, so it is the same on both backends.
  Result<Socket> listen(const Endpoint& at, int backlog = 512);
  virtual Result<Socket> accept(Socket& listener, Duration timeout = kForever) = 0;
  virtual Result<Socket> connect(const Endpoint& to, Duration timeout = kForever) = 0;
  // Partial send/recv: bytes transferred; recv returns 0 at end of stream.
  virtual Result<std::size_t> send(Socket& s, std::span<const std::byte> data, Duration timeout = kForever) = 0;
  virtual Result<std::size_t> recv(Socket& s, std::span<std::byte> buf, Duration timeout = kForever) = 0;
  // Sends everything or fails; the timeout applies to each partial send.
  Result<std::size_t> send_all(Socket& s, std::span<const std::byte> data, Duration timeout = kForever);
  Result<std::size_t> send_all(Socket& s, std::string_view data, Duration timeout = kForever) {
    return send_all(s, std::as_bytes(std::span(data.data(), data.size())), timeout);
  }
  // Neither blocks, so both are the same on both backends.
  int shutdown(Socket& s, int how);
  void close(Socket& s);
  // Name lookup (getaddrinfo). Evented: done on a bridge worker, fiber parked.
  Result<std::vector<Endpoint>> resolve(const std::string& host, std::uint16_t port);

  // ---- the bridge ----
  // Runs `fn` on a worker thread of the bridge pool and parks the calling task
  // until it is done (Evented: the fiber parks, its thread runs other fibers;
  // Threaded: runs on the worker, the calling thread waits). Returns fn's
  // value or rethrows its exception.
  template <class F>
  auto offload(F&& fn) -> std::invoke_result_t<F&>;
  // Jobs queued or running on the bridge right now.
  virtual std::size_t bridge_depth() const = 0;

 protected:
  Io() = default;
  // Runs `job` on a bridge worker and waits for it as described above.
  virtual void run_on_bridge(std::function<void()> job) = 0;
};

// ---- template definitions ----

template <class F>
auto Io::block_on(F&& body) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<R>) {
    spawn([&body] { body(); }, "block_on").join();
  } else {
    std::optional<R> out;
    spawn([&] { out.emplace(body()); }, "block_on").join();
    return std::move(*out);
  }
}

template <class F>
auto Io::offload(F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    run_on_bridge([&] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<R> out;
    run_on_bridge([&] {
      try {
        out.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }
}

}  // namespace faultline::io
