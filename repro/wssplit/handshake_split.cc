// wssplit/handshake-split — the WebSocket handshake split mid-CRLF.
//
// Real-world bug: an AT Protocol relay's client read the server's 101 response
// by scanning buf[line_start..pos] for '\r' and then setting
// line_start = line_end + 2. When TCP delivered the response in two reads cut
// between '\r' and '\n', line_start passed pos and the next slice had
// start > end: a bounds panic in safe builds, a silent SIGSEGV every 30–90 min
// over ~2,800 reconnecting connections in fast builds. Two fixes followed
// before the reader was right.
//
// One program, four variants (the history in order), because they share the
// server, the sweep and the prediction, and `--variant` then selects the
// reader exactly as `faultline repro run` selects a variant elsewhere:
//   buggy                 original arithmetic: crashes on every mid-CRLF split
//   partial-fix           `if (line_start > pos) break;` after slicing: the
//                         split line is dropped, the handshake fails
//   blank-line-underflow  headers fixed, but the over-read length of the
//                         final blank line underflows: crashes on one offset
//   fixed                 HandshakeReader (repro/wssplit/handshake_reader.h)
// Each run sweeps every 2-way split offset (or, with --mode 3way, offset
// pairs, capped by --max-pairs), one forked client per attempt, and prints how
// many pass / fail / crash and whether the failing offsets are exactly the
// predicted mid-CRLF ones (computed from the response bytes).
//
// Options (besides the common ones; --seed picks the keys and the 3-way
// sample, --iterations repeats the sweep):
//   --mode 2way|3way     --max-pairs N (3way sample size, default 1000)
//   --family v4|v6       --guard-page on|off (on: a PROT_NONE page follows the
//   4 KiB read buffer, so the first out-of-bounds read faults deterministically;
//   off: a heap buffer, where the wild scan may crash or misread)
//   --pause-us N (extra pause per split)   --timeout-ms N (per attempt)
//
// Exit: 0 every attempt passed (expected for `fixed`), 1 some attempt failed
// or crashed (expected for the three broken variants), 77 no loopback here.
#include <cstdio>
#include <stdexcept>

#include "repro/common/repro_main.h"
#include "repro/wssplit/sweep.h"

namespace sw = faultline::wssplit::sweep;
using faultline::record::Outcome;

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec;
  spec.scenario = "wssplit/handshake-split";
  spec.description =
      "WebSocket 101 response split at every byte offset: readers from the history crash or lose headers on "
      "mid-CRLF splits";
  spec.variants = {"buggy", "partial-fix", "blank-line-underflow", "fixed"};
  spec.default_variant = "buggy";
  spec.default_iterations = 1;
  spec.default_fibers = 1;

  return faultline::repro::repro_main(
      argc, argv, spec, [](const faultline::repro::ReproArgs& args, faultline::record::ResultRecord& rec) {
        sw::Options opt;
        opt.variant = *sw::variant_from_string(args.variant);
        opt.seed = args.seed;
        const std::string mode = args.get("mode", "2way");
        if (mode != "2way" && mode != "3way") throw std::invalid_argument("--mode must be 2way or 3way");
        const std::string family = args.get("family", "v4");
        if (family != "v4" && family != "v6") throw std::invalid_argument("--family must be v4 or v6");
        opt.ipv6 = family == "v6";
        const std::string guard = args.get("guard-page", "on");
        if (guard != "on" && guard != "off") throw std::invalid_argument("--guard-page must be on or off");
        opt.guard_page = guard == "on";
        opt.pause_us = static_cast<unsigned>(args.get_int("pause-us", 0));
        opt.timeout_ms = static_cast<unsigned>(args.get_int("timeout-ms", 2000));
        const auto max_pairs = static_cast<std::size_t>(args.get_int("max-pairs", 1000));
        const int ways = mode == "3way" ? 3 : 2;

        std::size_t bad = 0, hangs = 0, attempts = 0;
        bool matches = true;
        sw::Report first;
        for (std::uint64_t i = 0; i < args.iterations; ++i) {
          sw::Report r;
          try {
            r = sw::run(opt, ways, max_pairs);
          } catch (const std::runtime_error& e) {
            rec.outcome = Outcome::skip;
            rec.summary = std::string("cannot set up a loopback server: ") + e.what();
            rec.details["reason"] = rec.summary;
            return;
          }
          std::fputs(sw::format(r).c_str(), stderr);
          bad += r.fail + r.crash + r.hang;
          hangs += r.hang;
          attempts += r.attempts.size();
          matches = matches && r.matches_prediction();
          if (i == 0) first = std::move(r);
          opt.seed += 1;
        }
        rec.details["sweep"] = sw::to_json(first);
        rec.details["sweeps"] = args.iterations;
        rec.details["mode"] = mode;
        rec.details["family"] = family;
        rec.details["guard_page"] = opt.guard_page;
        rec.details["misbehaved_attempts"] = bad;
        rec.details["matches_prediction"] = matches;
        if (bad == 0) {
          rec.outcome = Outcome::pass;
        } else {
          rec.outcome = hangs == bad ? Outcome::hang : Outcome::fail;
        }
        rec.summary = std::to_string(attempts - bad) + "/" + std::to_string(attempts) + " splits passed (fail " +
                      std::to_string(first.fail) + ", crash " + std::to_string(first.crash) + ", hang " +
                      std::to_string(first.hang) + " in sweep 1); failing splits " +
                      (matches ? "match" : "do NOT match") + " the mid-CRLF prediction";
      });
}
