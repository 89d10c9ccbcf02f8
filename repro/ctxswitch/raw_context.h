// The record side of the ctxswitch/* repros: parameters from the command
// line, the verdict, the build flags and a watchdog. The fibers themselves are
// in fibers.h (lean, so a scenario's switch unit can be opt-bisected alone).
//
// Contract:
//  - `judge` compares the digests with the straight-line computation and
//    fills the record (pass, or fail naming how many fibers lost state).
//  - `arm_watchdog` turns a hang (a corrupted loop that never ends) into a
//    `hang` verdict: exit 1 after the given seconds.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/record/result_record.h"
#include "repro/common/repro_main.h"
#include "repro/ctxswitch/fibers.h"
#include "repro/ctxswitch/workload.h"

namespace faultline::repro::ctxswitch {

inline Params params_from(const ReproArgs& args) {
  return Params{args.fibers, args.iterations, args.seed};
}

// Compares `digests` with the straight-line reference and fills rec.
inline void judge(const Params& p, const std::vector<std::uint64_t>& digests, record::ResultRecord& rec) {
  std::uint64_t got = checksum(digests);
  std::uint64_t want = expected_checksum(p);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(got));
  rec.details["checksum"] = buf;
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(want));
  rec.details["expected_checksum"] = buf;
  rec.details["switches"] = static_cast<std::uint64_t>(p.fibers) * (p.iterations + 1) * 2;
  unsigned wrong = 0;
  for (unsigned k = 0; k < p.fibers; ++k)
    if (fiber_loop(k, p, no_observer, no_observer) != digests[k]) ++wrong;
  rec.details["fibers_with_wrong_state"] = wrong;
  if (got == want) {
    rec.outcome = record::Outcome::pass;
    rec.summary = "checksum matches the straight-line computation";
  } else {
    rec.outcome = record::Outcome::fail;
    rec.summary = "wrong checksum: " + std::to_string(wrong) + " of " + std::to_string(p.fibers) +
                  " fibers lost state across a context switch";
  }
}

// The compile flags this program was built with (set by ctxswitch/CMakeLists).
inline void note_build(record::ResultRecord& rec) {
#ifdef FL_CTX_CXX_FLAGS
  rec.details["cxx_flags"] = FL_CTX_CXX_FLAGS;
#endif
#ifdef __OPTIMIZE__
  rec.details["optimized"] = true;
#else
  rec.details["optimized"] = false;
#endif
}

namespace detail {
inline void on_watchdog(int) {
  static const char msg[] = "ctxswitch: watchdog fired, the run hung (verdict: hang)\n";
  ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)n;
  _exit(record::kExitFail);
}
}  // namespace detail

inline void arm_watchdog(const ReproArgs& args) {
  std::signal(SIGALRM, detail::on_watchdog);
  alarm(static_cast<unsigned>(args.get_int("timeout", 20)));
}

}  // namespace faultline::repro::ctxswitch
