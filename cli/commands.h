// The subcommands that live in cli/ itself (selftest, demo, bench); the other
// folders contribute theirs through their own add_commands().
#pragma once

#include <filesystem>

namespace CLI {
class App;
}

namespace faultline::cli {

void add_selftest_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);

// The build tree this binary belongs to (<build>/cli/faultline -> <build>).
std::filesystem::path build_dir();

}  // namespace faultline::cli
