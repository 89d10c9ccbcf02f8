// Where the faultline sources are, and which repro file a scenario is.
//
// Contract: source_root() is $FAULTLINE_ROOT when set, else the first
// ancestor of the running binary that looks like the faultline tree
// (has repro/ and reports/ and a CMakeLists.txt), else the source directory
// the binary was configured from; "" when none exists. repro_file() maps a
// scenario "family/name" to the main source file under repro/<family>/
// (matching name with '-' and '_' treated alike), relative to the root.
#pragma once

#include <string>

namespace faultline::reports {

std::string source_root();
std::string repro_file(const std::string& root, const std::string& scenario);

}  // namespace faultline::reports
