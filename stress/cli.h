// `faultline stress` (and the internal `faultline stress fleet`): the stress
// suite's subcommand. CLI11 stays out of this header.
#pragma once

namespace CLI {
class App;
}

namespace faultline::stress {

void add_commands(CLI::App& app);

}  // namespace faultline::stress
