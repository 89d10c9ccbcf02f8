// A fiber: an Evented task. It is a TaskState (identity, cancellation,
// completion) and a Parker (it can be parked and woken), plus the execution
// context Boost.Context switches to.
//
// Ownership: shared. The handles hold references; `self` keeps the fiber
// alive while it can still run and is dropped by the scheduler once the
// fiber's context has finished. Fields below are touched only by the thread
// currently running or scheduling the fiber, unless marked atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/context/detail/fcontext.hpp>
#include <boost/context/stack_context.hpp>

#include "io/detail/task_state.h"
#include "io/detail/wait.h"
#include "io/evented/mpsc_queue.h"
#include "io/evented/stack.h"

namespace faultline::io::evented {

class Scheduler;
class Fiber;

enum class FiberState : std::uint8_t { created, runnable, running, parked, finished };
enum class ParkKind : std::uint8_t { none, primitive, sleep, io, join };
// How a cancellation reaches a parked fiber: not at all (mutex, join), by
// waking it (primitives, sleep, epoll waits), or by cancelling its in-flight
// io_uring operation (the kernel still owns the buffer until the CQE).
enum class CancelMode : std::uint8_t { none, wake, io };

std::string_view to_string(FiberState s);

// What a scheduler's MPSC inbox carries: a fiber to run, or a cancellation.
struct InboxItem : MpscNode {
  enum class Kind : std::uint8_t { run, cancel } kind = Kind::run;
  Fiber* fiber = nullptr;
  std::shared_ptr<detail::TaskState> keep_alive;  // for cancel requests
};

struct TimerEntry {
  Fiber* fiber;
  std::uint64_t token;
};
using TimerMap = std::multimap<detail::Deadline, TimerEntry>;

class Fiber final : public detail::TaskState, public detail::Parker {
 public:
  Fiber(std::function<void()> body, std::string name, Scheduler* home);
  ~Fiber() override;

  // The fiber's suspended context while it waits to run again; null before
  // its first run and while it runs (see the switch protocol, scheduler.cc).
  // It and the next three fields are what every switch touches: together.
  boost::context::detail::fcontext_t ctx = nullptr;
  Fiber* next_ready = nullptr;  // link in the owning scheduler's RunQueue
  // Runs on the scheduler's stack right after the fiber switched out.
  void (*after_switch)(Fiber*, void*) = nullptr;
  std::atomic<FiberState> state{FiberState::created};

  std::function<void()> body;
  std::atomic<Scheduler*> home;
  InboxItem run_node;

  std::atomic<ParkKind> park_kind{ParkKind::none};
  std::atomic<CancelMode> cancel_mode{CancelMode::none};
  const char* park_reason = "";
  void* io_request = nullptr;  // in-flight io_uring request, for cancellation

  bool timer_armed = false;
  TimerMap::iterator timer_it;

  StackBounds stack;
  std::size_t stack_size = 0;
  boost::context::stack_context stack_ctx;  // released by the loop once the fiber has finished
  // Sanitizer bookkeeping (unused outside ASan/TSan builds).
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;

  void* after_switch_arg = nullptr;

  std::shared_ptr<Fiber> self;
  Fiber* registry_prev = nullptr;
  Fiber* registry_next = nullptr;

 private:
  void on_wake() override;
  void deliver_cancel() override;
};

// Installs (once per process) the SIGSEGV/SIGBUS handler that recognises a
// fault in the running fiber's guard page and reports a stack overflow by
// fiber id and name before chaining to the previous handler.
void install_overflow_handler();
// Writes one line per live fiber (id, name, state, what it waits on) to `fd`.
void dump_fibers(int fd);

}  // namespace faultline::io::evented
