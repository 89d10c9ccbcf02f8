// ctxswitch/fixed — the ctxswitch workload on context switches that are right
// by construction, as the baseline every broken ctxswitch/* variant is
// measured against.
//
// Real-world fix: stop hand-writing the switch. Boost.Context's fcontext
// switch (jump_fcontext, in assembly, not inline asm) saves every
// callee-saved register plus the x87 control word and MXCSR itself, so the
// compiler's register allocation cannot break it, and it builds the entry
// frame with the ABI's alignment. faultline's own Evented scheduler runs its
// fibers on it.
//
// Variants:
//   boost-context  the workload on raw boost::context::fiber, round-robin.
//   io-evented     the workload as tasks of faultline::io's Evented backend
//                  (one scheduler thread), yielding with Io::yield — the
//                  switch the relay itself runs on.
// Each must pass at every optimisation level with gcc and clang.
#include <boost/context/fiber.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/io.h"
#include "repro/ctxswitch/raw_context.h"

namespace fc = faultline::repro::ctxswitch;
namespace bctx = boost::context;

namespace {

std::vector<std::uint64_t> run_boost_context(const fc::Params& p) {
  std::vector<std::uint64_t> digests(p.fibers);
  std::vector<bctx::fiber> fibers;
  for (unsigned k = 0; k < p.fibers; ++k) {
    fibers.emplace_back([&p, &digests, k](bctx::fiber&& sink) {
      digests[k] = fc::fiber_loop(
          k, p, [&sink] { sink = std::move(sink).resume(); }, fc::no_observer);
      return std::move(sink);
    });
  }
  unsigned live = p.fibers;
  while (live > 0) {
    for (bctx::fiber& f : fibers) {
      if (!f) continue;
      f = std::move(f).resume();
      if (!f) --live;
    }
  }
  return digests;
}

std::vector<std::uint64_t> run_io_evented(const fc::Params& p) {
  namespace io = faultline::io;
  std::unique_ptr<io::Io> rt = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
  std::vector<std::uint64_t> digests(p.fibers);
  std::vector<io::TaskHandle> tasks;
  io::Io* raw = rt.get();
  for (unsigned k = 0; k < p.fibers; ++k) {
    tasks.push_back(raw->spawn(
        [raw, &p, &digests, k] {
          digests[k] = fc::fiber_loop(
              k, p, [raw] { raw->yield(); }, fc::no_observer);
        },
        "ctxswitch-" + std::to_string(k)));
  }
  for (io::TaskHandle& t : tasks) t.join();
  return digests;
}

}  // namespace

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec{
      "ctxswitch/fixed",
      "the ctxswitch workload on Boost.Context and on io's Evented scheduler: passes at every -O",
      {"boost-context", "io-evented"},
      "boost-context",
      20000,
      4};
  return faultline::repro::repro_main(argc, argv, spec, [](const auto& args, auto& rec) {
    fc::note_build(rec);
    fc::arm_watchdog(args);
    fc::Params p = fc::params_from(args);
    bool boost = args.variant == "boost-context";
    rec.details["switch"] = boost ? "boost::context::fiber (fcontext)" : "faultline::io Evented, 1 scheduler thread";
    faultline::repro::print_progress("ctxswitch/fixed [" + args.variant + "]: " + std::to_string(p.fibers) +
                                     " fibers x " + std::to_string(p.iterations) + " switches");
    fc::judge(p, boost ? run_boost_context(p) : run_io_evented(p), rec);
  });
}
