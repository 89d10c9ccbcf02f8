// crossio/consumer-lifetime
//
// Real bug: the relay's broadcaster kept raw pointers to its consumers and
// destroyed a consumer (slow, disconnected) while that consumer's send fiber
// was parked in the middle of a send, still holding it: when the send
// completed, the fiber wrote into freed memory — a use-after-free.
//
// In production the removal ran on a plain cleanup thread, which also
// signalled the consumer's Evented state from outside the fiber runtime.
//
// broken:  the cleanup thread closes (signals) and deletes a slow consumer
//          while its send fiber is parked holding a raw pointer; the fiber
//          resumes and touches it. The canary check reports it (ASan builds:
//          heap-use-after-free).
// checked: the same with the affinity checker on: the cleanup thread's
//          signal on the consumer's Evented event is reported.
// fixed:   shared ownership — the send fiber holds a std::shared_ptr and the
//          removal runs as a fiber, so it only drops the broadcaster's
//          reference; the consumer is destroyed after its last send.
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "io/affinity.h"
#include "io/io.h"
#include "repro/common/repro_main.h"
#include "repro/crossio/quarantine.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kAlive = 0xC0FFEE00C0FFEE00ULL;

struct Consumer {
  std::uint64_t canary = kAlive;
  std::uint64_t frames_sent = 0;
  bool slow = false;
  std::unique_ptr<io::Event> closed;  // Evented: set when the broadcaster drops it
};

}  // namespace

int main(int argc, char** argv) {
  repro::ReproSpec spec{"crossio/consumer-lifetime",
                        "a broadcaster frees a consumer while its send fiber still uses it: use-after-free",
                        {"broken", "checked", "fixed"},
                        "broken",
                        50,
                        8};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    const bool broken = args.variant != "fixed";
    repro::Quarantine quarantine;
    long touched_after_free = 0, sends = 0;
    for (std::uint64_t round = 0; round < args.iterations; ++round) {
      // The broadcaster's table of consumers.
      std::vector<Consumer*> raw;
      std::vector<std::shared_ptr<Consumer>> owned;
      for (unsigned c = 0; c < args.fibers; ++c) {
        auto* consumer = new Consumer{kAlive, 0, c == 0, io->make_event("consumer.closed")};
        if (broken)
          raw.push_back(consumer);
        else
          owned.emplace_back(consumer);
      }
      std::vector<io::TaskHandle> senders;
      for (unsigned c = 0; c < args.fibers; ++c) {
        Consumer* raw_ptr = broken ? raw[c] : nullptr;
        std::shared_ptr<Consumer> shared = broken ? nullptr : owned[c];
        senders.push_back(io->spawn([&, raw_ptr, shared] {
          Consumer* me = broken ? raw_ptr : shared.get();
          io->sleep_for(me->slow ? 2ms : 100us);  // a send in flight (slow consumer: long)
          if (me->canary != kAlive) {
            ++touched_after_free;
            return;
          }
          ++me->frames_sent;
          ++sends;
        }));
      }
      // The broadcaster decides the slow consumer is gone and destroys it,
      // while its send fiber is still parked.
      io->block_on([&] { io->sleep_for(500us); });
      if (broken) {
        std::thread cleanup([&] {
          raw[0]->closed->set();  // an Evented primitive from a plain thread
          quarantine.retire(raw[0]);
          raw[0] = nullptr;
        });
        cleanup.join();
      } else {
        io->spawn([&] {
            owned[0]->closed->set();
            owned[0].reset();  // only the broadcaster's reference
          }).join();
      }
      for (auto& s : senders) s.join();
      for (auto* c : raw)
        if (c) quarantine.retire(c);
    }
    rec.details["sends"] = sends;
    rec.details["sends_on_freed_consumer"] = touched_after_free;
    rec.outcome = touched_after_free == 0 ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = std::to_string(touched_after_free) + " sends resumed on a freed consumer, " + std::to_string(sends) +
                  " completed";
  });
}
