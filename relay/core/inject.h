// Fault injection: `faultline relay --inject NAME[,NAME...]` swaps the fixed
// code of one pipeline stage for the broken variant of the matching repro, so
// the stress suite can show each catalogued defect under realistic load.
// Without --inject none of the broken code paths is reachable: every stage
// reads its switch from one immutable Injections value fixed at start-up.
//
//   ws-split-bug       upstream handshakes use the historical mid-CRLF reader
//                      (repro wssplit/handshake-split, variant buggy)
//   crossio-mutex      the per-account rev check runs on a bridge worker thread
//                      under the relay's Evented account mutex
//                      (repro crossio/evented-mutex-on-thread)
//   blocking-in-fiber  state flushes call SQLite directly on a scheduler thread
//                      instead of through the bridge (crossio/blocking-lock-in-fiber)
//   spin-wait          the ordered broadcast stage spin-waits for its
//                      predecessor with a give-up budget instead of parking
//                      (crossio/spin-wait-in-fiber)
//   consumer-uaf       the broadcaster keeps raw consumer pointers that a
//                      disconnecting consumer frees (crossio/consumer-lifetime)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::relay {

struct Injections {
  bool ws_split_bug = false;
  bool crossio_mutex = false;
  bool blocking_in_fiber = false;
  bool spin_wait = false;
  bool consumer_uaf = false;

  bool any() const { return ws_split_bug || crossio_mutex || blocking_in_fiber || spin_wait || consumer_uaf; }
  // "ws-split-bug,spin-wait" or "none".
  std::string to_string() const;
};

// Every name --inject accepts.
const std::vector<std::string_view>& injection_names();

// Parses a comma-separated list; nullopt and `error` set on an unknown name.
std::optional<Injections> parse_injections(std::string_view list, std::string& error);

}  // namespace faultline::relay
