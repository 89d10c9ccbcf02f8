#include "stress/prometheus.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace faultline::stress {
namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

void skip_ws(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

bool parse_value(std::string_view tok, double& out) {
  if (tok == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (tok == "+Inf" || tok == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (tok == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (tok.empty() || tok.size() > 64) return false;
  std::string t(tok);
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

bool parse_line(std::string_view line, PromSample& s) {
  std::size_t i = 0;
  skip_ws(line, i);
  if (i >= line.size() || !name_start(line[i])) return false;
  std::size_t start = i;
  while (i < line.size() && name_char(line[i])) ++i;
  s.name.assign(line.substr(start, i - start));
  skip_ws(line, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      skip_ws(line, i);
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      if (i >= line.size() || !name_start(line[i])) return false;
      std::size_t ks = i;
      while (i < line.size() && name_char(line[i])) ++i;
      std::string key(line.substr(ks, i - ks));
      skip_ws(line, i);
      if (i >= line.size() || line[i] != '=') return false;
      ++i;
      skip_ws(line, i);
      if (i >= line.size() || line[i] != '"') return false;
      ++i;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= line.size()) return false;
          char e = line[i++];
          if (e == 'n')
            value += '\n';
          else if (e == '\\' || e == '"')
            value += e;
          else
            return false;
        } else {
          value += c;
        }
      }
      if (!closed) return false;
      s.labels.emplace_back(std::move(key), std::move(value));
      skip_ws(line, i);
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  skip_ws(line, i);
  std::size_t vs = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  if (!parse_value(line.substr(vs, i - vs), s.value)) return false;
  skip_ws(line, i);
  if (i < line.size()) {  // optional integer timestamp
    std::size_t ts = i;
    if (line[i] == '-') ++i;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == ts) return false;
    skip_ws(line, i);
    if (i != line.size()) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> PromSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

PromMetrics PromMetrics::parse(std::string_view text) {
  PromMetrics m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t i = 0;
    skip_ws(line, i);
    if (i == line.size() || line[i] == '#') continue;
    PromSample s;
    if (!parse_line(line, s)) {
      ++m.bad_lines_;
      continue;
    }
    m.index_.emplace(s.name, m.samples_.size());
    m.samples_.push_back(std::move(s));
  }
  return m;
}

bool PromMetrics::has(std::string_view name) const { return index_.find(name) != index_.end(); }

std::optional<double> PromMetrics::get(std::string_view name) const {
  auto [a, b] = index_.equal_range(name);
  for (auto it = a; it != b; ++it)
    if (samples_[it->second].labels.empty()) return samples_[it->second].value;
  return std::nullopt;
}

std::optional<double> PromMetrics::get(std::string_view name, std::string_view key, std::string_view value) const {
  auto [a, b] = index_.equal_range(name);
  for (auto it = a; it != b; ++it)
    if (auto l = samples_[it->second].label(key); l && *l == value) return samples_[it->second].value;
  return std::nullopt;
}

double PromMetrics::sum(std::string_view name) const {
  double total = 0;
  auto [a, b] = index_.equal_range(name);
  for (auto it = a; it != b; ++it)
    if (!std::isnan(samples_[it->second].value)) total += samples_[it->second].value;
  return total;
}

std::optional<double> PromMetrics::max(std::string_view name) const {
  std::optional<double> best;
  auto [a, b] = index_.equal_range(name);
  for (auto it = a; it != b; ++it) {
    double v = samples_[it->second].value;
    if (!std::isnan(v) && (!best || v > *best)) best = v;
  }
  return best;
}

std::map<std::string, double> PromMetrics::by_label(std::string_view name, std::string_view key) const {
  std::map<std::string, double> out;
  auto [a, b] = index_.equal_range(name);
  for (auto it = a; it != b; ++it)
    if (auto l = samples_[it->second].label(key)) out[std::string(*l)] += samples_[it->second].value;
  return out;
}

}  // namespace faultline::stress
