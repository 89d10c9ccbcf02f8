// crossio/spin-wait-in-fiber
//
// Real bug: the relay's broadcast stage kept events in order with a flag per
// sequence number, and a fiber waited for its predecessor's flag by spinning
// (with a give-up budget). Under the Threaded backend the predecessor ran on
// another thread and the spin was short (38.6k spins/s). Under the Evented
// backend the predecessor was often a fiber of the *same* thread, which could
// not run while the spinner held the CPU: 33M spins/s, the broadcast queue's
// high-water mark went from 36 to 8,191, and 10–15% of events were never
// delivered (the spinner gave up and dropped them).
//
// broken: each event's fiber spins (no yield, bounded budget) until the
//         previous event is published; when the budget runs out it drops the
//         event. Reports spins/s and delivered/expected.
// checked: the same spin, unbounded, with the affinity checker on: its stall
//          detector names the fiber that holds its scheduler thread without
//          switching and aborts on that thread.
// fixed:  it parks on the predecessor's Event instead: 0 spins, every event
//         delivered in order.
#include <atomic>
#include <chrono>
#include <limits>
#include <vector>

#include "io/affinity.h"
#include "io/io.h"
#include "repro/common/repro_main.h"

using namespace faultline;

int main(int argc, char** argv) {
  repro::ReproSpec spec{"crossio/spin-wait-in-fiber",
                        "a fiber spin-waits for a flag a fiber of its own thread must set: starvation, lost events",
                        {"broken", "checked", "fixed"},
                        "broken",
                        2000,
                        8};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    const std::uint64_t events = args.iterations;
    // The checked variant spins without giving up, as a spin-wait with no
    // budget would; the stall detector stops it.
    const long budget =
        args.variant == "checked" ? std::numeric_limits<long>::max() : args.get_int("spin-budget", 100000);
    const bool broken = args.variant != "fixed";
    std::vector<std::unique_ptr<io::Event>> published;
    for (std::uint64_t i = 0; i <= events; ++i) published.push_back(io->make_event());
    std::vector<std::atomic<bool>> flags(events + 1);
    flags[0] = true;
    io->block_on([&] { published[0]->set(); });  // Evented primitives are set from fibers
    std::atomic<long> spins{0}, delivered{0}, dropped{0}, out_of_order{0};
    std::atomic<std::uint64_t> last_delivered{0};
    auto t0 = std::chrono::steady_clock::now();
    // Events are handled by `fibers` workers, each taking every fibers-th
    // sequence number — consecutive numbers live on different fibers of the
    // same scheduler thread.
    std::vector<io::TaskHandle> workers;
    for (unsigned w = 0; w < args.fibers; ++w)
      workers.push_back(io->spawn([&, w] {
        for (std::uint64_t seq = w + 1; seq <= events; seq += args.fibers) {
          bool ordered = true;
          if (broken) {
            long n = 0;
            while (!flags[seq - 1].load(std::memory_order_acquire)) {
              if (++n > budget) {
                ordered = false;
                break;
              }
            }
            spins += n;
          } else {
            published[seq - 1]->wait();
          }
          if (ordered) {
            if (last_delivered.load() + 1 != seq) ++out_of_order;
            last_delivered = seq;
            ++delivered;
          } else {
            ++dropped;  // gave up waiting: the event is lost
          }
          flags[seq].store(true, std::memory_order_release);
          published[seq]->set();
          if (seq % 64 == 0) io->yield();
        }
      }));
    for (auto& h : workers) h.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double spins_per_s = secs > 0 ? static_cast<double>(spins.load()) / secs : 0;
    double coverage = static_cast<double>(delivered.load()) / static_cast<double>(events);
    rec.details["events_expected"] = events;
    rec.details["events_delivered"] = delivered.load();
    rec.details["events_dropped"] = dropped.load();
    rec.details["out_of_order"] = out_of_order.load();
    rec.details["spins"] = spins.load();
    rec.details["spins_per_s"] = spins_per_s;
    rec.details["coverage"] = coverage;
    bool ok = delivered.load() == static_cast<long>(events) && out_of_order == 0;
    rec.outcome = ok ? record::Outcome::pass : record::Outcome::fail;
    char buf[200];
    std::snprintf(buf, sizeof buf, "delivered %ld/%llu events (%.1f%%), %.3g spins/s, %ld out of order",
                  delivered.load(), static_cast<unsigned long long>(events), coverage * 100, spins_per_s,
                  out_of_order.load());
    rec.summary = buf;
  });
}
