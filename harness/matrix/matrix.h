// Build comparison: one scenario (or a whole family) × CMake presets × the
// scenario's variants, each cell run N times through the same capture as
// `faultline run`, summarised as a table and as matrix.json.
//
// Contract:
//  - For each preset P: `cmake --preset P` when build/P has no build.ninja yet
//    (existing trees are reused), then `cmake --build build/P --target T` of
//    the scenario's repro target only. T and the program path come from
//    build/P/repro/catalog.json; the variants from `<program> --describe`.
//    A failed configure/build marks that preset's cells `error` with the log.
//  - Every attempt appends its ResultRecord to <results>/<run-id>/runs.jsonl
//    (build.preset set, details.matrix_cell naming the cell).
//  - Sanitizer presets (asan, gcc-asan, tsan, ubsan) are builds like any
//    other; a cell whose attempts produced sanitizer reports carries the
//    report's tool, kind and first own frame (table: one line per such cell).
//  - `--shard i/n` is applied to the attempt index of every cell, so n
//    machines run disjoint attempts of the same matrix; the report merges
//    matrix-shard<i>.json files (or their runs.jsonl) by cell.
#pragma once

#include "repro/common/catalog.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/run/child.h"

namespace faultline::harness {

struct MatrixOptions {
  std::vector<std::string> scenarios;  // exact names; or
  std::string family;                  // every scenario "family/..." in the catalog
  std::vector<std::string> builds{"debug", "relwithdebinfo", "release", "minsizerel", "clang-debug", "clang-release"};
  std::vector<std::string> variants;  // empty = all the program describes
  std::vector<std::string> extra_args;
  std::uint64_t repeat = 5;
  unsigned jobs = 1;
  unsigned shard_index = 0, shard_count = 1;
  std::filesystem::path source_dir;  // holds CMakePresets.json
  std::filesystem::path build_root;  // default <source>/build
  bool build = true;                 // configure/build presets (false: use the trees as they are)
  std::filesystem::path results_root = "results";
  std::string run_id;
  ChildOptions child;  // timeout, crash lib, hang stacks (command is filled per cell)
  nlohmann::json environment;
  bool progress = false;
  // --bisect-opt: for every clang build and every variant that failed there,
  // find the first failing -opt-bisect-limit (bisect.h: run_opt_bisects).
  bool bisect_opt = false;
  std::uint64_t bisect_repeat = 3;  // attempts per probe; any failure = fails
};

struct MatrixCell {
  std::string scenario, build, variant;
  std::map<std::string, std::uint64_t> outcomes;  // outcome key -> count
  std::uint64_t attempts = 0, failures = 0;
  std::string error;  // build/config/describe problem
  std::string first_failure;
  // Sanitizer presets (asan, tsan, ...): what the sanitizer named, from the
  // earliest attempt with a report — {tool, kind, function, location} (the
  // first frame in the program's own code); null when no attempt had one.
  nlohmann::json sanitizer;
};

struct MatrixResult {
  std::string run_id;
  std::filesystem::path dir;
  std::vector<MatrixCell> cells;
  nlohmann::json bisects = nlohmann::json::array();  // {scenario, build, variant, result}
};

MatrixResult run_matrix(const MatrixOptions& opt);
std::string format_matrix_table(const MatrixResult& r);
nlohmann::json to_json(const MatrixResult& r);

// The scenario -> program map of one build tree's catalog.json.
using repro::CatalogEntry;
// The preset's repro catalog (repro/common/catalog.h), or nothing when it is
// missing or malformed: the matrix reports that per build instead of failing.
std::vector<CatalogEntry> read_catalog_or_empty(const std::filesystem::path& catalog_json);

}  // namespace faultline::harness
