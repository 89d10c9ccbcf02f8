// The Threaded backend: a task is an OS thread (pthread, configurable stack);
// primitives block the thread (std::mutex / condition variables, futex
// underneath); socket operations are poll(2) + non-blocking syscalls, so that
// a timeout or a cancellation (an eventfd per task) can interrupt them.
#pragma once

#include <atomic>
#include <memory>

#include "io/bridge.h"
#include "io/detail/primitives.h"
#include "io/detail/task_registry.h"
#include "io/io.h"

namespace faultline::io::threaded {

struct ThreadPolicy {
  static constexpr Backend kBackend = Backend::threaded;
  static void check_use(const Primitive&, std::string_view) {}
  static void check_block(const Primitive& p, std::string_view op);
  static detail::Parker& parker(const Primitive&, std::string_view);
  static void park(detail::Parker& p, std::uint64_t token, detail::Deadline d, bool cancellable, const char* reason);
};

// std::mutex plus the affinity check: lock() from a scheduler thread is
// reported, contended or not (blocking there stalls every fiber of the
// thread); try_lock() never blocks and is allowed.
class ThreadMutex final : public Mutex {
 public:
  explicit ThreadMutex(std::string name) : Mutex(std::move(name)) {}
  Backend backend() const override { return Backend::threaded; }
  void lock() override;
  bool try_lock() override { return m_.try_lock(); }
  void unlock() override { m_.unlock(); }

 private:
  std::mutex m_;
};

using ThreadCondition = detail::BasicCondition<ThreadPolicy>;
using ThreadEvent = detail::BasicEvent<ThreadPolicy>;
using ThreadSemaphore = detail::BasicSemaphore<ThreadPolicy>;

class ThreadedIo final : public Io {
 public:
  explicit ThreadedIo(const Options& options);
  ~ThreadedIo() override;

  Backend backend() const override { return Backend::threaded; }
  ReactorKind reactor() const override { return ReactorKind::none; }
  unsigned scheduler_threads() const override { return 0; }
  std::size_t live_tasks() const override { return tasks_.size(); }

  TaskHandle spawn(std::function<void()> body, std::string name) override;
  void sleep_for(Duration d) override;
  void yield() override;
  void migrate(unsigned) override {}

  std::unique_ptr<Mutex> make_mutex(std::string name) override;
  std::unique_ptr<Condition> make_condition(std::string name) override;
  std::unique_ptr<Event> make_event(std::string name) override;
  std::unique_ptr<Semaphore> make_semaphore(std::size_t initial, std::string name) override;

  Result<Socket> accept(Socket& listener, Duration timeout) override;
  Result<Socket> connect(const Endpoint& to, Duration timeout) override;
  Result<std::size_t> send(Socket& s, std::span<const std::byte> data, Duration timeout) override;
  Result<std::size_t> recv(Socket& s, std::span<std::byte> buf, Duration timeout) override;
  std::size_t bridge_depth() const override { return bridge_.depth(); }

  void task_finished(TaskId id);

 protected:
  void run_on_bridge(std::function<void()> job) override { bridge_.run(std::move(job)); }

 private:
  std::size_t stack_size_;
  detail::TaskRegistry tasks_;
  Bridge bridge_;
};

}  // namespace faultline::io::threaded
