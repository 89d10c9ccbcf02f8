// `faultline report` (see commands.h).
#include "reports/cli/commands.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "reports/generate.h"
#include "reports/source_tree.h"

namespace faultline::reports {
namespace {

struct ReportOptions {
  std::vector<std::string> dirs;
  std::string out;
};

// Relative defaults resolve against the source tree (the launcher sets
// FAULTLINE_ROOT), so `./faultline report` from anywhere lands in one place.
std::string under_root(const std::string& rel) {
  std::string root = source_root();
  return root.empty() ? rel : (std::filesystem::path(root) / rel).string();
}

int run_report(const ReportOptions& o) {
  std::vector<std::string> dirs = o.dirs;
  if (dirs.empty()) dirs.push_back(under_root("results"));
  std::string out = o.out.empty() ? under_root(kDefaultOutDir) : o.out;
  try {
    auto r = generate_report(dirs, out);
    for (const auto& w : r.warnings) std::cerr << "faultline report: warning: " << w << "\n";
    std::cout << r.text_summary;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "faultline report: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

void add_commands(CLI::App& app) {
  auto opts = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Turn result records into Markdown bug reports and one HTML page");
  cmd->add_option("results", opts->dirs,
                  "Result directories, run directories or runs.jsonl files (searched recursively; "
                  "default: <root>/results)");
  cmd->add_option("--out,-o", opts->out, "Output directory (default: <root>/reports/out/latest)");
  cmd->footer(
      "Writes index.html, summary.json and bugs/<signature>.md; input formats are described in reports/README.md.");
  cmd->callback([opts] {
    int rc = run_report(*opts);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace faultline::reports
