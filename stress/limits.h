// Resource limits the stress run needs, checked before anything starts:
//  - open files: the fleet holds a listener + a connection per host
//    (2·hosts + slack), the relay a connection per host + consumers + its log
//    and database. RLIMIT_NOFILE's soft limit is raised to the hard limit
//    (children inherit it); a hard limit below the need is an error that says
//    the numbers.
//  - Threaded backend: one OS thread per host in the relay — kernel
//    threads-max, pid_max, RLIMIT_NPROC (not enforced for root) and the
//    cgroup's pids.max must leave room for hosts + slack.
//  - vm.max_map_count (thread stacks and fiber stacks with guard pages are
//    two mappings each) and the ephemeral port range (the fleet's listeners
//    and the relay's upstream connections both take one per host).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::stress {

struct LimitCheck {
  bool ok = true;
  std::vector<std::string> problems;  // each says what is needed and how to get it
  std::vector<std::string> notes;     // adjustments made (soft limit raised, ...)
  nlohmann::json facts;               // the numbers read
};

// `threaded`: the relay runs one thread per host.
LimitCheck check_limits(std::uint32_t hosts, std::uint32_t consumers, bool threaded);

}  // namespace faultline::stress
