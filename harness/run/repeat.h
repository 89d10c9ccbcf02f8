// Repetition: run one target N times, until it fails, or for a time budget,
// on J parallel workers, appending one ResultRecord per attempt to
// <results>/<run-id>/runs.jsonl and printing progress on a TTY.
//
// Contract:
//  - Each record line is written with a single write(2) on an O_APPEND file as
//    soon as its attempt is classified, so records of finished attempts
//    survive whatever happens to later ones (or to the harness).
//  - Attempt indices are global: with --shard i/n only indices k with
//    k % n == i run here, so n machines together run exactly the N attempts.
//  - Every loop is bounded: by `repeat` attempts and by `max_time_s` when set.
//  - The summary carries the failure rate with its Wilson 95 % interval and the
//    time / attempt index of the first failure; it is also written to
//    <results>/<run-id>/summary.json.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/record/result_record.h"
#include "harness/run/child.h"

namespace faultline::harness {

struct RepeatOptions {
  ChildOptions child;
  std::uint64_t repeat = 1;
  bool until_fail = false;
  double max_time_s = 0;  // 0 = no time budget
  unsigned jobs = 1;
  unsigned shard_index = 0, shard_count = 1;
  std::filesystem::path results_root = "results";
  std::string run_id;  // empty: a fresh one
  std::string scenario, variant;
  record::BuildInfo build;
  nlohmann::json environment;
  nlohmann::json extra_details = nlohmann::json::object();  // merged into every record's details
  bool progress = false;                                    // redraw a progress line on stderr
  std::string label;                                        // prefix of the progress line
  std::string attempt_prefix = "attempt-";                  // per-attempt artifact dir name prefix
  bool write_summary = true;                                // write summary.json into the run dir
};

struct RepeatSummary {
  std::string run_id;
  std::filesystem::path dir;
  std::uint64_t attempts = 0, failures = 0, skips = 0;
  std::map<std::string, std::uint64_t> outcomes;  // outcome (+ signal) -> count
  std::optional<std::uint64_t> first_failure_index;
  std::optional<double> first_failure_s;
  double elapsed_s = 0;
  double rate = 0, ci_low = 0, ci_high = 1;
  bool stopped_by_time = false, stopped_by_failure = false, interrupted = false;
  std::vector<std::string> failure_summaries;  // first few, for the console
  std::vector<std::string> rr_replays;
  // The sanitizer report of the earliest attempt that had one: {tool, kind,
  // frames (its first frames), attempt}; null when no attempt had a report.
  nlohmann::json first_sanitizer;
};

nlohmann::json to_json(const RepeatSummary& s);
std::string format_summary(const RepeatSummary& s);

// Set by the CLI's SIGINT handler: running attempts are killed and recorded.
std::atomic<bool>& interrupt_flag();

// A short outcome key for tables: "pass", "fail", "SIGSEGV/SI_KERNEL", "hang"...
std::string outcome_key(const record::ResultRecord& r);

RepeatSummary run_repeated(const RepeatOptions& opt);

}  // namespace faultline::harness
