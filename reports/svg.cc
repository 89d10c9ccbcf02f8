// Inline SVG charts (see svg.h).
#include "reports/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/text.h"

namespace faultline::reports::svg {
namespace {

const char* kPalette[] = {"#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"};

std::string f(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string fmt_unit(double v, Unit u) {
  switch (u) {
    case Unit::bytes:
      return fmt_bytes(v);
    case Unit::ms:
      return fmt_num(v) + " ms";
    case Unit::per_s:
      return fmt_num(v) + "/s";
    default:
      return fmt_num(v);
  }
}

std::string open_svg(int w, int h, const std::string& title) {
  std::ostringstream o;
  o << "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << w << " " << h
    << "\" width=\"100%\" role=\"img\" aria-label=\"" << html_escape(title) << "\"><title>" << html_escape(title)
    << "</title>";
  return o.str();
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  double span = hi - lo;
  double raw = span / std::max(1, target);
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::floor(lo / step) * step; v <= hi + step * 1e-9 && t.size() < 50; v += step)
    if (v >= lo - step * 1e-9) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string rate_bars(const std::string& title, const std::vector<Bar>& bars) {
  // Label and numbers sit above each bar, so long build names never clip.
  const int w = 540, row = 46, left = 8, right = 8, top = 8;
  int h = top + row * static_cast<int>(std::max<std::size_t>(bars.size(), 1)) + 26;
  double pw = w - left - right;
  std::ostringstream o;
  o << open_svg(w, h, title);
  for (int i = 0; i <= 4; ++i) {
    double x = left + pw * i / 4;
    o << "<line x1=\"" << f(x) << "\" y1=\"" << top << "\" x2=\"" << f(x) << "\" y2=\"" << h - 22
      << "\" stroke=\"#e5e7eb\"/><text x=\"" << f(x) << "\" y=\"" << h - 8 << "\" font-size=\"11\" text-anchor=\""
      << (i == 0   ? "start"
          : i == 4 ? "end"
                   : "middle")
      << "\" fill=\"#6b7280\">" << i * 25 << "%</text>";
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    double y = top + row * static_cast<double>(i);
    double v = std::clamp(b.value, 0.0, 1.0);
    const char* colour = v == 0 ? "#16a34a" : v < 0.5 ? "#f59e0b" : "#dc2626";
    o << "<text x=\"" << left << "\" y=\"" << f(y + 13) << "\" font-size=\"12.5\" font-weight=\"600\" fill=\"#111827\">"
      << html_escape(b.label) << "</text>";
    o << "<text x=\"" << w - right << "\" y=\"" << f(y + 13)
      << "\" font-size=\"12\" text-anchor=\"end\" fill=\"#374151\"><tspan font-weight=\"700\">"
      << html_escape(fmt_pct(v)) << "</tspan>  " << html_escape(b.note + " runs") << "</text>";
    o << "<rect x=\"" << left << "\" y=\"" << f(y + 19) << "\" width=\"" << f(pw)
      << "\" height=\"18\" rx=\"4\" fill=\"#f3f4f6\"/>";
    o << "<rect class=\"bar\" x=\"" << left << "\" y=\"" << f(y + 19) << "\" width=\""
      << f(std::max(v * pw, v > 0 ? 2.0 : 0.0)) << "\" height=\"18\" rx=\"4\" fill=\"" << colour << "\"><title>"
      << html_escape(b.label + ": " + fmt_pct(v) + " (" + b.note + "), 95% " + fmt_pct(b.low) + "–" + fmt_pct(b.high))
      << "</title></rect>";
    double x1 = left + pw * std::clamp(b.low, 0.0, 1.0), x2 = left + pw * std::clamp(b.high, 0.0, 1.0);
    o << "<path d=\"M" << f(x1) << " " << f(y + 28) << "H" << f(x2) << "M" << f(x1) << " " << f(y + 23) << "V"
      << f(y + 33) << "M" << f(x2) << " " << f(y + 23) << "V" << f(y + 33)
      << "\" stroke=\"#111827\" stroke-width=\"1.3\" fill=\"none\"/>";
  }
  o << "</svg>";
  return o.str();
}

std::string histogram(const std::string& title, const std::vector<double>& values, const std::string& x_label,
                      const std::string& colour) {
  const int w = 720, h = 260, left = 50, right = 20, top = 20, bottom = 50;
  std::ostringstream o;
  o << open_svg(w, h, title);
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x) && x >= 0) v.push_back(x);
  if (v.empty()) {
    o << "<text x=\"" << w / 2 << "\" y=\"" << h / 2
      << "\" text-anchor=\"middle\" fill=\"#6b7280\">no data</text></svg>";
    return o.str();
  }
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  bool logb = lo > 0 && hi / lo > 100;
  const int nb = std::clamp(static_cast<int>(std::sqrt(static_cast<double>(v.size()))) + 3, 4, 24);
  std::vector<double> edges(nb + 1);
  for (int i = 0; i <= nb; ++i) {
    double t = static_cast<double>(i) / nb;
    edges[i] = logb ? std::exp(std::log(lo) + t * (std::log(hi) - std::log(lo))) : lo + t * (hi - lo);
  }
  if (hi == lo) {
    edges.front() = lo - 0.5;
    edges.back() = hi + 0.5;
    for (int i = 1; i < nb; ++i) edges[i] = edges.front() + (edges.back() - edges.front()) * i / nb;
  }
  std::vector<int> counts(nb, 0);
  for (double x : v) {
    int b = 0;
    while (b < nb - 1 && x >= edges[b + 1]) ++b;
    ++counts[b];
  }
  int cmax = *std::max_element(counts.begin(), counts.end());
  double pw = w - left - right, ph = h - top - bottom;
  for (double t : nice_ticks(0, cmax, 4)) {
    if (t != std::floor(t)) continue;
    double y = top + ph - ph * t / cmax;
    o << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << f(y) << "\" y2=\"" << f(y)
      << "\" stroke=\"#e5e7eb\"/><text x=\"" << left - 6 << "\" y=\"" << f(y + 4)
      << "\" font-size=\"11\" text-anchor=\"end\" fill=\"#6b7280\">" << fmt_num(t) << "</text>";
  }
  double bw = pw / nb;
  for (int i = 0; i < nb; ++i) {
    double bh = ph * counts[i] / cmax;
    o << "<rect class=\"bar\" x=\"" << f(left + bw * i + 1) << "\" y=\"" << f(top + ph - bh) << "\" width=\""
      << f(bw - 2) << "\" height=\"" << f(bh) << "\" rx=\"2\" fill=\"" << colour << "\"><title>"
      << html_escape(fmt_num(edges[i]) + " – " + fmt_num(edges[i + 1]) + ": " + std::to_string(counts[i]))
      << "</title></rect>";
  }
  for (int i = 0; i <= nb; i += std::max(1, nb / 6))
    o << "<text x=\"" << f(left + bw * i) << "\" y=\"" << top + ph + 16 << "\" font-size=\"11\" text-anchor=\"middle\" "
      << "fill=\"#6b7280\">" << html_escape(fmt_num(edges[i])) << "</text>";
  o << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << f(top + ph) << "\" y2=\"" << f(top + ph)
    << "\" stroke=\"#9ca3af\"/>";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 8
    << "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#374151\">"
    << html_escape(x_label + (logb ? " (log scale)" : "") + " · " + std::to_string(v.size()) + " failing runs")
    << "</text></svg>";
  return o.str();
}

std::string line_chart(const std::string& title, const std::vector<Line>& lines, Unit unit) {
  const int w = 560, h = 250, left = 70, right = 16, top = 44, bottom = 34;
  std::ostringstream o;
  o << open_svg(w, h, title);
  double x0 = 1e300, x1 = -1e300, y1 = 0;
  for (const auto& l : lines)
    for (auto [x, y] : l.points) {
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y1 = std::max(y1, y);
    }
  o << "<text x=\"" << left << "\" y=\"16\" font-size=\"13\" font-weight=\"600\" fill=\"#111827\">"
    << html_escape(title) << "</text>";
  if (x0 > x1) {
    o << "<text x=\"" << w / 2 << "\" y=\"" << h / 2
      << "\" text-anchor=\"middle\" fill=\"#6b7280\">no data</text></svg>";
    return o.str();
  }
  if (x1 == x0) x1 = x0 + 1;
  // Byte axes tick at round binary sizes (256 MiB, 512 MiB, ...), not decimal ones.
  double scale = 1;
  if (unit == Unit::bytes)
    while (scale * 1024 <= y1 && scale < 1099511627776.0) scale *= 1024;
  auto yt = nice_ticks(0, y1 > 0 ? y1 / scale : 1, 4);
  for (auto& t : yt) t *= scale;
  double ymax = std::max(yt.back(), y1 > 0 ? y1 : 1);
  double pw = w - left - right, ph = h - top - bottom;
  auto X = [&](double x) { return left + pw * (x - x0) / (x1 - x0); };
  auto Y = [&](double y) { return top + ph - ph * y / ymax; };
  for (double t : yt)
    o << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << f(Y(t)) << "\" y2=\"" << f(Y(t))
      << "\" stroke=\"#e5e7eb\"/><text x=\"" << left - 6 << "\" y=\"" << f(Y(t) + 4)
      << "\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7280\">" << html_escape(fmt_unit(t, unit)) << "</text>";
  for (double t : nice_ticks(x0, x1, 6))
    o << "<text x=\"" << f(X(t)) << "\" y=\"" << h - 16
      << "\" font-size=\"10\" text-anchor=\"middle\" fill=\"#6b7280\">" << html_escape(fmt_num(t)) << "</text>";
  o << "<text x=\"" << w - right << "\" y=\"" << h - 2
    << "\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7280\">t (s)</text>";
  int legend_x = left + 8;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const char* c = kPalette[i % 8];
    std::string d;
    for (auto [x, y] : lines[i].points) d += (d.empty() ? "M" : "L") + f(X(x)) + " " + f(Y(y));
    if (lines[i].points.size() == 1) d += "h1";
    o << "<path class=\"series\" d=\"" << d << "\" fill=\"none\" stroke=\"" << c
      << "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>";
    o << "<rect x=\"" << legend_x << "\" y=\"" << top - 16 << "\" width=\"10\" height=\"3\" fill=\"" << c
      << "\"/><text x=\"" << legend_x + 14 << "\" y=\"" << top - 12 << "\" font-size=\"10\" fill=\"#374151\">"
      << html_escape(lines[i].name) << "</text>";
    legend_x += 24 + static_cast<int>(lines[i].name.size()) * 6;
  }
  o << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << f(top + ph) << "\" y2=\"" << f(top + ph)
    << "\" stroke=\"#9ca3af\"/></svg>";
  return o.str();
}

}  // namespace faultline::reports::svg
