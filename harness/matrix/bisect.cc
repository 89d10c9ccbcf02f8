// opt-bisect search (contract in bisect.h).
#include "harness/matrix/bisect.h"

#include <regex>
#include <sstream>

#include "harness/matrix/matrix.h"
#include "harness/run/process.h"

namespace faultline::harness {
namespace fs = std::filesystem;

nlohmann::json to_json(const BisectResult& r) {
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& [k, f] : r.probes) probes.push_back({{"limit", k}, {"failed", f}});
  nlohmann::json j{{"found", r.found}, {"max_index", r.max_index}, {"probes", probes}};
  if (!r.unbuildable.empty()) j["unbuildable_limits"] = r.unbuildable;
  if (r.found) {
    j["first_failing_limit"] = r.first_failing;
    j["passes"] = r.pass_lines;
  }
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

std::vector<std::string> bisect_lines(const std::string& log, int k) {
  std::vector<std::string> out;
  const std::string key = "BISECT: running pass (" + std::to_string(k) + ") ";
  std::stringstream ss(log);
  std::string line;
  while (std::getline(ss, line)) {
    auto p = line.find(key);
    if (p != std::string::npos) out.push_back(line.substr(p));
  }
  return out;
}

int max_bisect_index(const std::string& log) {
  int best = 0;
  const std::string key = "BISECT: running pass (";
  std::size_t pos = 0;
  while ((pos = log.find(key, pos)) != std::string::npos) {
    pos += key.size();
    best = std::max(best, std::atoi(log.c_str() + pos));
  }
  return best;
}

BisectResult bisect_opt(const BisectBuilder& build, const BisectTester& fails, int max_builds) {
  BisectResult r;
  int builds = 0;
  bool budget_exhausted = false;
  std::string last_build_error;
  // 1 fails, 0 passes, -1 does not build (some limits skip passes the code
  // needs to link, e.g. inlining libstdc++'s always_inline members), -2 budget.
  auto probe = [&](int k, std::string* log) -> int {
    if (++builds > max_builds) {
      budget_exhausted = true;
      return -2;
    }
    BisectBuild b = build(k);
    if (!b.ok) {
      last_build_error = b.error;
      r.unbuildable.push_back(k);
      return -1;
    }
    if (log) *log = b.log;
    bool f = fails(b.program);
    r.probes.emplace_back(k, f);
    return f ? 1 : 0;
  };
  // The nearest limit in (from, to) that builds, scanning upward in growing
  // steps; {limit, result} or {-1, -1} when none does within a few tries.
  auto buildable_above = [&](int from, int to) -> std::pair<int, int> {
    for (int step = 1, tries = 0; from + step < to && tries < 32; step *= 2, ++tries) {
      int res = probe(from + step, nullptr);
      if (res == -2) break;
      if (res >= 0) return {from + step, res};
    }
    return {-1, -1};
  };
  std::string full_log;
  int all = probe(-1, &full_log);
  if (all == -1) {
    r.error = "the unlimited build (limit -1) failed: " + last_build_error;
    return r;
  }
  if (all == 0) {
    r.error = "it does not fail with every optimisation pass enabled (limit -1): nothing to bisect";
    return r;
  }
  r.max_index = max_bisect_index(full_log);
  if (r.max_index == 0) {
    r.error = "the compiler printed no BISECT lines: not clang, or -mllvm -opt-bisect-limit was not applied";
    return r;
  }
  int lo = 0, hi = r.max_index;  // invariant: passes (or lower bound) at lo, fails at hi
  int none = probe(0, nullptr);
  if (none == -1) {
    auto [k, res] = buildable_above(0, hi);
    if (k < 0) {
      r.error = "no limit below " + std::to_string(hi) + " produced a program that builds: " + last_build_error;
      return r;
    }
    if (res == 1) hi = k;
    lo = res == 1 ? 0 : k;
    if (res == 1) {
      r.error = "limits 0.." + std::to_string(k - 1) + " do not build and " + std::to_string(k) +
                " already fails: the answer is at most " + std::to_string(k);
    }
  } else if (none == 1) {
    r.error = "it fails even with no optional pass (limit 0): not an optimisation-dependent failure";
    return r;
  }
  while (hi - lo > 1 && !budget_exhausted) {
    int mid = lo + (hi - lo) / 2;
    int f = probe(mid, nullptr);
    if (f == -1) {
      auto [k, res] = buildable_above(mid, hi);
      if (k < 0) {
        lo = mid;  // nothing between mid and hi builds: the first testable failure is hi
        continue;
      }
      f = res;
      mid = k;
    }
    if (f == -2) break;
    (f == 1 ? hi : lo) = mid;
  }
  if (budget_exhausted) {
    r.error = "gave up after " + std::to_string(max_builds) + " builds; the first failing limit is in (" +
              std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return r;
  }
  std::string log;
  int again = probe(hi, &log);
  if (again != 1) {
    r.error =
        "limit " + std::to_string(hi) + (again == 0 ? " passed on re-check (flaky)" : " did not build on re-check");
    return r;
  }
  r.found = true;
  r.first_failing = hi;
  r.pass_lines = bisect_lines(log, hi);
  return r;
}

BisectBuilder preset_bisect_builder(const fs::path& source_dir, const fs::path& build_root, const std::string& preset,
                                    const std::string& target, const std::string& scenario) {
  return [=](int limit) {
    BisectBuild b;
    const fs::path dir = build_root / (preset + "-optbisect");
    const std::string flags = "-mllvm -opt-bisect-limit=" + std::to_string(limit);
    auto c = run_capture({"cmake", "--preset", preset, "-B", dir.string(), "-DCMAKE_CXX_FLAGS=" + flags,
                          "-DCMAKE_C_FLAGS=" + flags, "-DFAULTLINE_WERROR=OFF"},
                         900, {}, 4 << 20, source_dir.string());
    if (c.exit_code != 0) {
      b.error = "configure: " + c.output.substr(c.output.size() > 1500 ? c.output.size() - 1500 : 0);
      return b;
    }
    // --clean-first: every TU the target needs recompiles and prints its
    // BISECT lines, even when this limit was built before.
    auto m = run_capture({"cmake", "--build", dir.string(), "--clean-first", "--target", target}, 3600, {}, 256u << 20);
    if (m.exit_code != 0) {
      b.error = "build: " + m.output.substr(m.output.size() > 1500 ? m.output.size() - 1500 : 0);
      return b;
    }
    for (const auto& e : read_catalog_or_empty(dir / "repro" / "catalog.json"))
      if (e.scenario == scenario) b.program = e.path;
    if (b.program.empty()) {
      b.error = "scenario " + scenario + " not in " + (dir / "repro" / "catalog.json").string();
      return b;
    }
    b.ok = true;
    b.log = std::move(m.output);
    return b;
  };
}

}  // namespace faultline::harness
