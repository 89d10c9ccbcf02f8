// Loading and merging result directories.
//
// Contract: load_runs() takes any mix of result directories, run directories
// and runs.jsonl files, finds every run directory beneath them (a directory
// holding runs.jsonl, matrix.json or timeseries.jsonl), and merges them into
// one RunSet. It never throws on bad input: a line that is not a JSON object
// is skipped and counted, a missing path becomes a warning, a record whose
// run_id was already seen (shards from several machines overlap) is dropped
// and counted. Records from older producers with missing fields load with
// defaults; the raw JSON is kept so fields the schema struct does not model
// (a recorded command line, say) stay reachable.
//
// Time series (stress runs) come from two places, see reports/README.md:
// `timeseries.jsonl` in a run directory (one sample object per line) and a
// record's `details.timeseries` (an array of samples, or {"samples": [...]}).
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/record/result_record.h"

namespace faultline::reports {

struct Run {
  record::ResultRecord rec;
  nlohmann::json raw;  // the line as read, for fields the struct does not model
  std::string source;  // "path/runs.jsonl:12"
  std::string dir;     // the run directory it came from
};

// One stress time series: samples ordered by t, each a flat map of numbers.
struct TimeSeries {
  std::string label;  // "stress/fleet [evented] RelWithDebInfo" or the dir name
  std::string run_id;
  std::string source;
  std::vector<std::map<std::string, double>> samples;  // always holds "t"
};

struct RunSet {
  std::vector<Run> runs;                 // unique by run id, in input order
  std::vector<nlohmann::json> matrices;  // every matrix.json, as parsed
  std::vector<std::string> matrix_sources;
  // Per matrix: did its own directory also hold records? Then the records
  // are the truth and the matrix's cell counts must not be added again.
  std::vector<bool> matrix_has_records;
  std::vector<TimeSeries> series;
  std::vector<std::string> inputs;    // the paths given
  std::vector<std::string> run_dirs;  // every run directory found
  std::vector<std::string> warnings;  // human-readable, one per problem
  std::size_t files_read = 0;
  std::size_t lines_read = 0;
  std::size_t malformed_lines = 0;
  std::size_t duplicates_dropped = 0;
  std::set<std::string> seen_ids;  // run ids (or content hashes) already taken
};

RunSet load_runs(const std::vector<std::string>& paths);

// Parses one runs.jsonl text into `set` (used by load_runs and by tests).
void load_jsonl_text(const std::string& text, const std::string& source, const std::string& dir, RunSet& set);

}  // namespace faultline::reports
