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

#include "repro/common/catalog.h"

namespace faultline::repro {
namespace {

namespace fs = std::filesystem;

// Exit status for a usage or environment error of faultline itself (not a
// verdict about a repro, which only the repro's own 0/1/77 gives).
constexpr int kExitToolError = 2;

using Entry = CatalogEntry;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "faultline repro: %s\n", message.c_str());
  throw CLI::RuntimeError(kExitToolError);
}

std::vector<Entry> load(const fs::path& path) {
  try {
    return read_catalog(path);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void list(const fs::path& catalog, bool json) {
  std::vector<Entry> entries = load(catalog);
  for (Entry& e : entries) describe(e);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Entry& e : entries) {
      nlohmann::json j{{"scenario", e.scenario}, {"path", e.path}};
      if (e.described) {
        j["description"] = e.description;
        j["variants"] = e.variants;
        j["default_variant"] = e.default_variant;
      } else {
        j["problem"] = e.problem;
      }
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
      for (const auto& name : e->variants) {
        if (!variants.empty()) variants += "|";
        variants += name == e->default_variant ? name + "*" : name;
      }
      std::string description = e->described ? e->description : "(" + e->problem + ")";
      std::printf("  %-32s %-28s %s\n", e->scenario.c_str(), variants.c_str(), description.c_str());
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
  std::vector<Entry> entries = load(catalog);
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
  auto catalog_path = [catalog] { return catalog->empty() ? default_catalog_path() : fs::path(*catalog); };

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
