// `faultline bench switch`: runs the Google Benchmark suite bench/switch from
// this build tree (extra arguments go to Google Benchmark).
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace faultline::cli {

std::filesystem::path build_dir() {
  // The binary is <build>/cli/faultline.
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
}

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Run a benchmark suite: switch (context switch, spawn, echo costs)");
  auto suite = std::make_shared<std::string>();
  auto rest = std::make_shared<std::vector<std::string>>();
  cmd->add_option("suite", *suite, "suite name")->required()->check(CLI::IsMember({"switch"}));
  cmd->add_option("args", *rest, "arguments for Google Benchmark (e.g. --benchmark_filter=Yield)");
  cmd->allow_extras();
  cmd->callback([suite, rest, cmd] {
    auto exe = build_dir() / "bench" / (*suite + "_bench");
    if (!std::filesystem::exists(exe)) {
      std::fprintf(stderr, "faultline bench: %s is not built (run ./faultline build)\n", exe.c_str());
      throw CLI::RuntimeError(2);
    }
    std::vector<std::string> args{exe.string()};
    for (const auto& a : *rest) args.push_back(a);
    for (const auto& a : cmd->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::perror("faultline bench: execv");
    throw CLI::RuntimeError(2);
  });
}

}  // namespace faultline::cli
