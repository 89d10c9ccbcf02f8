// `faultline relay`: the AT Protocol relay (relay/core) as a command.
#pragma once

namespace CLI {
class App;
}

namespace faultline::relay {
void add_commands(CLI::App& app);
}
