#include "repro/common/catalog.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace faultline::repro {

namespace fs = std::filesystem;

fs::path default_catalog_path() {
  if (const char* env = std::getenv("FAULTLINE_REPRO_CATALOG"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "repro/catalog.json";
  return exe.parent_path().parent_path() / "repro" / "catalog.json";
}

std::vector<CatalogEntry> read_catalog(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error(
        "no repro catalog at " + path.string() +
        " (configure and build this tree first, or point --catalog / FAULTLINE_REPRO_CATALOG at one)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw std::runtime_error(path.string() + " is not a JSON array");
  std::vector<CatalogEntry> out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("scenario") || !e.contains("path")) continue;
    CatalogEntry entry;
    entry.scenario = e["scenario"].get<std::string>();
    entry.path = e["path"].get<std::string>();
    entry.target = e.value("target", "");
    out.push_back(std::move(entry));
  }
  return out;
}

namespace {
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

void describe(CatalogEntry& e) {
  if (access(e.path.c_str(), X_OK) != 0) {
    e.problem = "not built";
    return;
  }
  std::string cmd = shell_quote(e.path) + " --describe 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) {
    e.problem = std::string("cannot run: ") + std::strerror(errno);
    return;
  }
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p.get())) > 0) text.append(buf, n);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    e.problem = "--describe gave no JSON";
    return;
  }
  e.described = true;
  e.description = j.value("description", "");
  e.default_variant = j.value("default_variant", "");
  for (const auto& v : j.value("variants", nlohmann::json::array()))
    if (v.is_string()) e.variants.push_back(v.get<std::string>());
}

std::string family_of(const std::string& scenario) {
  auto slash = scenario.find('/');
  return slash == std::string::npos ? scenario : scenario.substr(0, slash);
}

}  // namespace faultline::repro
