// The one self-contained page: index.html.
//
// Contract: no network access of any kind (no scripts, no fonts, no
// external stylesheets or images); inline CSS and inline SVG only. Sections:
// headline numbers, the outcome matrix (scenario × build configuration, a
// coloured table), failure rate per build (bars with Wilson 95% whiskers),
// time-to-failure histograms, failure signatures (each linking to its
// Markdown report, which is also embedded in a collapsible block), stress
// time-series charts, and the inputs with every load warning. Every string
// from a record passes through html_escape.
#pragma once

#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/signature.h"

namespace faultline::reports {

struct HtmlInput {
  const RunSet& set;
  const Matrix& matrix;
  const std::vector<Signature>& signatures;
  const std::vector<std::string>& report_links;  // relative to index.html, per signature
  const std::vector<std::string>& report_texts;  // Markdown, per signature
  std::string generated_at;
};

std::string render_html(const HtmlInput& in);

}  // namespace faultline::reports
