// The common contract of every repro program (modelled on liburing's test/):
// one standalone program per defect, each exiting
//   0  pass  — the variant behaved correctly,
//   1  fail  — it misbehaved (wrong result, crash caught in-process, hang
//              detected by a watchdog),
//   77 skip  — it cannot run here (the reason is printed).
// A crash that kills the process is left to the harness to classify.
//
// Every program accepts:
//   --variant V  --iterations N  --fibers N  --seed S  --json  --describe
//   plus scenario-specific `--name value` options (see ReproArgs::extra).
// With --json it prints exactly one ResultRecord line on stdout (the schema
// in harness/record/result_record.h); the human verdict goes to stderr.
// With --describe it prints the ReproSpec as JSON and exits 0.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/record/result_record.h"

namespace faultline::repro {

struct ReproSpec {
  std::string scenario;     // "family/name"
  std::string description;  // one line
  std::vector<std::string> variants;
  std::string default_variant;
  std::uint64_t default_iterations = 1000;
  unsigned default_fibers = 4;
};

struct ReproArgs {
  std::string variant;
  std::uint64_t iterations = 0;
  unsigned fibers = 0;
  std::uint64_t seed = 1;
  bool json = false;
  std::map<std::string, std::string> extra;  // --key value pairs not listed above

  std::string get(const std::string& key, const std::string& fallback) const;
  std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
};

// The scenario body: sets rec.outcome (pass, fail, hang, skip), rec.summary
// and rec.details. An exception escaping it is recorded as `fail`.
using ReproBody = std::function<void(const ReproArgs&, record::ResultRecord& rec)>;

int repro_main(int argc, char** argv, const ReproSpec& spec, const ReproBody& body);

// Writes the record line now (used by a body that is about to do something
// that may kill the process, so a JSON consumer still sees what was running).
void print_progress(const std::string& line);

}  // namespace faultline::repro
