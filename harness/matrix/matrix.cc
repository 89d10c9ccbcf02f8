// Build × variant matrix (contract in matrix.h).
#include "harness/matrix/matrix.h"

#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "harness/matrix/bisect.h"
#include "harness/run/process.h"
#include "harness/run/repeat.h"

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

std::string tail(const std::string& s, std::size_t n = 3000) {
  return s.size() > n ? s.substr(s.size() - n) : s;
}

std::string safe_name(std::string s) {
  for (char& c : s)
    if (c == '/' || c == ' ') c = '_';
  return s;
}

// Configures (when needed) and builds `target` in `preset`; "" on success, else the reason.
std::string build_preset(const MatrixOptions& opt, const std::string& preset, const std::string& target,
                         const fs::path& log_dir) {
  const fs::path tree = opt.build_root / preset;
  std::ofstream log(log_dir / ("build-" + preset + ".log"), std::ios::app);
  if (!fs::exists(tree / "build.ninja") && !fs::exists(tree / "Makefile")) {
    // -B: the preset's tree under --build-root (the preset's own binaryDir by default).
    auto c = run_capture({"cmake", "--preset", preset, "-B", tree.string()}, 900, {}, 4 << 20, opt.source_dir.string());
    log << "$ cmake --preset " << preset << " -B " << tree.string() << "\n" << c.output;
    if (c.exit_code != 0) return "configure of preset " + preset + " failed: " + tail(c.output, 1500);
  }
  if (target.empty()) return {};
  auto b = run_capture({"cmake", "--build", tree.string(), "--target", target}, 1800);
  log << "$ cmake --build " << tree.string() << " --target " << target << "\n" << b.output;
  if (b.exit_code != 0) return "build of " + target + " in " + preset + " failed: " + tail(b.output, 1500);
  return {};
}

// The first frame of a sanitizer report that is the program's own code (not
// the sanitizer runtime, libc, the C++ library or Boost): where "ASan names it
// a heap-use-after-free in X" points.
nlohmann::json sanitizer_summary(const nlohmann::json& report) {
  if (!report.is_object()) return nullptr;
  nlohmann::json out{{"tool", report.value("tool", "")}, {"kind", report.value("kind", "")}};
  static const char* const kForeign[] = {"__interceptor_", "__asan",          "__tsan", "__ubsan",     "__sanitizer",
                                         "operator new",   "operator delete", "std::",  "__gnu_cxx::", "boost::"};
  const auto frames = report.value("frames", nlohmann::json::array());
  for (const auto& f : frames) {
    const std::string fn = f.value("function", ""), loc = f.value("location", "");
    if (fn.empty() || loc.empty() || loc.rfind("/usr/", 0) == 0) continue;
    bool foreign = false;
    for (const char* p : kForeign) foreign = foreign || fn.rfind(p, 0) == 0;
    if (foreign) continue;
    out["function"] = fn;
    out["location"] = loc;
    return out;
  }
  if (!frames.empty() && frames[0].contains("function")) out["function"] = frames[0]["function"];
  return out;
}

std::vector<std::string> describe_variants(const std::string& program, std::string& error) {
  auto d = run_capture({program, "--describe"}, 30);
  if (d.exit_code != 0) {
    error = program + " --describe failed: " + tail(d.output, 500);
    return {};
  }
  // --describe prints the spec JSON; take the first line that parses.
  std::stringstream ss(d.output);
  std::string line, all;
  while (std::getline(ss, line)) all += line + "\n";
  auto j = nlohmann::json::parse(all, nullptr, false);
  if (j.is_discarded()) {
    auto start = all.find('{');
    if (start != std::string::npos) j = nlohmann::json::parse(all.substr(start), nullptr, false);
  }
  if (j.is_discarded() || !j.is_object() || !j.contains("variants") || !j["variants"].is_array()) {
    error = program + " --describe printed no variants";
    return {};
  }
  std::vector<std::string> v;
  for (const auto& x : j["variants"])
    if (x.is_string()) v.push_back(x.get<std::string>());
  return v;
}

}  // namespace

