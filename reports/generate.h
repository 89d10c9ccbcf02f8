// The report generator's entry point, for the CLI and for `faultline demo`.
//
// Contract: generate_report() reads every results directory given (see
// load.h), writes into out_dir
//   index.html            the self-contained page (html.h)
//   summary.json          machine-readable totals, matrix and signatures (summary.h)
//   bugs/<signature>.md   one upstream-ready report per failure signature (markdown.h)
// and returns what it wrote plus the short text summary for stdout. Stale
// bugs/*.md from an earlier report in the same out_dir are removed so the
// directory always matches index.html. Bad input never throws; failing to
// write the output throws std::runtime_error with the path.
// This header deliberately does not include nlohmann/json.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace faultline::reports {

inline constexpr const char* kDefaultOutDir = "reports/out/latest";

struct GenerateResult {
  std::string index_html;
  std::string summary_json;
  std::vector<std::string> bug_reports;  // one per signature, largest first
  std::vector<std::string> titles;       // signature titles, same order
  std::size_t runs = 0, failures = 0, skips = 0, signatures = 0;
  std::size_t malformed_lines = 0, duplicates_dropped = 0;
  std::vector<std::string> warnings;
  std::string text_summary;  // what the CLI prints
};

GenerateResult generate_report(const std::vector<std::string>& dirs, const std::string& out_dir);

// The paths written: index.html, summary.json, then every bug report.
std::vector<std::string> generate(const std::vector<std::string>& dirs, const std::string& out_dir);

}  // namespace faultline::reports
