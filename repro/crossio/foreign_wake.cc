// crossio/foreign-wake
//
// Real bug: a plain thread (a cleanup/timer thread outside the fiber runtime)
// woke fibers through a hand-rolled "ready flag + wake if parked" protocol
// instead of the scheduler's cross-thread path. Between the fiber's check of
// the flag and its registration as parked there is a window; a wake-up that
// lands in it is lost and the fiber sleeps forever.
//
// broken:  the hand-rolled protocol (plain, unsynchronised fields — a data
//          race TSan names); the fiber does a little work between its check
//          and its registration, which is where the wake-ups go missing. The
//          watchdog reports the hang.
// checked: the plain thread uses an Evented Event with the affinity checker
//          on: the checker names the cross-backend use.
// fixed:   the plain thread wakes the fiber through the scheduler's
//          cross-thread path (token-checked wake, MPSC inbox + eventfd):
//          every round trip completes.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "io/affinity.h"
#include "io/detail/task_state.h"
#include "io/io.h"
#include "repro/common/repro_main.h"
#include "repro/crossio/watchdog.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

// The hand-rolled protocol. Deliberately not atomic: this is the bug.
struct NaiveWakeup {
  bool ready = false;
  bool parked = false;
  io::detail::Parker* waiter = nullptr;
  std::uint64_t token = 0;
};

}  // namespace

int main(int argc, char** argv) {
  repro::ReproSpec spec{"crossio/foreign-wake",
                        "a plain thread wakes a parked fiber by hand, bypassing the scheduler: lost wake-up",
                        {"broken", "checked", "fixed"},
                        "broken",
                        2000,
                        1};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    repro::Watchdog watchdog(args, rec, std::chrono::milliseconds(args.get_int("watchdog-ms", 1500)));
    const std::uint64_t rounds = args.iterations;
    std::atomic<std::uint64_t> consumed{0};
    if (args.variant == "broken") {
      // Shared state on the heap, as a connection's state would be. (Measured
      // with clang 14's TSan: the race below is named when the flags live on
      // the heap, and goes unreported when they live in this thread's frame.)
      auto shared = std::make_unique<NaiveWakeup>();
      NaiveWakeup& w = *shared;
      auto fiber = io->spawn([&] {
        for (std::uint64_t r = 0; r < rounds; ++r) {
          if (!w.ready) {
            io->sleep_for(20us);  // "log that we are about to wait" — the window
            auto& me = io::detail::current_parker();
            w.waiter = &me;
            w.token = me.begin_park();
            w.parked = true;
            io::detail::park_current(me, w.token, io::detail::kNoDeadline, false, "naive-wakeup");
          }
          w.ready = false;
          w.parked = false;
          consumed.store(r + 1);
          watchdog.progress();
        }
      });
      for (std::uint64_t r = 0; r < rounds; ++r) {
        w.ready = true;
        if (w.parked) w.waiter->wake(w.token);  // no wake if not (yet) parked: lost
        while (consumed.load() <= r) std::this_thread::yield();
      }
      fiber.join();
    } else {
      std::vector<std::unique_ptr<io::Event>> events;
      for (std::uint64_t r = 0; r < rounds; ++r) events.push_back(io->make_event("round"));
      auto fiber = io->spawn([&] {
        for (std::uint64_t r = 0; r < rounds; ++r) {
          io->sleep_for(20us);  // the same window as above: harmless with a real wake-up path
          events[r]->wait();
          consumed.store(r + 1);
          watchdog.progress();
        }
      });
      for (std::uint64_t r = 0; r < rounds; ++r) {
        if (args.variant == "checked") {
          events[r]->set();  // an Evented primitive from a plain thread: named by the checker
        } else {
          // Through the scheduler: the event is set from a fiber of this Io.
          io->spawn([&, r] { events[r]->set(); }).join();
        }
        while (consumed.load() <= r) std::this_thread::yield();
      }
      fiber.join();
    }
    rec.details["rounds"] = rounds;
    rec.details["consumed"] = consumed.load();
    rec.outcome = consumed.load() == rounds ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = std::to_string(consumed.load()) + "/" + std::to_string(rounds) + " wake-ups delivered";
  });
}
