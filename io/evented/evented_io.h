// The Evented backend: tasks are fibers spread over N scheduler threads, each
// with its own reactor (io_uring, or epoll as a fallback). See io/io.h for the
// contract and scheduler.h for the loop.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "io/bridge.h"
#include "io/detail/task_registry.h"
#include "io/evented/scheduler.h"
#include "io/evented/stall_monitor.h"
#include "io/io.h"

namespace faultline::io::evented {

class EventedIo final : public Io {
 public:
  explicit EventedIo(const Options& options);
  ~EventedIo() override;

  Backend backend() const override { return Backend::evented; }
  ReactorKind reactor() const override { return reactor_kind_; }
  unsigned scheduler_threads() const override { return static_cast<unsigned>(schedulers_.size()); }
  std::size_t live_tasks() const override { return tasks_.size(); }

  TaskHandle spawn(std::function<void()> body, std::string name) override;
  void sleep_for(Duration d) override;
  void yield() override;
  void migrate(unsigned thread_index) override;

  std::unique_ptr<Mutex> make_mutex(std::string name) override;
  std::unique_ptr<Condition> make_condition(std::string name) override;
  std::unique_ptr<Event> make_event(std::string name) override;
  std::unique_ptr<Semaphore> make_semaphore(std::size_t initial, std::string name) override;

  Result<Socket> accept(Socket& listener, Duration timeout) override;
  Result<Socket> connect(const Endpoint& to, Duration timeout) override;
  Result<std::size_t> send(Socket& s, std::span<const std::byte> data, Duration timeout) override;
  Result<std::size_t> recv(Socket& s, std::span<std::byte> buf, Duration timeout) override;
  std::size_t bridge_depth() const override { return bridge_.depth(); }

  // Called by a scheduler when one of its fibers has finished.
  void fiber_finished(Fiber* f);

 protected:
  void run_on_bridge(std::function<void()> job) override { bridge_.run(std::move(job)); }

 private:
  // The scheduler of the calling fiber; aborts with a clear message when the
  // caller is not a fiber of this backend.
  Scheduler& scheduler_for(const char* operation) const;

  ReactorKind reactor_kind_;
  std::size_t stack_size_;
  std::vector<std::unique_ptr<Scheduler>> schedulers_;
  std::atomic<unsigned> next_{0};
  detail::TaskRegistry tasks_;
  Bridge bridge_;
  std::unique_ptr<StallMonitor> stall_monitor_;  // checked mode only
};

// Chooses the reactor: an explicit option, else $FAULTLINE_REACTOR, else
// io_uring when it works here, else epoll (saying why, once, on stderr).
ReactorKind choose_reactor(const Options& options);

}  // namespace faultline::io::evented
