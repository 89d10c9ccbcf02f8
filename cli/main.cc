#include <CLI/CLI.hpp>

#include "cli/commands.h"

#include "harness/cli/commands.h"
#include "relay/cli/commands.h"
#include "reports/cli/commands.h"
#include "repro/cli/commands.h"
#include "repro/splitproxy/commands.h"
#include "stress/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"faultline — reproduce, record and report bugs in fiber runtimes"};
  app.require_subcommand(1);
  faultline::cli::add_demo_command(app);
  faultline::cli::add_selftest_command(app);
  faultline::cli::add_bench_command(app);
  faultline::harness::add_commands(app);
  faultline::repro::add_commands(app);
  faultline::harness::add_repro_matrix(*app.get_subcommand("repro"));
  faultline::splitproxy::add_commands(app);
  faultline::reports::add_commands(app);
  faultline::stress::add_commands(app);
  faultline::relay::add_commands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
