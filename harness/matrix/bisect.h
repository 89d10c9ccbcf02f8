// --bisect-opt: the smallest clang `-mllvm -opt-bisect-limit=K` at which a
// scenario starts to fail, and the optimisation pass(es) that K names, so a
// miscompile report can point at the pass.
//
// Contract:
//  - bisect_opt() is the search alone: `build(K)` builds the program with the
//    limit K (-1 = unlimited) and returns its compiler output; `fails(program)`
//    runs it. It checks that K=-1 fails and K=0 passes, then binary-searches
//    (pass at lo, fail at hi) in at most ~log2(passes)+2 builds. A limit whose
//    build fails (e.g. libstdc++'s always_inline members left un-inlined do
//    not link) is skipped for the nearest buildable limit above it; the
//    answer is then the smallest *buildable* failing limit.
//  - The limit counts passes per translation unit, so with CMAKE_CXX_FLAGS it
//    applies to every TU of the target alike; the pass lines at K are
//    reported for every TU that printed one (normally the repro's own TU is the
//    one that matters, and the report names the function the pass ran on).
//  - preset_bisect_builder() builds a CMake preset's target in a separate tree
//    <build_root>/<preset>-optbisect, reconfigured per K (the real trees stay
//    untouched). It requires a clang preset.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct BisectBuild {
  bool ok = false;
  std::string program;  // what to run
  std::string log;      // compiler output (the BISECT lines)
  std::string error;
};

using BisectBuilder = std::function<BisectBuild(int limit)>;
using BisectTester = std::function<bool(const std::string& program)>;  // true: it failed

struct BisectResult {
  bool found = false;
  std::string error;
  int first_failing = -1;                    // K
  int max_index = 0;                         // passes counted at K=-1 (largest per TU)
  std::vector<std::string> pass_lines;       // "BISECT: running pass (K) <pass> on <unit>"
  std::vector<std::pair<int, bool>> probes;  // (K, failed) in order
  std::vector<int> unbuildable;              // limits whose build failed (skipped passes the link needs)
};

nlohmann::json to_json(const BisectResult& r);

// Lines "BISECT: running pass (k) ..." of `log`.
std::vector<std::string> bisect_lines(const std::string& log, int k);
// The largest pass index in `log`, 0 when none.
int max_bisect_index(const std::string& log);

BisectResult bisect_opt(const BisectBuilder& build, const BisectTester& fails, int max_builds = 64);

BisectBuilder preset_bisect_builder(const std::filesystem::path& source_dir, const std::filesystem::path& build_root,
                                    const std::string& preset, const std::string& target, const std::string& scenario);

}  // namespace faultline::harness
