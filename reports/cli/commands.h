// `faultline report`: the report generator's subcommand.
//
// Contract: add_commands() registers `report RESULTS_DIR... [--out DIR]`
// on the app. The command writes index.html, summary.json and bugs/*.md
// (see reports/generate.h), prints the short text summary on stdout and
// load warnings on stderr, and exits 0 whenever the report was written —
// failures in the records are the report's content, not an error.
// CLI11 stays out of this header: callers only need the forward declaration.
#pragma once

namespace CLI {
class App;
}

namespace faultline::reports {

void add_commands(CLI::App& app);

}  // namespace faultline::reports
