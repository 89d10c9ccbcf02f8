// summary.json and the text summary (see summary.h).
#include "reports/summary.h"

#include <set>
#include <sstream>

namespace faultline::reports {

std::string summary_json(const RunSet& set, const Matrix& mx, const std::vector<Signature>& sigs,
                         const std::vector<std::string>& report_paths, const std::string& index_html,
                         const std::string& generated_at) {
  using nlohmann::json;
  std::size_t skips = 0;
  for (const auto& [b, c] : mx.per_build) skips += c.outcomes.count("skip") ? c.outcomes.at("skip") : 0;
  json j{{"schema", "faultline.report/1"},
         {"generated_at", generated_at},
         {"inputs", set.inputs},
         {"totals",
          {{"runs", mx.total.runs},
           {"failures", mx.total.failures},
           {"skips", skips},
           {"signatures", sigs.size()},
           {"malformed_lines", set.malformed_lines},
           {"duplicates_dropped", set.duplicates_dropped},
           {"files_read", set.files_read}}},
         {"index_html", index_html},
         {"warnings", set.warnings}};
  json builds = json::array();
  for (const auto& b : mx.builds) {
    const Cell& c = mx.per_build.at(b);
    std::size_t s = c.outcomes.count("skip") ? c.outcomes.at("skip") : 0, ran = c.runs - s;
    auto ci = wilson95(c.failures, ran);
    builds.push_back({{"build", b},
                      {"runs", ran},
                      {"failures", c.failures},
                      {"rate", ran ? static_cast<double>(c.failures) / static_cast<double>(ran) : 0.0},
                      {"wilson95", {ci.low, ci.high}}});
  }
  j["builds"] = builds;
  json cells = json::array();
  for (const auto& row : mx.rows)
    for (const auto& b : mx.builds)
      if (auto it = mx.cells.find({row, b}); it != mx.cells.end())
        cells.push_back({{"scenario_variant", row},
                         {"build", b},
                         {"runs", it->second.runs},
                         {"failures", it->second.failures},
                         {"outcomes", it->second.outcomes}});
  j["matrix"] = cells;
  json js = json::array();
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    const auto& s = sigs[i];
    json ids = json::array();
    std::set<std::string> bl;
    for (auto r : s.runs) {
      ids.push_back(set.runs[r].rec.run_id);
      bl.insert(build_label(set.runs[r].rec.build));
    }
    js.push_back({{"id", s.id},
                  {"title", s.title},
                  {"kind", s.kind},
                  {"signal", s.signal},
                  {"frames", s.frames},
                  {"scenario_fallback", s.scenario_fallback},
                  {"runs", s.runs.size()},
                  {"run_ids", ids},
                  {"builds", bl},
                  {"report", i < report_paths.size() ? report_paths[i] : ""}});
  }
  j["signatures"] = js;
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string text_summary(const GenerateResult& r) {
  std::ostringstream o;
  o << "faultline report: " << r.runs << " run(s), " << r.failures << " failure(s), " << r.skips << " skipped, "
    << r.signatures << " signature(s)";
  if (r.malformed_lines) o << ", " << r.malformed_lines << " malformed line(s) skipped";
  if (r.duplicates_dropped) o << ", " << r.duplicates_dropped << " duplicate run id(s) dropped";
  o << "\n";
  if (r.runs == 0)
    o << "  no runs found in the given directories\n";
  else if (r.failures == 0)
    o << "  no failures: every run passed or was skipped\n";
  o << "  index:   " << r.index_html << "\n  summary: " << r.summary_json << "\n";
  for (std::size_t i = 0; i < r.bug_reports.size(); ++i)
    o << "  bug:     " << r.bug_reports[i] << "  — " << (i < r.titles.size() ? r.titles[i] : "") << "\n";
  return o.str();
}

}  // namespace faultline::reports
