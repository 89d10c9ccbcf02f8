// The report generator's entry point (see generate.h).
#include "reports/generate.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "reports/aggregate.h"
#include "reports/html.h"
#include "reports/markdown.h"
#include "reports/signature.h"
#include "reports/source_tree.h"
#include "reports/summary.h"

namespace faultline::reports {
namespace fs = std::filesystem;
namespace {

// Write to a temporary name, then rename: a reader never sees half a page.
void write_file(const fs::path& p, const std::string& text) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp.string() + " to " + p.string() + ": " + ec.message());
}

std::string matrix_command(const RunSet& set) {
  for (const auto& m : set.matrices) {
    if (!m.is_object()) continue;
    for (const char* k : {"command", "command_line"}) {
      auto it = m.find(k);
      if (it != m.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    }
  }
  return {};
}

}  // namespace

GenerateResult generate_report(const std::vector<std::string>& dirs, const std::string& out_dir) {
  RunSet set = load_runs(dirs);
  Matrix mx = build_matrix(set);
  std::vector<Signature> sigs = group_failures(set);
  std::string now = record::now_iso8601();

  fs::path out(out_dir);
  std::error_code ec;
  fs::create_directories(out / "bugs", ec);
  if (ec) throw std::runtime_error("cannot create " + (out / "bugs").string() + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(out / "bugs", ec))
    if (e.path().extension() == ".md") fs::remove(e.path(), ec);

  MarkdownContext ctx{set, source_root(), matrix_command(set)};
  GenerateResult res;
  std::vector<std::string> links, texts;
  for (const auto& s : sigs) {
    std::string rel = "bugs/" + s.id + ".md";
    texts.push_back(markdown_report(ctx, s));
    write_file(out / rel, texts.back());
    links.push_back(rel);
    res.bug_reports.push_back((out / rel).string());
    res.titles.push_back(s.title);
  }
  res.index_html = (out / "index.html").string();
  res.summary_json = (out / "summary.json").string();
  write_file(res.index_html, render_html({set, mx, sigs, links, texts, now}));
  write_file(res.summary_json, summary_json(set, mx, sigs, res.bug_reports, res.index_html, now));

  res.runs = mx.total.runs;
  res.failures = mx.total.failures;
  for (const auto& [b, c] : mx.per_build) res.skips += c.outcomes.count("skip") ? c.outcomes.at("skip") : 0;
  res.signatures = sigs.size();
  res.malformed_lines = set.malformed_lines;
  res.duplicates_dropped = set.duplicates_dropped;
  res.warnings = set.warnings;
  res.text_summary = text_summary(res);
  return res;
}

std::vector<std::string> generate(const std::vector<std::string>& dirs, const std::string& out_dir) {
  auto r = generate_report(dirs, out_dir);
  std::vector<std::string> paths{r.index_html, r.summary_json};
  paths.insert(paths.end(), r.bug_reports.begin(), r.bug_reports.end());
  return paths;
}

}  // namespace faultline::reports
