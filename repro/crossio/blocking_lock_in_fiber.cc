// crossio/blocking-lock-in-fiber
//
// Real bug: a resyncer written for threads was run as a fiber. It took an OS
// mutex (and made blocking calls) on an io_uring scheduler thread. When
// another fiber of the same thread held that mutex across a suspension, the
// thread blocked inside the lock — so the holder, which needed that very
// thread to run, could never release it: a startup deadlock.
//
// broken:  checker off; fiber A holds a Threaded (OS) mutex across a sleep,
//          fiber B on the same scheduler thread locks it → the thread blocks
//          for good; the watchdog reports the hang.
// checked: checker on → abort naming the Threaded mutex and the scheduler
//          thread about to block on it.
// fixed:   the blocking critical section goes through the bridge
//          (Io::offload) to a worker thread, where blocking is harmless.
#include <atomic>
#include <chrono>

#include "io/affinity.h"
#include "io/io.h"
#include "repro/common/repro_main.h"
#include "repro/crossio/watchdog.h"

using namespace faultline;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  repro::ReproSpec spec{"crossio/blocking-lock-in-fiber",
                        "an OS mutex held across a fiber switch deadlocks the scheduler thread",
                        {"broken", "checked", "fixed"},
                        "broken",
                        50,
                        4};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto threaded = io::Io::create({.backend = io::Backend::threaded});
    auto db_lock = threaded->make_mutex("resyncer.db_lock");  // an OS mutex
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    repro::Watchdog watchdog(args, rec, std::chrono::milliseconds(args.get_int("watchdog-ms", 1500)));
    long rows = 0;
    std::vector<io::TaskHandle> fibers;
    for (unsigned f = 0; f < args.fibers; ++f)
      fibers.push_back(io->spawn([&] {
        for (std::uint64_t i = 0; i < args.iterations; ++i) {
          auto critical = [&] {
            db_lock->lock();
            ++rows;
            std::this_thread::sleep_for(100us);  // the "query"
            db_lock->unlock();
          };
          if (args.variant == "fixed") {
            io->offload(critical);
          } else {
            // The resyncer's shape: lock, then wait for the network while
            // holding it — a fiber switch with an OS mutex held.
            db_lock->lock();
            ++rows;
            io->sleep_for(200us);
            db_lock->unlock();
          }
          watchdog.progress();
        }
      }));
    for (auto& f : fibers) f.join();
    long expected = static_cast<long>(args.iterations) * args.fibers;
    rec.details["rows"] = rows;
    rec.details["expected_rows"] = expected;
    rec.outcome = rows == expected ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = std::to_string(rows) + "/" + std::to_string(expected) + " critical sections completed";
  });
}
