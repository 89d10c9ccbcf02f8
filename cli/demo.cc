// `faultline demo`: the main job, short enough for a laptop (a couple of
// minutes after the build on 2 cores):
//   1. checks both io backends end to end (selftest);
//   2. reproduces every defect in the repro catalog — every variant of every
//      scenario once, through the harness, so crashes are classified and each
//      run leaves a result record in results/<run-id>/runs.jsonl;
//   3. starts the AT Protocol relay (its own process) against a small fleet of
//      fake upstream hosts, on the Evented and then the Threaded backend,
//      with verifying consumers: events/s in and out, threads, RSS, latency,
//      the invariants, then a clean shutdown (stress/, a short profile);
//   4. writes the report of all of it to reports/out/latest/.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/selftest.h"
#include "harness/run/child.h"
#include "harness/run/environment.h"
#include "harness/run/repeat.h"
#include "reports/generate.h"
#include "repro/common/catalog.h"
#include "stress/stress.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path project_root() {
  if (const char* env = std::getenv("FAULTLINE_ROOT"); env && *env) return env;
  return FAULTLINE_SOURCE_DIR;
}

// A variant that is the fix (must pass) rather than the defect (must fail).
bool is_fixed_variant(const std::string& scenario, const std::string& variant) {
  return variant == "fixed" || scenario == "ctxswitch/fixed";
}

struct VariantResult {
  std::string variant;
  std::string outcome;  // outcome key: pass, fail, hang, SIGSEGV/SEGV_MAPERR, ...
  bool failed = false;
  bool skipped = false;
};

std::string verdict(const std::string& scenario, const std::vector<VariantResult>& results) {
  bool fixes_pass = true, defects_fail = true, any_defect = false;
  for (const auto& r : results) {
    if (r.skipped) return "cannot run here";
    if (is_fixed_variant(scenario, r.variant)) {
      fixes_pass &= !r.failed;
    } else {
      any_defect = true;
      defects_fail &= r.failed;
    }
  }
  if (!fixes_pass) return "FIXED VARIANT FAILED";
  if (!any_defect) return "fixed variants pass";
  return defects_fail ? "reproduced" : "not reproduced in this build";
}

// Step 2: returns the results directory it wrote, or empty if no catalog.
fs::path reproduce_everything(const fs::path& root, bool& ok) {
  std::vector<repro::CatalogEntry> catalog;
  try {
    catalog = repro::read_catalog(repro::default_catalog_path());
  } catch (const std::exception& e) {
    std::printf("  skipped: %s\n", e.what());
    return {};
  }
  const std::string run_id = "demo-" + record::new_run_id();
  const fs::path results = root / "results";
  harness::RrProbe rr = harness::probe_rr();
  nlohmann::json environment = harness::collect_environment(&rr);
  std::printf("  rr here: %s\n", rr.usable ? "usable (records failing runs with faultline run --rr)"
                                           : ("not usable — " + rr.reason).c_str());
  std::size_t reproduced = 0, scenarios = 0;
  for (auto& entry : catalog) {
    repro::describe(entry);
    if (!entry.described) {
      std::printf("  %-34s %s\n", entry.scenario.c_str(), entry.problem.c_str());
      continue;
    }
    ++scenarios;
    std::vector<VariantResult> results_of;
    std::string line;
    for (const auto& variant : entry.variants) {
      harness::RepeatOptions opt;
      opt.child.command = {entry.path, "--variant", variant, "--json"};
      opt.child.timeout_s = 30;
      opt.repeat = 1;
      opt.child.crash_lib = harness::default_crash_lib();
      // One harness run per scenario variant (attempt ids are unique within a
      // run), all under one demo directory that the report reads.
      opt.results_root = results / run_id;
      opt.run_id = run_id + "-" + entry.scenario.substr(entry.scenario.find('/') + 1) + "-" + variant;
      opt.scenario = entry.scenario;
      opt.variant = variant;
      opt.build = record::this_build();
      opt.environment = environment;
      opt.write_summary = false;
      auto s = harness::run_repeated(opt);
      VariantResult r;
      r.variant = variant;
      r.failed = s.failures > 0;
      r.skipped = s.skips > 0;
      r.outcome = s.outcomes.empty() ? "?" : s.outcomes.begin()->first;
      line += "  " + variant + ": " + r.outcome;
      results_of.push_back(std::move(r));
    }
    std::string v = verdict(entry.scenario, results_of);
    if (v == "reproduced" || v == "fixed variants pass") ++reproduced;
    if (v == "FIXED VARIANT FAILED") ok = false;
    std::printf("  %-34s %-26s%s\n", entry.scenario.c_str(), v.c_str(), line.c_str());
    std::fflush(stdout);
  }
  std::printf("  %zu of %zu scenarios behaved as the catalog says (records: %s/*/runs.jsonl)\n", reproduced, scenarios,
              (results / run_id).c_str());
  return results / run_id;
}

int run_demo() {
  auto t0 = Clock::now();
  const fs::path root = project_root();
  bool ok = true;

  std::printf("faultline demo\n\n1. Self-check of both io backends\n");
  std::fflush(stdout);
  for (auto backend : {io::Backend::threaded, io::Backend::evented}) {
    SelftestOptions o;
    o.backend = backend;
    ok &= run_selftest(o);
  }

  std::printf("\n2. Reproducing every defect (each variant once, through the harness)\n");
  std::fflush(stdout);
  fs::path results = reproduce_everything(root, ok);

  std::printf("\n3. The relay under a fleet of fake hosts, both backends (stress, short profile)\n");
  std::fflush(stdout);
  std::vector<std::string> report_inputs;
  if (!results.empty()) report_inputs.push_back(results.string());
  {
    stress::StressOptions so;
    so.hosts = 400;
    so.rate = 2000;
    so.consumers = 4;
    so.duration_s = 8;
    so.compare = true;
    so.progress = false;
    so.out = results.empty() ? (root / "results" / ("demo-stress-" + record::new_run_id())).string()
                             : results.string() + "-stress";
    int rc = stress::run_stress(so);
    std::fflush(stdout);
    if (rc == 77) {
      std::printf("  skipped: the stress run cannot run here (see above)\n");
    } else {
      if (rc != 0) ok = false;
      report_inputs.push_back(so.out);
    }
  }

  std::printf("\n4. Report\n");
  if (report_inputs.empty()) {
    std::printf("  nothing to report\n");
  } else {
    try {
      auto r = reports::generate_report(report_inputs, (root / reports::kDefaultOutDir).string());
      std::printf("%s", r.text_summary.c_str());
    } catch (const std::exception& e) {
      std::printf("  could not write the report: %s\n", e.what());
      ok = false;
    }
  }

  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("\ndemo finished in %.1f s: %s\n", s, ok ? "everything behaved as expected" : "SOMETHING FAILED");
  return ok ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "The main job: check both backends, reproduce every defect, write a report");
  cmd->callback([] {
    if (int rc = run_demo()) throw CLI::RuntimeError(rc);
  });
}

}  // namespace faultline::cli
