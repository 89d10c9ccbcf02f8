// --bisect-opt: the smallest clang `-mllvm -opt-bisect-limit=K` at which a
// scenario starts to fail, and the optimisation pass that K names (and the
// function it ran on), so a miscompile report can point at the pass.
//
// Contract:
//  - bisect_opt() is the search alone: `build(K)` builds the program with the
//    limit K (-1 = unlimited) and returns its compiler output; `fails(program)`
//    runs it once (true: that run failed). Each probe K runs the program up to
//    `repeat` times and stops at the first failing run. Rule: a limit FAILS
//    when any of its runs fails, and PASSES only when all `repeat` runs pass.
//    A correctly compiled program never fails, so one failure is proof that
//    the miscompile is in; a flaky scenario can only make a limit look
//    *passing* wrongly, never failing. Against that, before answering, the
//    last passing limit is run `verify_repeat` more times; if it fails then,
//    the search resumes below it with `repeat` and `verify_repeat` doubled
//    (`reverified` counts these, `flaky` is set).
//  - Order: K=-1 must fail (else status passes_without_limit, "nothing to
//    bisect"); K=0 must pass (else status fails_at_zero: the failure does not
//    come from an optional pass in that unit); then binary search between a
//    passing lo and a failing hi over 0..max_index (the number of passes at
//    K=-1), ≈ log2(max_index) + 2 builds. A limit whose build fails is skipped
//    for the nearest buildable limit above it (`unbuildable`).
//  - The answer: first_failing = K, last_passing = the largest passing limit
//    below it (K-1 unless limits in between did not build), and the line
//    "BISECT: running pass (K) NAME on WHAT" of clang's output, parsed into
//    the pass NAME and the function: WHAT itself for function passes, the
//    members of "(f, g)" for CGSCC passes, X of "function (X)" for codegen
//    passes, and for loop passes ("on Loop at depth ...") the function of
//    the nearest preceding function-level line (function_inferred).
//  - The limit counts passes per translation unit (one clang -cc1 run), so
//    it is applied to ONE unit: find_unit_build() picks it from a Ninja build
//    tree (compile_commands.json + `ninja -t commands <target>`): the target's
//    object whose compile command has -DFAULTLINE_OPT_BISECT_UNIT, else its
//    only object. unit_bisect_builder() recompiles that unit with the same
//    command plus `-mllvm -opt-bisect-limit=K` into `work_dir`, and relinks
//    the target with the same link command, the unit's object swapped for the
//    new one (the real tree is untouched): one compile and one link per probe.
//    If a low limit leaves libstdc++'s always_inline members of its extern
//    templates (allocator<char>::allocate, ...) un-inlined, that link fails
//    with undefined references; it is then retried once with a small object of
//    explicit instantiations of those classes (libstdcxx_shim.o, the same
//    header code), and `shimmed` lists the limits that needed it.
//  - run_opt_bisects() is the matrix step (`faultline matrix --bisect-opt`):
//    every cell of a clang build (compiler id from the tree's CMakeCache.txt)
//    that failed in the matrix is bisected; cells that never failed say
//    passes_without_limit; gcc builds are skipped with a note, and when no
//    requested build is a clang build every entry is status "error" (the CLI
//    exits 2). Probe runs are not appended to runs.jsonl (they are not the
//    matrix's builds); each entry goes to matrix.json `bisect_opt[]`.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct MatrixOptions;
struct MatrixResult;

struct BisectBuild {
  bool ok = false;
  std::string program;  // what to run
  std::string log;      // compiler output (the BISECT lines)
  std::string error;
  bool shimmed = false;  // linked with the libstdc++ explicit-instantiation object
};

using BisectBuilder = std::function<BisectBuild(int limit)>;
using BisectTester = std::function<bool(const std::string& program)>;  // one run; true: it failed

struct BisectOptions {
  unsigned repeat = 3;         // runs per probe; any failing run = the limit fails
  unsigned verify_repeat = 6;  // extra runs of the last passing limit before answering
  int max_builds = 64;
  std::function<void(const std::string&)> progress;  // one line per probe
  const std::atomic<bool>* interrupted = nullptr;
};

struct BisectProbe {
  int limit = 0;
  bool built = false;
  bool failed = false;
  unsigned runs = 0, failures = 0;
  bool recheck = false;  // a re-run of the last passing limit, no build
  std::string program;
};

// "BISECT: running pass (K) NAME on WHAT", parsed.
struct BisectPass {
  std::string line;
  std::string name;                // NAME
  std::string on;                  // WHAT
  std::string function;            // mangled, "" for module passes; "a, b" for a CGSCC of several
  std::string function_demangled;  // the same, demangled
  bool function_inferred = false;  // loop pass: taken from the preceding function-level line
};

struct BisectResult {
  // found | passes_without_limit | fails_at_zero | error | interrupted
  std::string status = "error";
  bool found = false;
  std::string error;                    // what went wrong (status error), or why there is no answer
  int first_failing = -1;               // K
  int last_passing = -1;                // largest passing limit below K
  int max_index = 0;                    // passes counted at K=-1
  std::vector<std::string> pass_lines;  // "BISECT: running pass (K) <pass> on <unit>"
  BisectPass pass;                      // pass_lines[0], parsed
  std::vector<BisectProbe> probes;      // in order
  std::vector<int> unbuildable;         // limits whose build failed
  std::vector<int> shimmed;             // limits that linked only with the libstdc++ shim
  int steps = 0;                        // builds
  double wall_s = 0;
  unsigned repeat = 0, verify_repeat = 0;
  unsigned reverified = 0;  // times the last passing limit failed on re-check
  bool flaky = false;
  std::string first_failing_program, last_passing_program;
};

nlohmann::json to_json(const BisectResult& r);

// Lines "BISECT: running pass (k) ..." of `log`.
std::vector<std::string> bisect_lines(const std::string& log, int k);
// The largest pass index in `log`, 0 when none.
int max_bisect_index(const std::string& log);
// The pass at index k of `log` (empty line when there is none).
BisectPass bisect_pass_at(const std::string& log, int k);

BisectResult bisect_opt(const BisectBuilder& build, const BisectTester& fails, const BisectOptions& opt = {});

// One translation unit of a target in a Ninja build tree, and how to rebuild
// it and relink the target (see the contract above).
struct UnitBuild {
  std::filesystem::path tree;
  std::filesystem::path compile_dir;  // compile_commands.json "directory"
  std::vector<std::string> compile;   // argv
  std::string source;                 // the unit's source file
  std::string object;                 // the -o of `compile` (as the link command names it)
  std::vector<std::string> link;      // argv, run in `tree`
  std::string program;                // the -o of `link`
  std::string compiler_version;       // first line of `<compiler> --version`
  bool clang = false;
};

// `target`'s unit in `tree`; nullopt with `error` set when it cannot be found.
std::optional<UnitBuild> find_unit_build(const std::filesystem::path& tree, const std::string& target,
                                         std::string& error);
BisectBuilder unit_bisect_builder(const UnitBuild& unit, const std::filesystem::path& work_dir);

// The matrix step (see the contract above): appends to res.bisects.
void run_opt_bisects(const MatrixOptions& opt, MatrixResult& res);
// The table lines for res.bisects.
std::string format_bisects(const nlohmann::json& bisects);

// Shell words of a compile_commands.json / ninja command line.
std::vector<std::string> split_shell_words(const std::string& command);

}  // namespace faultline::harness
