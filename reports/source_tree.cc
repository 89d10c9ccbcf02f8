// Source-tree discovery (see source_tree.h).
#include "reports/source_tree.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace faultline::reports {
namespace fs = std::filesystem;
namespace {

bool looks_like_root(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "repro", ec) && fs::is_directory(p / "reports", ec) &&
         fs::is_regular_file(p / "CMakeLists.txt", ec);
}

std::string canon(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_source(const fs::path& p) {
  static const char* exts[] = {".cc", ".cpp", ".cxx", ".c", ".S", ".s", ".h", ".hpp"};
  for (const char* e : exts)
    if (p.extension() == e) return true;
  return false;
}

}  // namespace

std::string source_root() {
  if (const char* env = std::getenv("FAULTLINE_ROOT"); env && *env && looks_like_root(env)) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      if (looks_like_root(p)) return p.string();
#ifdef FAULTLINE_SOURCE_DIR
  if (looks_like_root(FAULTLINE_SOURCE_DIR)) return FAULTLINE_SOURCE_DIR;
#endif
  return {};
}

std::string repro_file(const std::string& root, const std::string& scenario) {
  if (root.empty() || scenario.empty()) return {};
  auto slash = scenario.find('/');
  if (slash == std::string::npos) return {};
  std::string family = scenario.substr(0, slash), name = canon(scenario.substr(slash + 1));
  fs::path dir = fs::path(root) / "repro" / family;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  // Exact stem match beats "contains"; .cc beats headers; shallower beats deeper.
  std::vector<std::pair<int, fs::path>> hits;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || !is_source(it->path())) continue;
    std::string stem = canon(it->path().stem().string());
    int score = 0;
    if (stem == name)
      score = 100;
    else if (stem.find(name) != std::string::npos || name.find(stem) != std::string::npos)
      score = 50;
    else {
      // repro/<family>/<name>/main.cc: the directory carries the name.
      fs::path rel = fs::relative(it->path().parent_path(), dir, ec);
      for (const auto& part : rel)
        if (canon(part.string()) == name) score = stem == "main" ? 90 : 80;
      if (score == 0) continue;
    }
    if (it->path().extension() == ".h" || it->path().extension() == ".hpp") score -= 10;
    score -= it.depth();
    hits.emplace_back(score, it->path());
  }
  if (hits.empty()) return {};
  std::sort(hits.begin(), hits.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  return fs::relative(hits.front().second, root, ec).string();
}

}  // namespace faultline::reports
