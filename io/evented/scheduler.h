// A scheduler thread of the Evented backend: one OS thread, one run queue,
// one reactor, one timer map, one MPSC inbox + eventfd for wake-ups from
// other threads.
//
// The loop, top to bottom (scheduler.cc): take what other threads posted to
// the inbox, fire due timers, run the fibers that are ready, let the reactor
// reap completions without blocking; when nothing is ready, announce that the
// thread is going to sleep and block in the reactor until the next timer, a
// completion, or the eventfd.
//
// Fibers run on the scheduler that owns them ("home") and stay there unless
// they migrate themselves (migrate_current); a parked fiber never migrates, so
// its timer and its in-flight I/O always belong to the thread that resumes it.
#pragma once

#include <pthread.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "io/evented/fiber.h"
#include "io/evented/reactor.h"

namespace faultline::io::evented {

class EventedIo;

// A scheduler's queue of ready fibers: intrusive FIFO through
// Fiber::next_ready, touched only by the owning thread. A fiber is in at most
// one queue at a time (a wake-up is claimed once, by token).
class RunQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  Fiber* front() const { return head_; }
  void push_back(Fiber* f) {
    f->next_ready = nullptr;
    if (tail_)
      tail_->next_ready = f;
    else
      head_ = f;
    tail_ = f;
  }
  void pop_front() {
    head_ = head_->next_ready;
    if (head_ == nullptr) tail_ = nullptr;
  }

 private:
  Fiber* head_ = nullptr;
  Fiber* tail_ = nullptr;
};

namespace detail_tls {
// The scheduler of the calling thread (inline: read on every switch).
inline thread_local Scheduler* current_scheduler = nullptr;
}  // namespace detail_tls

class Scheduler {
 public:
  Scheduler(EventedIo& io, unsigned index, ReactorKind reactor, std::size_t stack_size);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the thread; returns once its reactor is set up (or throws).
  void start();
  // Asks the loop to exit once it has no fibers left; joins the thread.
  void stop();

  // The scheduler of the calling thread; nullptr on any other thread.
  static Scheduler* current() { return detail_tls::current_scheduler; }
  // The fiber running on this scheduler right now (nullptr in the loop).
  Fiber* current_fiber() const { return current_; }
  unsigned index() const { return index_; }
  EventedIo& io() const { return io_; }
  Reactor& reactor() { return *reactor_; }

  // For the stall detector (stall_monitor.h): bumped at every switch by the
  // owning thread only, read by the monitor. running_fiber() acquires what
  // note_switch() released, so the monitor may read the fiber's id and name
  // (written before it first ran) — TSan reported the relaxed pair as a race.
  std::uint64_t switch_epoch() const { return switch_epoch_.load(std::memory_order_relaxed); }
  Fiber* running_fiber() const { return running_fiber_.load(std::memory_order_acquire); }
  pthread_t native_thread() { return thread_.native_handle(); }

  // Makes `f` runnable; from any thread.
  void schedule(Fiber* f);
  // Delivers a cancellation to a fiber homed here; from any thread.
  void post_cancel(std::shared_ptr<detail::TaskState> task, Fiber* f);

  // ---- called by the running fiber ----
  // Parks the running fiber until woken with `token`, until `deadline`, or
  // (per `mode`) until cancelled. Returns after it has been resumed.
  void park(Fiber* f, std::uint64_t token, detail::Deadline deadline, CancelMode mode, ParkKind kind,
            const char* reason);
  void yield_current();
  // Moves the running fiber to `to`'s run queue; returns on `to`'s thread.
  void migrate_current(Scheduler* to);

 private:
  friend class Fiber;
  void thread_main();
  void loop();
  void resume(Fiber* f);
  void switch_out(Fiber* f);
  bool drain_inbox();
  void fire_timers(detail::Deadline now);
  void handle_cancel(InboxItem* item);
  void ring();
  // Marks a switch to `f` (nullptr: back in the loop); plain stores, as only
  // this thread writes (a release store is a plain MOV on x86-64).
  void note_switch(Fiber* f) {
    running_fiber_.store(f, std::memory_order_release);
    switch_epoch_.store(switch_epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  EventedIo& io_;
  const unsigned index_;
  const ReactorKind reactor_kind_;
  const std::size_t stack_size_;
  Fiber* current_ = nullptr;
  std::atomic<std::uint64_t> switch_epoch_{0};
  std::atomic<Fiber*> running_fiber_{nullptr};
  int direct_budget_ = 0;
  // The loop's suspended context while a fiber runs on this thread: where
  // every fiber switching back to the loop jumps to.
  boost::context::detail::fcontext_t loop_ctx_ = nullptr;
  detail::Deadline last_poll_{};
  RunQueue run_queue_;
  TimerMap timers_;
  MpscQueue inbox_;
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;
  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
  // The scheduler thread's own stack, for the sanitizer switch hooks.
  const void* asan_bottom_ = nullptr;
  std::size_t asan_size_ = 0;
  void* asan_fake_stack_ = nullptr;
  void* tsan_self_ = nullptr;
  // Alternate signal stack: a fiber's stack overflow is handled on it.
  void* altstack_ = nullptr;

  [[noreturn]] static void fiber_entry(boost::context::detail::transfer_t from_loop);
  // Runs the body and finishes the task; returns the scheduler it ended on.
  [[gnu::noinline]] static Scheduler* run_to_completion(Fiber* f);
};

}  // namespace faultline::io::evented
