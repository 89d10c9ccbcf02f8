// Access to the shared interop fixtures (../shared/fixtures, read in place).
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace faultline::relay::proto::testing {

inline std::string fixtures_dir() { return std::string(FAULTLINE_SOURCE_DIR) + "/../shared/fixtures"; }

// The whole file, or nullopt if it does not exist.
inline std::optional<std::string> read_fixture(const std::string& relative) {
  std::ifstream in(fixtures_dir() + "/" + relative, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The lines of a syntax fixture: no empty lines, no '#' comments; other
// lines verbatim (leading/trailing spaces are part of the test case).
inline std::vector<std::string> fixture_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

}  // namespace faultline::relay::proto::testing
