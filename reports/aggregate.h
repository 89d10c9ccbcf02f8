// Aggregation: the numbers every output shares (matrix, rates, intervals).
//
// Contract: the outcome matrix is counted from the records themselves, one
// cell per (scenario, variant, build configuration). A matrix.json whose
// directory also holds runs.jsonl records adds nothing (the harness writes
// both; the records are the truth); a matrix.json shipped alone adds its
// cells ({scenario, variant, build, runs|attempts, failures, outcomes{}}),
// except cells a record already covers, so nothing is counted twice. A build
// configuration is the build type plus the compiler plus a sanitizer tag, so
// "RelWithDebInfo · GNU-12.2.0" and "RelWithDebInfo · Clang-14.0.6" are
// separate columns. Rates carry a Wilson 95% score interval, which stays
// inside [0, 1] and is honest at 0/n and n/n where the normal one is not.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "reports/load.h"

namespace faultline::reports {

struct Interval {
  double low = 0, high = 0;
};
Interval wilson95(std::size_t failures, std::size_t runs);

// "RelWithDebInfo · GNU-12.2.0 · asan"; "unknown build" when nothing is recorded.
std::string build_label(const record::BuildInfo& b);

struct Cell {
  std::size_t runs = 0;
  std::size_t failures = 0;
  std::map<std::string, std::size_t> outcomes;  // outcome name -> count
};

struct Matrix {
  std::vector<std::string> rows;                              // "scenario [variant]"
  std::vector<std::string> builds;                            // column labels
  std::map<std::pair<std::string, std::string>, Cell> cells;  // (row, build) -> counts
  std::map<std::string, Cell> per_build;
  std::map<std::string, Cell> per_row;
  Cell total;
  std::size_t from_matrix_json = 0;  // runs counted from matrix.json cells
};

std::string row_label(const std::string& scenario, const std::string& variant);
Matrix build_matrix(const RunSet& set);

// Time to failure of a failing run: iterations when recorded
// (details.iterations_to_failure / iterations_to_first_failure /
// first_failure_iteration / failed_at_iteration), else duration_s.
struct TimeToFailure {
  std::vector<double> iterations;
  std::vector<double> seconds;
};
TimeToFailure time_to_failure(const RunSet& set);

}  // namespace faultline::reports
