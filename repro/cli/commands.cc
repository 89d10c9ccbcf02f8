#include "repro/cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::repro {
namespace {

namespace fs = std::filesystem;

// Exit status for a usage or environment error of faultline itself (not a
// verdict about a repro, which only the repro's own 0/1/77 gives).
constexpr int kExitToolError = 2;

struct Entry {
  std::string scenario;
  std::string path;
  std::optional<nlohmann::json> spec;  // the program's --describe; empty when it did not answer
  std::string problem;                 // why spec is empty
};

fs::path default_catalog() {
  if (const char* env = std::getenv("FAULTLINE_REPRO_CATALOG"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "repro/catalog.json";
  return exe.parent_path().parent_path() / "repro" / "catalog.json";
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "faultline repro: %s\n", message.c_str());
  throw CLI::RuntimeError(kExitToolError);
}

std::vector<Entry> read_catalog(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail("no repro catalog at " + path.string() + " (configure and build this tree first, or set --catalog)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_array()) fail(path.string() + " is not a JSON array");
  std::vector<Entry> out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("scenario") || !e.contains("path")) continue;
    out.push_back({e["scenario"].get<std::string>(), e["path"].get<std::string>(), std::nullopt, {}});
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void describe(Entry& e) {
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
  e.spec = std::move(j);
}

std::string family_of(const std::string& scenario) {
  auto slash = scenario.find('/');
  return slash == std::string::npos ? scenario : scenario.substr(0, slash);
}

void list(const fs::path& catalog, bool json) {
  std::vector<Entry> entries = read_catalog(catalog);
  for (Entry& e : entries) describe(e);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Entry& e : entries) {
      nlohmann::json j = e.spec.value_or(nlohmann::json{{"scenario", e.scenario}});
      j["path"] = e.path;
      if (!e.problem.empty()) j["problem"] = e.problem;
      out.push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::map<std::string, std::vector<const Entry*>> families;
  for (const Entry& e : entries) families[family_of(e.scenario)].push_back(&e);
  if (families.empty()) std::printf("(the catalog %s lists no scenarios)\n", catalog.string().c_str());
  for (auto& [family, members] : families) {
    std::printf("%s (%zu)\n", family.c_str(), members.size());
    for (const Entry* e : members) {
      std::string variants;
      std::string description = e->problem.empty() ? "" : "(" + e->problem + ")";
      if (e->spec) {
        std::string def = e->spec->value("default_variant", "");
        for (const auto& v : e->spec->value("variants", nlohmann::json::array())) {
          std::string name = v.get<std::string>();
          if (!variants.empty()) variants += "|";
          variants += name == def ? name + "*" : name;
        }
        description = e->spec->value("description", "");
      }
      std::printf("  %-30s %-28s %s\n", e->scenario.c_str(), variants.c_str(), description.c_str());
    }
  }
  std::printf("\n* default variant. Run one: faultline repro run NAME [--variant V] [--json]\n");
}

const Entry& find(const std::vector<Entry>& entries, const std::string& name) {
  std::vector<const Entry*> hits;
  for (const Entry& e : entries)
    if (e.scenario == name) return e;
  for (const Entry& e : entries) {
    const std::string& s = e.scenario;
    if (s.size() > name.size() && s.compare(s.size() - name.size(), name.size(), name) == 0 &&
        s[s.size() - name.size() - 1] == '/')
      hits.push_back(&e);
  }
  if (hits.size() == 1) return *hits.front();
  if (hits.empty()) fail("no scenario '" + name + "' (see: faultline repro list)");
  std::string which;
  for (const Entry* e : hits) which += " " + e->scenario;
  fail("'" + name + "' is ambiguous:" + which);
}

struct RunOptions {
  std::string name;
  std::string variant;
  std::uint64_t iterations = 0;
  unsigned fibers = 0;
  std::uint64_t seed = 0;
  // Which of the numbers above were given (unset ones keep the program's defaults).
  bool has_iterations = false, has_fibers = false, has_seed = false;
  bool json = false;
};

[[noreturn]] void run(const fs::path& catalog, const RunOptions& o, const std::vector<std::string>& extra) {
  std::vector<Entry> entries = read_catalog(catalog);
  const Entry& e = find(entries, o.name);
  if (access(e.path.c_str(), X_OK) != 0) fail(e.scenario + " is not built (" + e.path + "); build its target first");
  std::vector<std::string> args{e.path};
  if (!o.variant.empty()) args.insert(args.end(), {"--variant", o.variant});
  if (o.has_iterations) args.insert(args.end(), {"--iterations", std::to_string(o.iterations)});
  if (o.has_fibers) args.insert(args.end(), {"--fibers", std::to_string(o.fibers)});
  if (o.has_seed) args.insert(args.end(), {"--seed", std::to_string(o.seed)});
  if (o.json) args.emplace_back("--json");
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  execv(argv[0], argv.data());
  fail("exec " + e.path + ": " + std::strerror(errno));
}

}  // namespace

void add_commands(CLI::App& app) {
  auto* repro = app.add_subcommand("repro", "minimal repros, one per defect, each with broken and fixed variants");
  repro->require_subcommand(1);
  auto catalog = std::make_shared<std::string>();
  repro->add_option("--catalog", *catalog, "catalog.json to read (default: this build tree's)");
  auto catalog_path = [catalog] { return catalog->empty() ? default_catalog() : fs::path(*catalog); };

  auto* ls = repro->add_subcommand("list", "every scenario with its variants and a one-line description");
  auto list_json = std::make_shared<bool>(false);
  ls->add_flag("--json", *list_json, "print the catalog with each program's --describe as JSON");
  ls->callback([catalog_path, list_json] { list(catalog_path(), *list_json); });

  auto* rn = repro->add_subcommand("run", "run one scenario; its exit status (0 pass, 1 fail, 77 skip) is ours");
  auto opts = std::make_shared<RunOptions>();
  rn->add_option("name", opts->name, "scenario, e.g. ctxswitch/missing-clobber")->required();
  rn->add_option("--variant", opts->variant, "variant (default: the scenario's default)");
  auto* iterations = rn->add_option("--iterations", opts->iterations, "iterations (default: the scenario's)");
  auto* fibers =
      rn->add_option("--fibers", opts->fibers, "fibers (default: the scenario's)")->check(CLI::PositiveNumber);
  auto* seed = rn->add_option("--seed", opts->seed, "seed");
  rn->add_flag("--json", opts->json, "print one JSON result record on stdout");
  rn->allow_extras();
  rn->footer("Scenario-specific options (--KEY VALUE) are passed to the program unchanged.");
  rn->callback([catalog_path, opts, rn, iterations, fibers, seed] {
    opts->has_iterations = iterations->count() > 0;
    opts->has_fibers = fibers->count() > 0;
    opts->has_seed = seed->count() > 0;
    run(catalog_path(), *opts, rn->remaining());
  });
}

}  // namespace faultline::repro
