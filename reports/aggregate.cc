// Aggregation (see aggregate.h).
#include "reports/aggregate.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace faultline::reports {
namespace {

std::string sanitizer_tag(const std::string& flags) {
  auto p = flags.find("-fsanitize=");
  if (p == std::string::npos) return {};
  std::string v =
      flags.substr(p + 11, flags.find(' ', p) == std::string::npos ? std::string::npos : flags.find(' ', p) - p - 11);
  if (v == "address") return "asan";
  if (v == "thread") return "tsan";
  if (v == "undefined") return "ubsan";
  if (v == "memory") return "msan";
  return v;
}

std::string jstr(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::size_t jnum(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && it->is_number() && it->get<double>() >= 0) return static_cast<std::size_t>(it->get<double>());
  }
  return 0;
}

// matrix.json is written by the harness; accept {"cells": [...]}, {"results": [...]}
// or a bare array of cell objects with scenario/variant/build and counts.
void add_matrix_json(const nlohmann::json& m, Matrix& mx,
                     const std::set<std::pair<std::string, std::string>>& covered) {
  const nlohmann::json* cells = &m;
  if (m.is_object()) {
    cells = nullptr;
    for (const char* k : {"cells", "results", "matrix"})
      if (m.contains(k) && m[k].is_array()) cells = &m[k];
  }
  if (!cells || !cells->is_array()) return;
  for (const auto& c : *cells) {
    if (!c.is_object()) continue;
    record::BuildInfo b;
    if (auto it = c.find("build"); it != c.end()) {
      if (it->is_string()) b.type = it->get<std::string>();
      if (it->is_object()) {
        b.type = jstr(*it, "type");
        b.compiler = jstr(*it, "compiler");
        b.flags = jstr(*it, "flags");
      }
    }
    if (b.type.empty()) b.type = jstr(c, "build_type");
    if (b.compiler.empty()) b.compiler = jstr(c, "compiler");
    std::string row = row_label(jstr(c, "scenario"), jstr(c, "variant"));
    std::string col = build_label(b);
    if (covered.count({row, col})) continue;
    Cell add;
    add.runs = jnum(c, {"runs", "attempts", "total", "n"});
    if (auto it = c.find("outcomes"); it != c.end() && it->is_object()) {
      for (auto o = it->begin(); o != it->end(); ++o) {
        if (!o->is_number()) continue;
        auto n = static_cast<std::size_t>(std::max(0.0, o->get<double>()));
        add.outcomes[o.key()] += n;
        auto oc = record::outcome_from_string(o.key());
        if (oc && record::is_failure(*oc)) add.failures += n;
      }
      if (!add.runs)
        for (const auto& [k, n] : add.outcomes) add.runs += n;
    }
    if (!c.contains("outcomes")) add.failures = jnum(c, {"failures", "failed"});
    if (!add.runs) continue;
    if (add.outcomes.empty()) {
      add.outcomes["pass"] = add.runs >= add.failures ? add.runs - add.failures : 0;
      if (add.failures) add.outcomes["fail"] = add.failures;
    }
    auto merge = [&](Cell& into) {
      into.runs += add.runs;
      into.failures += add.failures;
      for (const auto& [k, n] : add.outcomes) into.outcomes[k] += n;
    };
    if (std::find(mx.rows.begin(), mx.rows.end(), row) == mx.rows.end()) mx.rows.push_back(row);
    if (std::find(mx.builds.begin(), mx.builds.end(), col) == mx.builds.end()) mx.builds.push_back(col);
    merge(mx.cells[{row, col}]);
    merge(mx.per_build[col]);
    merge(mx.per_row[row]);
    merge(mx.total);
    mx.from_matrix_json += add.runs;
  }
}

}  // namespace

Interval wilson95(std::size_t failures, std::size_t runs) {
  if (runs == 0) return {0, 1};
  const double z = 1.959963984540054;
  double n = static_cast<double>(runs), p = static_cast<double>(failures) / n;
  double denom = 1 + z * z / n;
  double centre = (p + z * z / (2 * n)) / denom;
  double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::string build_label(const record::BuildInfo& b) {
  std::string l = b.type.empty() ? "unknown build" : b.type;
  if (!b.compiler.empty()) l += " · " + b.compiler;
  if (auto s = sanitizer_tag(b.flags); !s.empty()) l += " · " + s;
  return l;
}

std::string row_label(const std::string& scenario, const std::string& variant) {
  std::string r = scenario.empty() ? "(unnamed)" : scenario;
  if (!variant.empty()) r += " [" + variant + "]";
  return r;
}

Matrix build_matrix(const RunSet& set) {
  Matrix mx;
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& run : set.runs) {
    const auto& r = run.rec;
    std::string row = row_label(r.scenario, r.variant), col = build_label(r.build);
    if (std::find(mx.rows.begin(), mx.rows.end(), row) == mx.rows.end()) mx.rows.push_back(row);
    if (std::find(mx.builds.begin(), mx.builds.end(), col) == mx.builds.end()) mx.builds.push_back(col);
    covered.insert({row, col});
    std::string o(record::to_string(r.outcome));
    bool fail = record::is_failure(r.outcome);
    for (Cell* c : {&mx.cells[{row, col}], &mx.per_build[col], &mx.per_row[row], &mx.total}) {
      ++c->runs;
      c->failures += fail ? 1 : 0;
      ++c->outcomes[o];
    }
  }
  for (std::size_t i = 0; i < set.matrices.size(); ++i)
    if (i >= set.matrix_has_records.size() || !set.matrix_has_records[i]) add_matrix_json(set.matrices[i], mx, covered);
  std::sort(mx.rows.begin(), mx.rows.end());
  // Build columns in the usual optimisation order, then by name.
  auto rank = [](const std::string& b) {
    static const char* order[] = {"Debug", "RelWithDebInfo", "Release", "MinSizeRel"};
    for (int i = 0; i < 4; ++i)
      if (b.rfind(order[i], 0) == 0) return i;
    return 4;
  };
  std::sort(mx.builds.begin(), mx.builds.end(),
            [&](const auto& a, const auto& b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a < b; });
  return mx;
}

TimeToFailure time_to_failure(const RunSet& set) {
  TimeToFailure t;
  for (const auto& run : set.runs) {
    const auto& r = run.rec;
    if (!record::is_failure(r.outcome)) continue;
    for (const char* k :
         {"iterations_to_failure", "iterations_to_first_failure", "first_failure_iteration", "failed_at_iteration"}) {
      auto it = r.details.find(k);
      if (it != r.details.end() && it->is_number()) {
        t.iterations.push_back(it->get<double>());
        break;
      }
    }
    if (r.duration_s > 0) t.seconds.push_back(r.duration_s);
  }
  return t;
}

}  // namespace faultline::reports
