// The `faultline splitproxy` subcommand (see splitproxy.h for what it does).
// cli/main.cc calls add_commands(app) once; the callback runs the proxy and
// turns a non-zero result into CLI::RuntimeError so `faultline` exits with it.
#pragma once

namespace CLI {
class App;
}

namespace faultline::splitproxy {

void add_commands(CLI::App& app);

}  // namespace faultline::splitproxy
