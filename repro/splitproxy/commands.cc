// Command-line surface of splitproxy: option parsing and validation only;
// the proxy itself is in splitproxy.cc. Options are kept in a shared_ptr
// because CLI11 fills them after add_commands() has returned.
#include "repro/splitproxy/commands.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "repro/splitproxy/splitproxy.h"

namespace faultline::splitproxy {

void add_commands(CLI::App& app) {
  struct Args {
    std::string listen, to, split, direction = "both";
    Options opt;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "splitproxy",
      "TCP proxy (loopback only) that re-segments the stream at chosen byte offsets, both directions by default");
  sub->add_option("--listen", a->listen, "PORT or HOST:PORT to listen on (loopback; port 0 picks a free one)")
      ->required();
  sub->add_option("--to", a->to, "HOST:PORT of the server to relay to (must be loopback)")->required();
  sub->add_option("--split", a->split,
                  "every (connection n splits at offset n) | random | dribble | N,M,... (offsets on every "
                  "connection)")
      ->required();
  sub->add_option("--seed", a->opt.seed, "seed for --split random")->capture_default_str();
  sub->add_option("--direction", a->direction, "both | down (server-to-client) | up (client-to-server)")
      ->capture_default_str();
  sub->add_option("--pause-us", a->opt.pause_us, "pause after each split, after the piece is acknowledged")
      ->capture_default_str();
  sub->add_option("--max-gap", a->opt.max_gap, "largest gap between random splits (bytes)")->capture_default_str();
  sub->add_option("--dribble-bytes", a->opt.dribble_bytes, "dribble: bytes sent one per write, per direction")
      ->capture_default_str();
  sub->add_option("--every-max", a->opt.every_max, "every: the offset cycles through 1..N")->capture_default_str();
  sub->add_option("--max-connections", a->opt.max_connections, "stop accepting after N connections (0: no limit)")
      ->capture_default_str();
  sub->add_option("--exit-after", a->opt.exit_after_s, "stop after S seconds (0: no limit)")->capture_default_str();
  sub->add_option("--idle-timeout", a->opt.idle_timeout_s, "close a direction idle for S seconds")
      ->capture_default_str();
  sub->add_flag("--verbose", a->opt.verbose, "one line per connection on stderr");
  sub->callback([a] {
    Options opt = a->opt;
    try {
      parse_endpoint(a->listen, opt.listen_host, opt.listen_port, /*port_only_ok=*/true);
      if (opt.listen_host.empty()) opt.listen_host = "127.0.0.1";
      parse_endpoint(a->to, opt.to_host, opt.to_port, /*port_only_ok=*/false);
      parse_split(a->split, opt);
      if (a->direction == "both")
        opt.direction = Direction::both;
      else if (a->direction == "up")
        opt.direction = Direction::up;
      else if (a->direction == "down")
        opt.direction = Direction::down;
      else
        throw std::invalid_argument("--direction must be both, up or down");
      if (opt.idle_timeout_s <= 0) throw std::invalid_argument("--idle-timeout must be positive");
    } catch (const std::invalid_argument& e) {
      std::cerr << "splitproxy: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
    int rc = run(opt, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace faultline::splitproxy
