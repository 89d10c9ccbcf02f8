// `faultline run` and `faultline matrix` (contract in commands.h).
#include "harness/cli/commands.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "harness/matrix/matrix.h"
#include "harness/run/environment.h"
#include "harness/run/repeat.h"

namespace faultline::harness {
namespace {

void on_sigint(int) {
  interrupt_flag().store(true);
  signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the harness at once
}

void install_sigint() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// "90", "90s", "5m", "1h", "250ms" -> seconds.
double parse_duration(const std::string& s) {
  std::size_t pos = 0;
  double v = std::stod(s, &pos);
  std::string unit = s.substr(pos);
  if (unit.empty() || unit == "s") return v;
  if (unit == "ms") return v / 1000;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  throw CLI::ValidationError("duration", "unknown unit in '" + s + "' (use s, ms, m, h)");
}

// "512M", "2G", "65536" -> bytes.
std::uint64_t parse_size(const std::string& s) {
  std::size_t pos = 0;
  double v = std::stod(s, &pos);
  std::string unit = s.substr(pos);
  double mult = 1;
  if (unit == "K" || unit == "k" || unit == "KiB")
    mult = 1024.0;
  else if (unit == "M" || unit == "m" || unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g" || unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    throw CLI::ValidationError("size", "unknown unit in '" + s + "' (use K, M, G)");
  return static_cast<std::uint64_t>(v * mult);
}

std::pair<unsigned, unsigned> parse_shard(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) throw CLI::ValidationError("--shard", "expected i/n, e.g. 0/4");
  unsigned i = static_cast<unsigned>(std::stoul(s.substr(0, slash)));
  unsigned n = static_cast<unsigned>(std::stoul(s.substr(slash + 1)));
  if (n == 0 || i >= n) throw CLI::ValidationError("--shard", "need 0 <= i < n in '" + s + "'");
  return {i, n};
}

std::string default_source_dir() {
  if (const char* r = std::getenv("FAULTLINE_ROOT"); r && *r) return r;
#ifdef FAULTLINE_SOURCE_DIR
  return FAULTLINE_SOURCE_DIR;
#else
  return ".";
#endif
}

struct CommonArgs {
  std::string timeout = "60";
  std::string memory_limit;
  std::string results = "results";
  std::string run_id;
  std::string shard;
  std::string crash_lib;
  std::string gdb_timeout = "60";
  bool no_hang_stacks = false;
  bool keep_passing = false;
  bool no_crash_lib = false;
  unsigned jobs = 1;
  std::vector<std::string> env;
  bool json = false;
};

void add_common(CLI::App* c, CommonArgs& a) {
  c->add_option("--timeout", a.timeout, "hang timeout per attempt (90, 90s, 5m)")->capture_default_str();
  c->add_option("--memory-limit", a.memory_limit, "address-space limit per attempt (RLIMIT_AS), e.g. 512M");
  c->add_option("--results", a.results, "results root; records go to <results>/<run-id>/runs.jsonl")
      ->capture_default_str();
  c->add_option("--run-id", a.run_id, "reuse/force the run id (default: a fresh one)");
  c->add_option("--shard", a.shard, "run only attempts k with k % n == i (i/n)");
  c->add_option("-j,--jobs", a.jobs, "parallel attempts")->capture_default_str();
  c->add_option("--crash-lib", a.crash_lib, "path of libfaultline_crash.so (default: the build's own)");
  c->add_flag("--no-crash-lib", a.no_crash_lib, "do not preload the crash library");
  c->add_flag("--no-hang-stacks", a.no_hang_stacks, "kill hanging targets without collecting stacks");
  c->add_option("--gdb-timeout", a.gdb_timeout, "time limit of the hang stack collection")->capture_default_str();
  c->add_flag("--keep-passing", a.keep_passing, "keep stdout/stderr of passing attempts too");
  // One value per occurrence, so `--env A=1 CMD` cannot swallow the command.
  c->add_option("--env", a.env, "extra environment for the target, KEY=VALUE (repeatable)")->allow_extra_args(false);
  c->add_flag("--json", a.json, "print the summary as JSON on stdout");
}

ChildOptions child_from(const CommonArgs& a) {
  ChildOptions c;
  c.timeout_s = parse_duration(a.timeout);
  if (!a.memory_limit.empty()) c.memory_limit = parse_size(a.memory_limit);
  c.crash_lib = a.no_crash_lib ? std::string{} : (a.crash_lib.empty() ? default_crash_lib() : a.crash_lib);
  if (!c.crash_lib.empty() && access(c.crash_lib.c_str(), R_OK) != 0) {
    std::cerr << "faultline: crash library " << c.crash_lib
              << " not found; running without in-process capture (build target faultline_crash)\n";
    c.crash_lib.clear();
  }
  c.hang_stacks = !a.no_hang_stacks;
  c.gdb_timeout_s = parse_duration(a.gdb_timeout);
  c.keep_passing = a.keep_passing;
  for (const auto& kv : a.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw CLI::ValidationError("--env", "expected KEY=VALUE, got '" + kv + "'");
    c.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return c;
}

struct RunArgs : CommonArgs {
  std::uint64_t repeat = 1;
  bool until_fail = false;
  std::string max_time;
  bool core = false;
  std::string rr;
  bool rr_given = false;
  std::string scenario, variant, build_type, compiler, preset;
  std::vector<std::string> command;
};

int do_run(RunArgs& a) {
  install_sigint();
  RepeatOptions r;
  r.child = child_from(a);
  r.child.command = a.command;
  r.child.core = a.core;
  if (a.command.empty()) {
    std::cerr << "faultline run: no command; usage: faultline run [options] -- CMD [ARGS...]\n";
    return 2;
  }
  // --until-fail without --repeat: bounded by a large cap and by --max-time.
  r.repeat = a.until_fail && a.repeat == 1 ? 1000000 : a.repeat;
  r.until_fail = a.until_fail;
  if (!a.max_time.empty())
    r.max_time_s = parse_duration(a.max_time);
  else if (a.until_fail)
    r.max_time_s = 3600;
  r.jobs = a.jobs;
  if (!a.shard.empty()) std::tie(r.shard_index, r.shard_count) = parse_shard(a.shard);
  r.results_root = a.results;
  r.run_id = a.run_id;
  r.scenario = a.scenario;
  r.variant = a.variant;
  r.build.type = a.build_type;
  r.build.compiler = a.compiler;
  r.build.preset = a.preset;
  r.progress = isatty(2) != 0;

  RrProbe rr = probe_rr();
  nlohmann::json rr_decision{{"requested", a.rr_given ? (a.rr.empty() ? "on" : a.rr) : "off"}};
  if (a.rr_given) {
    const std::string mode = a.rr.empty() ? "on" : a.rr;
    if (mode != "on" && mode != "chaos" && mode != "auto") {
      std::cerr << "faultline run: --rr takes no value or one of chaos, auto (got '" << mode << "')\n";
      return 2;
    }
    if (rr.usable) {
      r.child.rr = mode == "chaos" ? RrMode::chaos : RrMode::on;
      rr_decision["used"] = true;
      std::cerr << "faultline: recording under rr" << (mode == "chaos" ? " (chaos mode)" : "")
                << "; FAULTLINE_REACTOR=epoll for the target; traces kept for failing runs only\n";
    } else if (mode == "auto") {
      rr_decision["used"] = false;
      rr_decision["reason"] = rr.reason;
      std::cerr << "faultline: rr is not usable here, continuing without it (--rr=auto): " << rr.reason << "\n";
    } else {
      std::cerr << "faultline: rr is not usable here: " << rr.reason << "\n"
                << "faultline: skipping (exit 77); use --rr=auto to run without rr\n";
      return 77;
    }
  }
  r.environment = collect_environment(&rr);
  r.extra_details["rr"] = rr_decision;
  auto s = run_repeated(r);
  if (a.json)
    std::cout << to_json(s).dump(2) << "\n";
  else
    std::cerr << format_summary(s);
  if (s.interrupted) return 130;
  if (s.failures > 0) return 1;
  if (s.attempts > 0 && s.skips == s.attempts) return 77;
  return 0;
}

struct MatrixArgs : CommonArgs {
  std::vector<std::string> scenarios;
  std::string family;
  std::string builds =
      "debug,relwithdebinfo,release,minsizerel,clang-debug,clang-relwithdebinfo,clang-release,clang-minsizerel";
  std::string variants;
  std::uint64_t repeat = 5;
  std::string source, build_root;
  bool no_build = false;
  bool bisect_opt = false;
  std::uint64_t bisect_repeat = 3;
  std::vector<std::string> extra;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto c = s.find(',', pos);
    if (c == std::string::npos) c = s.size();
    if (c > pos) out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

int do_matrix(MatrixArgs& a) {
  install_sigint();
  if (a.scenarios.empty() && a.family.empty()) {
    std::cerr << "faultline matrix: give --scenario NAME or --family FAMILY\n";
    return 2;
  }
  MatrixOptions m;
  m.scenarios = a.scenarios;
  m.family = a.family;
  m.builds = split_commas(a.builds);
  m.variants = split_commas(a.variants);
  m.extra_args = a.extra;
  m.repeat = a.repeat;
  m.jobs = a.jobs;
  if (!a.shard.empty()) std::tie(m.shard_index, m.shard_count) = parse_shard(a.shard);
  m.source_dir = a.source.empty() ? default_source_dir() : a.source;
  m.build_root = a.build_root.empty() ? m.source_dir / "build" : std::filesystem::path(a.build_root);
  m.build = !a.no_build;
  m.results_root = a.results;
  m.run_id = a.run_id;
  m.child = child_from(a);
  m.progress = isatty(2) != 0;
  m.bisect_opt = a.bisect_opt;
  m.bisect_repeat = a.bisect_repeat;
  if (a.bisect_repeat == 0) throw CLI::ValidationError("--bisect-repeat", "must be at least 1");
  RrProbe rr = probe_rr();
  m.environment = collect_environment(&rr);
  auto res = run_matrix(m);
  if (a.json)
    std::cout << to_json(res).dump(2) << "\n";
  else
    std::cout << format_matrix_table(res);
  bool any_error = false;
  for (const auto& c : res.cells) any_error = any_error || !c.error.empty();
  // --bisect-opt that could not run (no clang build, no unit, build broken).
  for (const auto& b : res.bisects) any_error = any_error || b["result"].value("status", "") == "error";
  return any_error ? 2 : 0;
}

void add_matrix_options(CLI::App* c, MatrixArgs& a) {
  add_common(c, a);
  c->add_option("--builds", a.builds,
                "comma-separated CMake presets; sanitizer presets (asan, gcc-asan, tsan, ubsan) name their reports")
      ->capture_default_str();
  c->add_option("--variants", a.variants, "comma-separated variants (default: all the program describes)");
  c->add_option("--repeat", a.repeat, "attempts per cell")->capture_default_str();
  c->add_option("--source", a.source, "source tree with CMakePresets.json (default: $FAULTLINE_ROOT)");
  c->add_option("--build-root", a.build_root, "where the preset trees are (default: <source>/build)");
  c->add_flag("--no-build", a.no_build, "use the build trees as they are (no configure/build)");
  c->add_flag("--bisect-opt", a.bisect_opt,
              "for clang presets: smallest -mllvm -opt-bisect-limit at which a failing variant starts to fail");
  c->add_option("--bisect-repeat", a.bisect_repeat,
                "runs per --bisect-opt step; a limit fails when any run fails (the last passing one is re-run 2x more)")
      ->capture_default_str();
  c->add_option("extra", a.extra, "arguments passed to every repro run (after --)");
}

}  // namespace

void add_repro_matrix(CLI::App& repro) {
  auto a = std::make_shared<MatrixArgs>();
  auto* c = repro.add_subcommand("matrix", "every scenario of FAMILY × every variant × builds");
  c->add_option("family", a->family, "scenario family, e.g. ctxswitch")->required();
  add_matrix_options(c, *a);
  c->callback([a] { std::exit(do_matrix(*a)); });
}

void add_commands(CLI::App& app) {
  auto ra = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "run a target, capture and classify how it fails, repeat it, record it");
  add_common(run, *ra);
  run->add_option("--repeat", ra->repeat, "number of attempts")->capture_default_str();
  run->add_flag("--until-fail", ra->until_fail, "stop at the first failure (bounded by --max-time, default 1h)");
  run->add_option("--max-time", ra->max_time, "time budget for all attempts (90s, 10m, 1h)");
  run->add_flag("--core", ra->core, "allow core dumps; kept for failing runs only");
  run->add_option("--rr", ra->rr, "record under rr: --rr, --rr=chaos, --rr=auto (fall back when rr cannot work)")
      ->expected(0, 1);
  run->add_option("--scenario", ra->scenario, "scenario name for the record (default: the command line)");
  run->add_option("--variant", ra->variant, "variant name for the record");
  run->add_option("--build-type", ra->build_type, "the target's build type, when it does not print a record");
  run->add_option("--compiler", ra->compiler, "the target's compiler and version");
  run->add_option("--preset", ra->preset, "the target's CMake preset");
  run->add_option("command", ra->command, "the target command (after --)")->required();
  run->callback([ra, run] {
    ra->rr_given = run->count("--rr") > 0;
    try {
      std::exit(do_run(*ra));
    } catch (const std::exception& e) {
      std::cerr << "faultline run: " << e.what() << "\n";
      std::exit(2);
    }
  });

  auto ma = std::make_shared<MatrixArgs>();
  auto* matrix = app.add_subcommand("matrix", "compare a scenario across build presets and variants");
  matrix->add_option("--scenario", ma->scenarios, "scenario name (repeatable), e.g. ctxswitch/missing-clobber");
  matrix->add_option("--family", ma->family, "every scenario of this family");
  add_matrix_options(matrix, *ma);
  matrix->callback([ma] {
    try {
      std::exit(do_matrix(*ma));
    } catch (const std::exception& e) {
      std::cerr << "faultline matrix: " << e.what() << "\n";
      std::exit(2);
    }
  });
}

}  // namespace faultline::harness
