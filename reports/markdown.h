// The per-signature Markdown bug report, ready to paste upstream.
//
// Contract: every report has the same sections in the same order, so a
// reader (and the tests) can rely on them; a section with nothing recorded
// says "not captured" instead of disappearing:
//   Summary, Environment, Steps to reproduce, Expected vs actual,
//   Failure rate per build configuration, Signal details, Backtrace,
//   rr replay, Sanitizer report, Minimal repro, Runs
// (plus "Thread stacks at the hang" for hangs). Data comes from the most
// complete run of the signature; rates come from every run of the
// signature's scenarios. Every string from a record is escaped for the
// Markdown construct it lands in.
#pragma once

#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/signature.h"

namespace faultline::reports {

inline const std::vector<std::string> kReportSections = {"Summary",
                                                         "Environment",
                                                         "Steps to reproduce",
                                                         "Expected vs actual",
                                                         "Failure rate per build configuration",
                                                         "Signal details",
                                                         "Backtrace",
                                                         "rr replay",
                                                         "Sanitizer report",
                                                         "Minimal repro",
                                                         "Runs"};

struct MarkdownContext {
  const RunSet& set;
  std::string source_root;     // "" when the tree was not found
  std::string matrix_command;  // from matrix.json "command", if any
};

// Index into set.runs of the run with the most captured detail.
std::size_t representative_run(const RunSet& set, const Signature& sig);

std::string markdown_report(const MarkdownContext& ctx, const Signature& sig);

}  // namespace faultline::reports
