// The repro catalog: which scenarios this build tree has and where their
// programs are. CMake writes build/<preset>/repro/catalog.json at configure
// time (faultline_add_repro); variants and descriptions come from each
// program's own --describe, so the catalog never disagrees with the programs.
// Shared by `faultline repro list|run`, `faultline matrix` and the demo.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faultline::repro {

struct CatalogEntry {
  std::string scenario;  // "family/name"
  std::string target;    // its CMake target (to build it in another preset)
  std::string path;      // the program
  // From --describe (see describe()); `problem` says why they are missing.
  bool described = false;
  std::string description;
  std::string default_variant;
  std::vector<std::string> variants;
  std::string problem;
};

// $FAULTLINE_REPRO_CATALOG, else the catalog of the build tree the running
// binary belongs to (<build>/<folder>/<binary> -> <build>/repro/catalog.json).
std::filesystem::path default_catalog_path();
// Throws std::runtime_error with a message a user can act on when the
// catalog is missing or malformed.
std::vector<CatalogEntry> read_catalog(const std::filesystem::path& catalog_json);
// Runs the program's --describe and fills the described fields.
void describe(CatalogEntry& e);
std::string family_of(const std::string& scenario);

}  // namespace faultline::repro
