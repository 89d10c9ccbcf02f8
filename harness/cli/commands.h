// The harness's subcommands of the `faultline` CLI:
//   faultline run [options] -- CMD [ARGS...]
//   faultline matrix (--scenario NAME | --family FAMILY) [--builds a,b] [--repeat N] ...
// and `faultline repro matrix FAMILY` (attached to repro/cli's `repro` subcommand).
// Each command's callback calls std::exit with the documented code
// (0 all passed, 1 a failure, 77 skipped / rr demanded but unusable, 2 usage or tool error).
#pragma once

namespace CLI {
class App;
}

namespace faultline::harness {

// Adds `run` and `matrix` to `app`.
void add_commands(CLI::App& app);

// Adds `matrix FAMILY` to the `repro` subcommand owned by repro/cli (cli/main.cc
// calls it right after faultline::repro::add_commands).
void add_repro_matrix(CLI::App& repro);

}  // namespace faultline::harness
