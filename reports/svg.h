// Inline SVG charts for the HTML page, generated as text (no scripts, no
// external resources). Every label is escaped; every chart has a <title>
// for screen readers and a class "chart" the browser test looks for.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace faultline::reports::svg {

struct Bar {
  std::string label;
  double value = 0;          // 0..1
  double low = 0, high = 0;  // interval, drawn as a whisker
  std::string note;          // "3 / 40"
};
// Horizontal bars of a rate with interval whiskers.
std::string rate_bars(const std::string& title, const std::vector<Bar>& bars);

// A histogram of `values`; log-spaced bins when they span > 2 decades.
std::string histogram(const std::string& title, const std::vector<double>& values, const std::string& x_label,
                      const std::string& colour);

enum class Unit { number, bytes, ms, per_s };
struct Line {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (t, value)
};
std::string line_chart(const std::string& title, const std::vector<Line>& lines, Unit unit);

// Nice tick values covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

}  // namespace faultline::reports::svg
