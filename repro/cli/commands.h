// `faultline repro list|run`: the command-line face of the repro catalog.
//
//   faultline repro list [--json]
//       every scenario in build/<preset>/repro/catalog.json, grouped by family,
//       with its variants (default marked) and one-line description, both read
//       from the program's own --describe so they never disagree with it.
//   faultline repro run NAME [--variant V] [--iterations N] [--fibers N] [--seed S] [--json] [--KEY VALUE ...]
//       execs the scenario's program with those arguments (scenario-specific
//       `--KEY VALUE` options are passed through); its exit status — 0 pass,
//       1 misbehaved, 77 cannot run here, or death by a signal — is faultline's.
//       NAME is `family/name`, or just `name` when that is unambiguous.
//
// The catalog is the one of the build tree the running faultline belongs to
// (/proc/self/exe is build/<preset>/cli/faultline); $FAULTLINE_REPRO_CATALOG
// or `repro --catalog PATH` points elsewhere.
#pragma once

namespace CLI {
class App;
}

namespace faultline::repro {

void add_commands(CLI::App& app);

}  // namespace faultline::repro
