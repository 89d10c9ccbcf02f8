// summary.json (for machines) and the short text summary (for stdout).
//
// summary.json, schema "faultline.report/1":
//   {schema, generated_at, inputs[], totals{runs, failures, skips, signatures,
//    malformed_lines, duplicates_dropped, files_read},
//    builds[{build, runs, failures, rate, wilson95[lo, hi]}],
//    matrix[{scenario_variant, build, runs, failures, outcomes{}}],
//    signatures[{id, title, kind, signal, frames[], scenario_fallback, runs,
//                run_ids[], builds[], report}],
//    index_html, warnings[]}
#pragma once

#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/generate.h"
#include "reports/signature.h"

namespace faultline::reports {

std::string summary_json(const RunSet& set, const Matrix& mx, const std::vector<Signature>& sigs,
                         const std::vector<std::string>& report_paths, const std::string& index_html,
                         const std::string& generated_at);

std::string text_summary(const GenerateResult& r);

}  // namespace faultline::reports
