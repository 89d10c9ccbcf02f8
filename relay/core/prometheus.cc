#include "relay/core/prometheus.h"

#include <cmath>
#include <cstdio>

namespace faultline::relay {

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\') out_ += "\\\\";
    else if (c == '\n') out_ += "\\n";
    else out_ += c;
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PromText::sample(std::string_view name, double value, const Labels& labels) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      for (char c : v) {
        if (c == '\\') out_ += "\\\\";
        else if (c == '"') out_ += "\\\"";
        else if (c == '\n') out_ += "\\n";
        else out_ += c;
      }
      out_ += '"';
    }
    out_ += '}';
  }
  char buf[64];
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, " %.0f\n", value);
  else
    std::snprintf(buf, sizeof buf, " %.17g\n", value);
  out_ += buf;
}

}  // namespace faultline::relay
