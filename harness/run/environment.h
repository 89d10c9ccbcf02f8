// The environment block of a result record and the rr usability probe.
//
// Contract:
//  - collect_environment() gathers facts about this machine once (kernel,
//    CPU model and flags, glibc/liburing/Boost versions, git commit of the
//    source tree, io_uring usability tried with io_uring_queue_init, rr
//    usability from probe_rr()). It spawns a few bounded helpers (git,
//    dpkg-query, rr) and takes well under a second when rr is missing or fails
//    fast.
//  - probe_rr() runs `rr record /bin/true` in a temporary trace dir and
//    explains, when rr cannot work, exactly why: rr missing, no hardware PMU
//    (rr's own message plus perf_event_open of a cycles counter), the
//    perf_event_paranoid level, seccomp, a container or VM.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct RrProbe {
  bool usable = false;
  std::string reason;       // one paragraph, why not (empty when usable)
  std::string rr_version;   // `rr --version`, empty when missing
  nlohmann::json evidence;  // the facts behind the reason
};

RrProbe probe_rr();
nlohmann::json to_json(const RrProbe& p);

// io_uring usability: {usable, error}.
nlohmann::json probe_io_uring();

// `rr` may be null (not probed yet): the block then says "not probed".
nlohmann::json collect_environment(const RrProbe* rr);

}  // namespace faultline::harness
