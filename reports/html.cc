// The self-contained HTML page (see html.h).
#include "reports/html.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "reports/svg.h"
#include "reports/text.h"

namespace faultline::reports {
namespace {

const char* kCss = R"CSS(
:root{--bg:#f6f7f9;--card:#fff;--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--red:#dc2626;--green:#16a34a;--amber:#d97706}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{background:linear-gradient(135deg,#0f172a,#1e293b);color:#f8fafc;padding:28px 40px 24px}
header h1{margin:0;font-size:26px;letter-spacing:-.02em}
header h1 span{color:#f87171}
header .sub{color:#cbd5e1;margin-top:4px;font-size:13px}
.status{display:inline-block;margin-top:14px;padding:6px 14px;border-radius:999px;font-weight:600;font-size:14px}
.status.bad{background:#7f1d1d;color:#fecaca}.status.good{background:#14532d;color:#bbf7d0}
main{max-width:1280px;margin:0 auto;padding:24px 40px 48px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:14px;margin:-46px 0 26px}
.card{background:var(--card);border-radius:12px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 4px 14px rgba(0,0,0,.04)}
.card .n{font-size:28px;font-weight:700;letter-spacing:-.02em}.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.card.bad .n{color:var(--red)}.card.good .n{color:var(--green)}
section{background:var(--card);border-radius:12px;padding:20px 24px;margin-bottom:22px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{margin:0 0 4px;font-size:18px}section p.hint{margin:0 0 14px;color:var(--muted);font-size:13px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px}
table.matrix{border-collapse:separate;border-spacing:4px;width:100%}
table.matrix th{font-size:12px;color:var(--muted);font-weight:600;text-align:center;padding:4px 8px}
table.matrix th.row{text-align:left;color:var(--ink);font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;white-space:nowrap}
table.matrix td{border-radius:8px;text-align:center;padding:8px 10px;min-width:110px}
td .frac{font-size:16px;font-weight:700}td .det{font-size:11px;opacity:.85}
td.none{background:#f3f4f6;color:#9ca3af}td.skip{background:#e5e7eb;color:#4b5563}
td.total{background:#f8fafc;border:1px solid var(--line)}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted);margin-top:10px;flex-wrap:wrap}
.legend i{display:inline-block;width:14px;height:14px;border-radius:4px;vertical-align:-3px;margin-right:5px}
.sig{border:1px solid var(--line);border-left:5px solid var(--red);border-radius:10px;padding:14px 18px;margin-bottom:14px}
.sig.fail{border-left-color:var(--amber)}.sig.hang{border-left-color:#7c3aed}.sig.sanitizer{border-left-color:#db2777}
.sig h3{margin:0 0 6px;font-size:15px;word-break:break-word}
.pill{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11.5px;font-weight:600;margin-right:6px;background:#fee2e2;color:#991b1b}
.pill.id{background:#e0e7ff;color:#3730a3;font-family:ui-monospace,monospace}.pill.count{background:#f3f4f6;color:#111827}
ol.frames{margin:8px 0;padding-left:22px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
.sig a.md{font-weight:600;color:#2563eb;text-decoration:none}.sig a.md:hover{text-decoration:underline}
details summary{cursor:pointer;color:var(--muted);font-size:13px;margin-top:6px}
pre{background:#0f172a;color:#e2e8f0;padding:14px;border-radius:8px;overflow:auto;font-size:12px;max-height:520px}
.clean{font-size:16px;color:var(--green);font-weight:600}
.series h3{font-size:14px;margin:14px 0 6px;font-family:ui-monospace,monospace}
footer{color:var(--muted);font-size:12px;max-width:1280px;margin:0 auto;padding:0 40px 40px}
footer code{font-size:11.5px}
)CSS";

// Background for a cell: green when clean, amber to deep red as the rate grows.
std::string cell_style(std::size_t fails, std::size_t runs) {
  if (runs == 0) return "";
  if (fails == 0) return "background:#dcfce7;color:#14532d";
  double r = static_cast<double>(fails) / static_cast<double>(runs);
  if (r < 0.25) return "background:#fef3c7;color:#78350f";
  if (r < 0.75) return "background:#fdba74;color:#7c2d12";
  return "background:#dc2626;color:#fff";
}

std::string outcome_detail(const Cell& c) {
  std::string s;
  std::vector<std::pair<std::string, std::size_t>> v(c.outcomes.begin(), c.outcomes.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [k, n] : v) s += (s.empty() ? "" : " · ") + k + " " + std::to_string(n);
  return s;
}

void matrix_table(std::ostringstream& o, const Matrix& mx) {
  o << "<table class=\"matrix\" id=\"matrix\"><thead><tr><th></th>";
  for (const auto& b : mx.builds) o << "<th>" << html_escape(b) << "</th>";
  o << "<th>all builds</th></tr></thead><tbody>";
  for (const auto& row : mx.rows) {
    o << "<tr><th class=\"row\">" << html_escape(row) << "</th>";
    for (const auto& b : mx.builds) {
      auto it = mx.cells.find({row, b});
      if (it == mx.cells.end() || it->second.runs == 0) {
        o << "<td class=\"none\">—</td>";
        continue;
      }
      const Cell& c = it->second;
      std::size_t skips = c.outcomes.count("skip") ? c.outcomes.at("skip") : 0;
      std::size_t ran = c.runs - skips;
      if (ran == 0) {
        o << "<td class=\"skip\"><div class=\"frac\">skip</div><div class=\"det\">" << c.runs << " skipped</div></td>";
        continue;
      }
      o << "<td class=\"cell\" style=\"" << cell_style(c.failures, ran) << "\" title=\""
        << html_escape(row + " × " + b + ": " + outcome_detail(c)) << "\"><div class=\"frac\">" << c.failures << "/"
        << ran << "</div><div class=\"det\">" << html_escape(outcome_detail(c)) << "</div></td>";
    }
    const Cell& t = mx.per_row.at(row);
    o << "<td class=\"total\"><div class=\"frac\">" << t.failures << "/" << t.runs << "</div><div class=\"det\">"
      << fmt_pct(t.runs ? static_cast<double>(t.failures) / static_cast<double>(t.runs) : 0)
      << " failing</div></td></tr>";
  }
  o << "</tbody></table><div class=\"legend\"><span><i style=\"background:#dcfce7\"></i>no failures</span>"
    << "<span><i style=\"background:#fef3c7\"></i>&lt; 25% failing</span><span><i "
       "style=\"background:#fdba74\"></i>25–75%</span>"
    << "<span><i style=\"background:#dc2626\"></i>≥ 75%</span><span><i style=\"background:#e5e7eb\"></i>skipped</span>"
    << "<span><i style=\"background:#f3f4f6\"></i>not run</span><span>cells: failures / runs (skips "
       "excluded)</span></div>";
}

struct Panel {
  std::string title;
  svg::Unit unit;
  std::vector<std::string> keys;
};

// Known stress metrics group into shared charts; anything else gets its own.
std::vector<Panel> panels_for(const TimeSeries& ts) {
  std::set<std::string> keys;
  for (const auto& s : ts.samples)
    for (const auto& [k, v] : s)
      if (k != "t") keys.insert(k);
  std::vector<Panel> p = {{"Threads & fibers", svg::Unit::number, {}},
                          {"Memory (RSS)", svg::Unit::bytes, {}},
                          {"Events per second", svg::Unit::per_s, {}},
                          {"Latency percentiles", svg::Unit::ms, {}},
                          {"Queue high-water marks", svg::Unit::number, {}}};
  std::vector<Panel> other;
  for (const auto& k : keys) {
    auto has = [&](const char* s) { return k.find(s) != std::string::npos; };
    if (has("thread") || has("fiber") || has("connection"))
      p[0].keys.push_back(k);
    else if (has("rss") || has("bytes") || has("memory"))
      p[1].keys.push_back(k);
    else if (has("per_s") || has("_rate"))
      p[2].keys.push_back(k);
    else if (has("latency") || (k.size() > 3 && k.compare(k.size() - 3, 3, "_ms") == 0))
      p[3].keys.push_back(k);
    else if (has("queue") || has("high_water"))
      p[4].keys.push_back(k);
    else if (other.size() < 8)
      other.push_back({k, svg::Unit::number, {k}});
  }
  // Percentiles read best in order: p50, p90, p95, p99, max; "in" before "out".
  auto rank = [](const std::string& k) {
    int r = 5;
    const char* order[] = {"p50", "p90", "p95", "p99", "max"};
    for (int i = 0; i < 5; ++i)
      if (k.find(order[i]) != std::string::npos) r = i;
    return r;
  };
  for (auto& x : p)
    std::stable_sort(x.keys.begin(), x.keys.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  std::vector<Panel> out;
  for (auto& x : p)
    if (!x.keys.empty()) out.push_back(std::move(x));
  for (auto& x : other) out.push_back(std::move(x));
  return out;
}

void series_section(std::ostringstream& o, const std::vector<TimeSeries>& series) {
  o << "<section id=\"stress\"><h2>Stress time series</h2><p class=\"hint\">Samples over the run: threads, memory, "
       "throughput in and out, latency percentiles and queue high-water marks.</p>";
  for (const auto& ts : series) {
    o << "<div class=\"series\"><h3>" << html_escape(ts.label) << " · " << ts.samples.size()
      << " samples</h3><div class=\"grid2\">";
    for (const auto& panel : panels_for(ts)) {
      std::vector<svg::Line> lines;
      for (const auto& k : panel.keys) {
        svg::Line l{k, {}};
        for (const auto& s : ts.samples)
          if (auto it = s.find(k); it != s.end()) l.points.emplace_back(s.at("t"), it->second);
        if (!l.points.empty()) lines.push_back(std::move(l));
      }
      o << "<div>" << svg::line_chart(panel.title, lines, panel.unit) << "</div>";
    }
    o << "</div></div>";
  }
  o << "</section>";
}

}  // namespace

std::string render_html(const HtmlInput& in) {
  const auto& set = in.set;
  const auto& mx = in.matrix;
  std::size_t skips = 0;
  for (const auto& [b, c] : mx.per_build) skips += c.outcomes.count("skip") ? c.outcomes.at("skip") : 0;
  std::size_t fails = mx.total.failures, runs = mx.total.runs;
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src "
       "data:\">"
    << "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>faultline report — "
    << (fails ? std::to_string(fails) + " failures" : std::string("all passed")) << "</title><style>" << kCss
    << "</style></head><body>";
  o << "<header><h1>fault<span>line</span> report</h1><div class=\"sub\">generated " << html_escape(in.generated_at)
    << " · " << set.run_dirs.size() << " run director" << (set.run_dirs.size() == 1 ? "y" : "ies") << "</div>";
  if (runs == 0)
    o << "<div class=\"status good\">No runs found in the given directories</div>";
  else if (fails)
    o << "<div class=\"status bad\">" << fails << " failing run" << (fails == 1 ? "" : "s") << " of " << runs << " · "
      << in.signatures.size() << " distinct signature" << (in.signatures.size() == 1 ? "" : "s") << "</div>";
  else
    o << "<div class=\"status good\">All " << runs - skips << " runs passed — no failures</div>";
  o << "</header><main>";

  o << "<div class=\"cards\">";
  auto card = [&](const std::string& n, const std::string& l, const char* cls) {
    o << "<div class=\"card " << cls << "\"><div class=\"n\">" << html_escape(n) << "</div><div class=\"l\">" << l
      << "</div></div>";
  };
  card(std::to_string(runs), "runs", "");
  card(std::to_string(fails), "failures", fails ? "bad" : "good");
  card(std::to_string(in.signatures.size()), "signatures", in.signatures.empty() ? "good" : "bad");
  card(std::to_string(mx.rows.size()), "scenarios", "");
  card(std::to_string(mx.builds.size()), "build configs", "");
  card(std::to_string(skips), "skipped", "");
  o << "</div>";

  o << "<section id=\"matrix-section\"><h2>Outcome matrix</h2><p class=\"hint\">Each scenario and variant against each "
       "build configuration; the number is failing runs over runs.</p>";
  if (mx.rows.empty())
    o << "<p>No runs recorded.</p>";
  else
    matrix_table(o, mx);
  o << "</section>";

  o << "<div class=\"grid2\"><section id=\"rates\"><h2>Failure rate per build</h2><p class=\"hint\">All scenarios "
       "together, skips excluded; whiskers are Wilson 95% intervals.</p>";
  std::vector<svg::Bar> bars;
  for (const auto& b : mx.builds) {
    const Cell& c = mx.per_build.at(b);
    std::size_t s = c.outcomes.count("skip") ? c.outcomes.at("skip") : 0, ran = c.runs - s;
    auto ci = wilson95(c.failures, ran);
    bars.push_back({b, ran ? static_cast<double>(c.failures) / static_cast<double>(ran) : 0, ci.low, ci.high,
                    std::to_string(c.failures) + " / " + std::to_string(ran)});
  }
  o << svg::rate_bars("Failure rate per build configuration", bars) << "</section>";

  auto ttf = time_to_failure(set);
  o << "<section id=\"ttf\"><h2>Time to failure</h2><p class=\"hint\">How long failing runs ran before they "
       "failed.</p>";
  if (ttf.iterations.empty() && ttf.seconds.empty()) {
    o << "<p class=\"clean\">" << (fails ? "No durations recorded for the failing runs." : "No failures.") << "</p>";
  } else {
    if (!ttf.iterations.empty())
      o << svg::histogram("Iterations to first failure", ttf.iterations, "iterations to first failure", "#7c3aed");
    if (!ttf.seconds.empty())
      o << svg::histogram("Duration of failing runs", ttf.seconds, "seconds until failure", "#dc2626");
  }
  o << "</section></div>";

  o << "<section id=\"signatures\"><h2>Failure signatures</h2><p class=\"hint\">Failures grouped by outcome, signal "
       "and "
       "the top frames of the failing thread. Each has a Markdown bug report ready to paste upstream.</p>";
  if (in.signatures.empty()) o << "<p class=\"clean\">✔ No failures: every run passed or was skipped.</p>";
  for (std::size_t i = 0; i < in.signatures.size(); ++i) {
    const auto& s = in.signatures[i];
    std::set<std::string> builds;
    for (auto r : s.runs) builds.insert(build_label(set.runs[r].rec.build));
    o << "<div class=\"sig " << html_escape(s.kind) << "\" id=\"sig-" << s.id << "\"><h3>" << html_escape(s.title)
      << "</h3><span class=\"pill id\">" << s.id << "</span><span class=\"pill\">" << html_escape(s.kind)
      << (s.signal.empty() ? "" : " · " + html_escape(s.signal)) << "</span><span class=\"pill count\">"
      << s.runs.size() << " run" << (s.runs.size() == 1 ? "" : "s") << "</span>";
    std::string bl;
    for (const auto& b : builds) bl += (bl.empty() ? "" : ", ") + b;
    o << "<span style=\"color:#6b7280;font-size:12.5px\">" << html_escape(bl) << "</span>";
    if (!s.frames.empty()) {
      o << "<ol class=\"frames\">";
      for (const auto& f : s.frames) o << "<li>" << html_escape(f) << "</li>";
      o << "</ol>";
    } else {
      o << "<p style=\"margin:8px 0;color:#6b7280\">No frames captured; grouped by scenario "
        << html_escape(s.scenario_fallback) << ".</p>";
    }
    o << "<a class=\"md\" href=\"" << html_escape(in.report_links[i])
      << "\">Bug report: " << html_escape(in.report_links[i]) << "</a><details><summary>Show the report</summary><pre>"
      << html_escape(in.report_texts[i]) << "</pre></details></div>";
  }
  o << "</section>";

  if (!set.series.empty()) series_section(o, set.series);
  o << "</main><footer><p>Inputs: ";
  for (const auto& p : set.inputs) o << "<code>" << html_escape(p) << "</code> ";
  o << "· " << set.files_read << " files, " << set.lines_read << " record lines, " << set.malformed_lines
    << " malformed line(s) skipped, " << set.duplicates_dropped << " duplicate run id(s) dropped";
  if (mx.from_matrix_json) o << ", " << mx.from_matrix_json << " runs counted from matrix.json summaries";
  o << ".</p>";
  if (!set.warnings.empty()) {
    o << "<details><summary>" << set.warnings.size() << " warning(s) while loading</summary><ul>";
    for (const auto& w : set.warnings) o << "<li><code>" << html_escape(w) << "</code></li>";
    o << "</ul></details>";
  }
  o << "<p>Generated by <code>faultline report</code>. This page makes no network "
       "requests.</p></footer></body></html>\n";
  return o.str();
}

}  // namespace faultline::reports
