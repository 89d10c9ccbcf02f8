// The result record: the one schema every faultline producer writes and every
// consumer reads. A repro run, a harness run, a matrix cell and a stress run all
// end as one ResultRecord, serialised as one JSON object per line (JSON Lines)
// into results/<run-id>/runs.jsonl. The report generator reads these back.
//
// Contract:
//  - `schema` names the version; readers accept records with missing optional
//    fields (older producers) and ignore unknown fields (newer producers).
//  - `outcome` is one of the Outcome names below. `pass` means the target
//    behaved correctly; everything else is a failure of some kind, except
//    `skip` (could not run here; `details.reason` says why).
//  - `details` is free-form per scenario (counts, offsets, rates); `crash`,
//    `sanitizer`, `hang`, `environment` are filled by the harness when known.
//
// The full field list with meanings is documented in harness/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace faultline::record {

inline constexpr std::string_view kSchema = "faultline.result/1";

enum class Outcome {
  pass,          // behaved correctly
  fail,          // misbehaved but survived: wrong result, lost data, detected misuse
  exit_failure,  // exited non-zero without a more specific classification
  crash,         // killed by a signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, ...)
  abort,         // SIGABRT: assertion, std::terminate, affinity-checker abort
  sanitizer,     // a sanitizer report (ASan/TSan/UBSan/LSan)
  hang,          // no exit within the timeout, or an in-process watchdog fired
  oom,           // killed for memory (SIGKILL by the OOM killer or a limit)
  skip,          // cannot run here (exit 77): no PMU, no io_uring, no clang, ...
  error,         // the tool itself failed to run the target
};

std::string_view to_string(Outcome o);
std::optional<Outcome> outcome_from_string(std::string_view s);
// True for every outcome that counts as a failure of the target.
bool is_failure(Outcome o);

// Exit codes shared by every repro and test (CTest SKIP_RETURN_CODE is 77).
inline constexpr int kExitPass = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitSkip = 77;
int exit_code_for(Outcome o);

struct BuildInfo {
  std::string type;      // Debug, RelWithDebInfo, Release, MinSizeRel (+ sanitizer)
  std::string compiler;  // GNU-12.2.0, Clang-14.0.6
  std::string flags;     // the optimisation flags that matter, e.g. "-O2 -g"
  std::string preset;    // CMake preset name when known
};

// The build this binary was compiled in (from compile definitions).
BuildInfo this_build();

struct ResultRecord {
  std::string schema{kSchema};
  std::string run_id;     // unique per run (see new_run_id)
  std::string timestamp;  // ISO 8601 UTC, when the run started
  std::string scenario;   // e.g. "ctxswitch/missing-clobber", or a command line
  std::string variant;    // e.g. "broken", "fixed", "partial-fix"
  BuildInfo build;
  Outcome outcome = Outcome::pass;
  std::optional<int> exit_code;
  double duration_s = 0;
  std::string summary;  // one human line: what happened
  nlohmann::json details = nlohmann::json::object();
  nlohmann::json crash;        // signal, si_code, address, registers, backtrace
  nlohmann::json sanitizer;    // kind, first frames, excerpt
  nlohmann::json hang;         // thread stacks, fiber states
  nlohmann::json environment;  // kernel, cpu, versions, io_uring/rr usability
  nlohmann::json artifacts;    // rr trace dir, core file, logs
};

nlohmann::json to_json(const ResultRecord& r);
// Lenient: missing fields take defaults; throws nlohmann::json::exception only
// when `j` is not an object.
ResultRecord from_json(const nlohmann::json& j);

// One line of JSON, no trailing newline.
std::string to_json_line(const ResultRecord& r);

// A fresh run id: UTC time + pid + random suffix, sortable by time.
std::string new_run_id();
std::string now_iso8601();

}  // namespace faultline::record