std::vector<CatalogEntry> read_catalog_or_empty(const fs::path& catalog_json) {
  try {
    return repro::read_catalog(catalog_json);
  } catch (const std::exception&) {
    return {};
  }
}

MatrixResult run_matrix(const MatrixOptions& opt) {
  MatrixResult res;
  res.run_id = opt.run_id.empty() ? record::new_run_id() : opt.run_id;
  res.dir = opt.results_root / res.run_id;
  fs::create_directories(res.dir);

  for (const auto& preset : opt.builds) {
    // The catalog is written at configure time, so configure first.
    std::string err = opt.build ? build_preset(opt, preset, "", res.dir) : std::string{};
    const fs::path catalog = opt.build_root / preset / "repro" / "catalog.json";
    std::vector<CatalogEntry> entries;
    if (err.empty()) {
      entries = read_catalog_or_empty(catalog);
      if (entries.empty()) err = "no scenarios in " + catalog.string();
    }
    std::vector<CatalogEntry> chosen;
    for (const auto& e : entries) {
      bool want = !opt.family.empty() && e.scenario.rfind(opt.family + "/", 0) == 0;
      for (const auto& s : opt.scenarios) want = want || e.scenario == s;
      if (want) chosen.push_back(e);
    }
    if (err.empty() && chosen.empty())
      err = "scenario " + (opt.family.empty() ? (opt.scenarios.empty() ? "?" : opt.scenarios[0]) : opt.family + "/*") +
            " is not in " + catalog.string();
    if (!err.empty()) {
      for (const auto& s : opt.scenarios) {
        MatrixCell c;
        c.scenario = s;
        c.build = preset;
        c.error = err;
        res.cells.push_back(c);
      }
      if (opt.scenarios.empty()) {
        MatrixCell c;
        c.scenario = opt.family + "/*";
        c.build = preset;
        c.error = err;
        res.cells.push_back(c);
      }
      continue;
    }
    for (const auto& e : chosen) {
      std::string berr = opt.build ? build_preset(opt, preset, e.target, res.dir) : std::string{};
      std::vector<std::string> variants;
      if (berr.empty()) variants = opt.variants.empty() ? describe_variants(e.path, berr) : opt.variants;
      if (!berr.empty()) {
        MatrixCell c;
        c.scenario = e.scenario;
        c.build = preset;
        c.error = berr;
        res.cells.push_back(c);
        continue;
      }
      for (const auto& v : variants) {
        RepeatOptions r;
        r.child = opt.child;
        r.child.command = {e.path, "--variant", v, "--json"};
        r.child.command.insert(r.child.command.end(), opt.extra_args.begin(), opt.extra_args.end());
        r.repeat = opt.repeat;
        r.jobs = opt.jobs;
        r.shard_index = opt.shard_index;
        r.shard_count = opt.shard_count;
        r.results_root = opt.results_root;
        r.run_id = res.run_id;
        r.scenario = e.scenario;
        r.variant = v;
        r.build.preset = preset;
        r.environment = opt.environment;
        r.extra_details = {{"matrix_cell", {{"scenario", e.scenario}, {"build", preset}, {"variant", v}}}};
        r.attempt_prefix = safe_name(e.scenario) + "." + preset + "." + v + ".";
        r.write_summary = false;
        r.progress = opt.progress;
        r.label = preset + " " + v + ": ";
        auto s = run_repeated(r);
        MatrixCell c;
        c.scenario = e.scenario;
        c.build = preset;
        c.variant = v;
        c.outcomes = s.outcomes;
        c.attempts = s.attempts;
        c.failures = s.failures;
        if (!s.failure_summaries.empty()) c.first_failure = s.failure_summaries.front();
        c.sanitizer = sanitizer_summary(s.first_sanitizer);
        res.cells.push_back(c);
        if (s.interrupted) return res;
      }
    }
  }
  if (opt.bisect_opt) run_opt_bisects(opt, res);  // bisect.h
  const std::string name =
      opt.shard_count > 1 ? "matrix-shard" + std::to_string(opt.shard_index) + ".json" : std::string("matrix.json");
  std::ofstream(res.dir / name) << to_json(res).dump(2) << "\n";
  return res;
}

