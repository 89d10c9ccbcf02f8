// splitproxy: a loopback TCP proxy that re-segments the byte stream at chosen
// offsets, so any client or server can be put through the TCP segmentations
// that broke the relay's handshake reader (DESIGN.md, "handshake split
// mid-CRLF") without touching its code.
//
// Contract:
//  - Loopback only, both ends: the listen address and every address --to
//    resolves to must be in 127.0.0.0/8 or ::1; anything else is refused
//    with a clear error before a socket is opened.
//  - Both directions are re-segmented by default (client→server "up",
//    server→client "down"); --direction restricts it. Offsets count bytes of
//    one direction of one connection, from 0.
//  - At a split offset the proxy has written exactly the bytes before it in
//    one or more writes, then waits until the kernel reports them
//    acknowledged (SIOCOUTQ == 0, bounded) plus `pause_us`, so the peer's read
//    returns them apart from what follows. The bytes relayed are never
//    changed, dropped, duplicated or reordered; only the segmentation is.
//  - Plans: `every` — connection n (1, 2, ...) splits its stream once at
//    offset ((n-1) mod every_max) + 1, so a client that reconnects sweeps
//    every offset; `N,M,...` — splits at those offsets on every connection;
//    `random` — seeded gaps of 1..max_gap bytes; `dribble` — one byte per
//    write for the first dribble_bytes bytes.
//  - Bounded: --max-connections, --exit-after and --idle-timeout stop it;
//    SIGINT/SIGTERM stop it cleanly. Exit 0 on a clean stop, 2 on bad
//    arguments, 1 when it cannot listen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace faultline::splitproxy {

enum class SplitMode { every, list, random, dribble };
enum class Direction { both, up, down };

struct Options {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: the kernel picks; the chosen port is printed
  std::string to_host;
  std::uint16_t to_port = 0;
  SplitMode mode = SplitMode::every;
  std::vector<std::size_t> offsets;  // for SplitMode::list, ascending, > 0
  std::uint64_t seed = 1;
  Direction direction = Direction::both;
  unsigned pause_us = 2000;
  std::size_t max_gap = 64;           // random
  std::size_t dribble_bytes = 4096;   // dribble
  std::size_t every_max = 1024;       // every: offsets cycle through 1..every_max
  std::uint64_t max_connections = 0;  // 0: no limit
  double exit_after_s = 0;            // 0: no limit
  double idle_timeout_s = 60;
  bool verbose = false;
};

// Parses "every", "random", "dribble" or "N,M,..." into opt. Throws
// std::invalid_argument with a message naming the bad part.
void parse_split(const std::string& spec, Options& opt);
// Parses "PORT", "HOST:PORT" or "[V6]:PORT". Throws std::invalid_argument.
void parse_endpoint(const std::string& spec, std::string& host, std::uint16_t& port, bool port_only_ok);

// Where one direction of one connection is cut.
class SplitPlan {
 public:
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  SplitPlan(const Options& opt, std::uint64_t connection, int direction);
  // The smallest split offset strictly greater than pos (pos only grows).
  std::size_t next_after(std::size_t pos);

 private:
  const Options& opt_;
  std::size_t every_at_ = 0;
  std::size_t random_at_ = 0;
  std::mt19937_64 rng_;
};

// Runs the proxy until a stop condition. Messages go to `err`; the
// "listening on" line goes to stdout (flushed) so a script can read the port.
int run(const Options& opt, std::ostream& err);

}  // namespace faultline::splitproxy
