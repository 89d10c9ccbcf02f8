// Text helpers (see text.h).
#include "reports/text.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace faultline::reports {

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|')
      o += "\\|";
    else if (c == '\n' || c == '\r')
      o += ' ';
    else
      o += c;
  }
  return o;
}

namespace {
std::size_t longest_backtick_run(const std::string& s) {
  std::size_t best = 0, cur = 0;
  for (char c : s) {
    cur = c == '`' ? cur + 1 : 0;
    best = std::max(best, cur);
  }
  return best;
}
}  // namespace

std::string md_code(const std::string& s) {
  std::string fence(longest_backtick_run(s) + 1, '`');
  std::string pad = (!s.empty() && (s.front() == '`' || s.back() == '`')) ? " " : "";
  return fence + pad + md_cell(s) + pad + fence;
}

std::string md_fence(const std::string& s, const std::string& lang) {
  std::string fence(std::max<std::size_t>(3, longest_backtick_run(s) + 1), '`');
  std::string body = s;
  if (body.empty() || body.back() != '\n') body += '\n';
  return fence + lang + "\n" + body + fence + "\n";
}

std::string json_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return {};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string fmt_pct(double r) {
  char buf[32];
  double p = r * 100;
  if (p > 0 && p < 0.1)
    std::snprintf(buf, sizeof buf, "%.2f%%", p);
  else
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
  return buf;
}

std::string fmt_num(double v) {
  char buf[32];
  double a = std::fabs(v);
  if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.1fG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else if (a == std::floor(a))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2g", v);
  return buf;
}

std::string fmt_bytes(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace faultline::reports
