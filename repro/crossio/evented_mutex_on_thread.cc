// crossio/evented-mutex-on-thread
//
// Real bug: in the relay, a contended Evented (fiber) mutex was locked from a
// plain OS thread. The fiber mutex's slow path asks the scheduler for the
// current fiber — through a thread-local that is NULL on any thread that is
// not a scheduler thread — and dereferenced it: SIGSEGV at small addresses
// (0x28, 0x30, 0x38), minutes to hours into a run, whenever the lock happened
// to be contended at the wrong moment.
//
// broken:  affinity checker off; a fiber holds the lock, a plain thread locks
//          it → the same NULL-scheduler SIGSEGV (the process dies; the harness
//          classifies it as SEGV_MAPERR at a small address).
// checked: affinity checker on → abort with a message naming the primitive,
//          both backends and the call stack.
// fixed:   the plain thread never touches the fiber mutex: it hands the
//          critical section to a fiber (spawn + join), so every lock is taken
//          from a fiber; the shared counter is exact.
#include <atomic>
#include <chrono>
#include <thread>

#include "io/affinity.h"
#include "io/io.h"
#include "repro/common/repro_main.h"
#include "repro/crossio/watchdog.h"

using namespace faultline;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  repro::ReproSpec spec{"crossio/evented-mutex-on-thread",
                        "a contended Evented mutex locked from a plain thread dereferences the NULL scheduler",
                        {"broken", "checked", "fixed"},
                        "broken",
                        200,
                        2};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    auto m = io->make_mutex("relay.host_table");
    long counter = 0;
    std::atomic<bool> stop{false};
    // Fibers keep the lock busy, so the plain thread's lock is contended.
    std::vector<io::TaskHandle> fibers;
    for (unsigned f = 0; f < args.fibers; ++f)
      fibers.push_back(io->spawn([&] {
        while (!stop) {
          io::LockGuard g(*m);
          ++counter;
          io->sleep_for(1ms);  // hold it across a park
        }
      }));
    std::this_thread::sleep_for(5ms);
    long plain_increments = 0;
    if (args.variant == "fixed") {
      for (std::uint64_t i = 0; i < args.iterations; ++i) {
        io->spawn([&] {
            io::LockGuard g(*m);
            ++counter;
            ++plain_increments;
          }).join();
      }
    } else {
      repro::announce(rec, "plain thread locking the contended fiber mutex");
      for (std::uint64_t i = 0; i < args.iterations; ++i) {
        m->lock();  // broken: NULL scheduler; checked: diagnostic + abort
        ++counter;
        ++plain_increments;
        m->unlock();
      }
    }
    stop = true;
    for (auto& f : fibers) f.join();
    rec.details["plain_thread_critical_sections"] = plain_increments;
    rec.details["counter"] = counter;
    bool ok = plain_increments == static_cast<long>(args.iterations);
    rec.outcome = ok ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = ok ? "every critical section of the plain thread ran on a fiber; no crash"
                     : "the plain thread lost critical sections";
  });
}