nlohmann::json to_json(const MatrixResult& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : r.cells) {
    nlohmann::json j{{"scenario", c.scenario}, {"build", c.build},       {"variant", c.variant},
                     {"attempts", c.attempts}, {"failures", c.failures}, {"outcomes", c.outcomes}};
    if (!c.error.empty()) j["error"] = c.error;
    if (!c.first_failure.empty()) j["first_failure"] = c.first_failure;
    if (!c.sanitizer.is_null()) j["sanitizer"] = c.sanitizer;
    cells.push_back(j);
  }
  return {{"schema", "faultline.matrix/1"},
          {"run_id", r.run_id},
          {"runs", (r.dir / "runs.jsonl").string()},
          {"cells", cells},
          {"bisect_opt", r.bisects}};
}

std::string format_matrix_table(const MatrixResult& r) {
  std::ostringstream o;
  std::set<std::string> scenarios;
  for (const auto& c : r.cells) scenarios.insert(c.scenario);
  for (const auto& sc : scenarios) {
    std::vector<std::string> builds, variants;
    std::map<std::pair<std::string, std::string>, std::string> text;
    for (const auto& c : r.cells) {
      if (c.scenario != sc) continue;
      if (std::find(builds.begin(), builds.end(), c.build) == builds.end()) builds.push_back(c.build);
      if (!c.variant.empty() && std::find(variants.begin(), variants.end(), c.variant) == variants.end())
        variants.push_back(c.variant);
      std::string t;
      if (!c.error.empty()) {
        t = "ERROR (see matrix.json)";
      } else {
        for (const auto& [k, n] : c.outcomes) t += (t.empty() ? "" : ", ") + k + " " + std::to_string(n);
        if (t.empty()) t = "-";
      }
      text[{c.build, c.variant}] = t;
    }
    o << sc << "\n";
    std::size_t w0 = 14, w = 12;
    for (const auto& b : builds) w0 = std::max(w0, b.size() + 2);
    for (const auto& [k, t] : text) w = std::max(w, t.size() + 2);
    o << std::left << std::setw(static_cast<int>(w0)) << "build";
    for (const auto& v : variants) o << std::setw(static_cast<int>(w)) << v;
    o << "\n";
    for (const auto& b : builds) {
      o << std::setw(static_cast<int>(w0)) << b;
      if (variants.empty() || text.count({b, ""})) {
        o << text[{b, ""}];
      } else {
        for (const auto& v : variants) o << std::setw(static_cast<int>(w)) << (text.count({b, v}) ? text[{b, v}] : "-");
      }
      o << "\n";
    }
    // What the sanitizer builds named, per cell: "asan broken: AddressSanitizer
    // heap-use-after-free in X (file:line) in 5/5 runs".
    for (const auto& c : r.cells) {
      if (c.scenario != sc || c.sanitizer.is_null()) continue;
      std::uint64_t n = 0;
      for (const auto& [k, v] : c.outcomes)
        if (k.rfind("sanitizer/", 0) == 0) n += v;
      o << "  " << c.build << (c.variant.empty() ? "" : " " + c.variant) << ": "
        << c.sanitizer.value("tool", std::string("sanitizer")) << " "
        << c.sanitizer.value("kind", std::string("report"));
      if (c.sanitizer.contains("function")) o << " in " << c.sanitizer["function"].get<std::string>();
      if (c.sanitizer.contains("location")) {
        const std::string loc = c.sanitizer["location"].get<std::string>();
        o << " (" << loc.substr(loc.rfind('/') == std::string::npos ? 0 : loc.rfind('/') + 1) << ")";
      }
      o << " in " << n << "/" << c.attempts << " runs\n";
    }
    for (const auto& c : r.cells)
      if (c.scenario == sc && !c.error.empty()) o << "  " << c.build << ": " << c.error.substr(0, 300) << "\n";
  }
  o << format_bisects(r.bisects);  // bisect.h
  o << "matrix: " << (r.dir / "matrix.json").string() << "\n";
  return o.str();
}

}  // namespace faultline::harness
