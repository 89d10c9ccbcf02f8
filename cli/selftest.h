// `faultline selftest`: exercises one backend of faultline::io end to end
// (tasks, every primitive, loopback TCP on IPv4 and IPv6, the bridge) and
// prints what it did with timings and thread counts. The demo runs it for
// both backends.
#pragma once

#include <string>

#include "io/io.h"

namespace CLI {
class App;
}

namespace faultline::cli {

struct SelftestOptions {
  io::Backend backend = io::Backend::evented;
  std::string reactor = "auto";  // auto | uring | epoll (Evented only)
  unsigned tasks = 0;            // 0: 10,000 fibers or 1,000 threads
};

// Returns true when every check passed; prints one line per check.
bool run_selftest(const SelftestOptions& options);

void add_selftest_command(CLI::App& app);

}  // namespace faultline::cli
