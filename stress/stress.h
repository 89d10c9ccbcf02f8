// `faultline stress`: the fleet, the relay under test and the verifying
// consumers together, sampled every second; one summary per run, result
// records and a time series `faultline report` charts. See stress/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::stress {

struct StressOptions {
  std::uint32_t hosts = 2800;
  double rate = 2000;  // events/s over all hosts
  std::uint32_t consumers = 8;
  double duration_s = 30;
  bool ci = false;
  std::string backend = "evented";
  std::string inject;  // passed to `faultline relay --inject`
  bool json = false;
  std::string out;  // results directory; default <root>/results/stress-<run id>
  bool compare = false;
  bool find_max_rate = false;
  double step_s = 8;            // --find-max-rate: measured seconds per step
  double settle_s = 2;          // --find-max-rate: seconds before each step's window
  double max_p99_ms = 100;      // --find-max-rate: a step holds while p99 ≤ this
  double rate_cap = 200'000;    // --find-max-rate: never above this
  std::string fsync;            // passed to the relay when set
  std::uint64_t seed = 1;
  double zipf = 1.0;
  std::uint32_t accounts = 20'000;
  std::vector<std::string> fleet_commands;  // "[@T:]action=...&hosts=..." (see README)
  bool chaos = false;                       // a standard mix of misbehaving hosts
  std::vector<std::string> relay_args;      // extra arguments for `faultline relay`
  std::string relay_exe;                    // default: this executable
  double startup_timeout_s = 90;
  double drain_timeout_s = 30;
  double reconnect_every_s = 5;
  std::int64_t slow_threshold = 2 * 16'384;  // slow consumer: own-count fallback (see consumer.h)
  std::int64_t consumer_buffer = 16'384;     // the relay's --consumer-buffer
  bool keep_data = false;
  bool progress = true;
  unsigned scheduler_threads = 0;  // stress process's Evented threads (0: per core)
};

// Applies --ci (unless the user set the values explicitly, the caller
// decides) — exposed for the CLI and tests.
void apply_ci_profile(StressOptions& o);

// Runs what the options ask for (one backend, --compare or --find-max-rate);
// prints the progress on stderr and the summary (text, or JSON with --json)
// on stdout. Returns the exit code: 0 invariants held, 1 an invariant broke
// (the summary says which), 2 usage or set-up error, 77 cannot run here
// (no relay in this build, limits).
int run_stress(StressOptions options);

// The summary's side-by-side of two backends (threaded / evented ratios).
nlohmann::json compare_summaries(const nlohmann::json& evented, const nlohmann::json& threaded);

}  // namespace faultline::stress
