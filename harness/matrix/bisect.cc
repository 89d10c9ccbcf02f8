// opt-bisect search, one-unit rebuilds and the matrix step (contract in bisect.h).
#include "harness/matrix/bisect.h"

#include <cxxabi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "harness/matrix/matrix.h"
#include "harness/run/child.h"
#include "harness/run/process.h"
#include "harness/run/repeat.h"

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

std::string tail_of(const std::string& s, std::size_t n) {
  return s.size() > n ? s.substr(s.size() - n) : s;
}

std::string demangle(const std::string& name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !d) return name;
  std::string out(d);
  std::free(d);
  return out;
}

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

// WHAT of "BISECT: [NOT ]running pass (K) NAME on WHAT" when it names a
// function (an IR function pass: the name; a codegen pass: "function (X)").
std::string function_of(const std::string& what) {
  if (what.empty() || what == "[module]" || what == "loop" || starts_with(what, "Loop at depth") || what.front() == '(')
    return {};
  if (starts_with(what, "function (") && what.back() == ')') return what.substr(10, what.size() - 11);
  if (what.find(' ') != std::string::npos) return {};
  return what;
}

// "NAME on WHAT" -> {NAME, WHAT}; the part after "(K) " of a BISECT line.
std::pair<std::string, std::string> split_pass(const std::string& rest) {
  auto on = rest.find(" on ");
  if (on == std::string::npos) return {rest, {}};
  return {rest.substr(0, on), rest.substr(on + 4)};
}

// The text after "pass (N) " of a BISECT line, or "" when `line` is not one.
std::string after_index(const std::string& line) {
  auto p = line.find("pass (");
  if (p == std::string::npos || line.find("BISECT: ") == std::string::npos) return {};
  auto close = line.find(") ", p);
  return close == std::string::npos ? std::string{} : line.substr(close + 2);
}

}  // namespace

// ---- the search --------------------------------------------------------------

nlohmann::json to_json(const BisectResult& r) {
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& p : r.probes) {
    nlohmann::json j{{"limit", p.limit}, {"built", p.built}};
    if (p.built) {
      j["failed"] = p.failed;
      j["runs"] = p.runs;
      j["failures"] = p.failures;
    }
    if (p.recheck) j["recheck"] = true;
    probes.push_back(j);
  }
  nlohmann::json j{{"status", r.status},
                   {"found", r.found},
                   {"max_index", r.max_index},
                   {"steps", r.steps},
                   {"wall_s", r.wall_s},
                   {"repeat", r.repeat},
                   {"verify_repeat", r.verify_repeat},
                   {"rule",
                    "a limit fails when any of its runs fails, passes only when all pass; the last passing limit is "
                    "re-run verify_repeat more times before answering"},
                   {"probes", probes}};
  if (!r.unbuildable.empty()) j["unbuildable_limits"] = r.unbuildable;
  if (!r.shimmed.empty()) j["shimmed_limits"] = r.shimmed;
  if (r.reverified) j["reverified"] = r.reverified;
  if (r.flaky) j["flaky"] = true;
  if (r.found) {
    j["first_failing_limit"] = r.first_failing;
    j["last_passing_limit"] = r.last_passing;
    j["passes"] = r.pass_lines;
    j["pass"] = r.pass.name;
    j["on"] = r.pass.on;
    j["function"] = r.pass.function;
    j["function_demangled"] = r.pass.function_demangled;
    if (r.pass.function_inferred) j["function_inferred"] = true;
    if (!r.first_failing_program.empty()) j["first_failing_program"] = r.first_failing_program;
    if (!r.last_passing_program.empty()) j["last_passing_program"] = r.last_passing_program;
  }
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

std::vector<std::string> bisect_lines(const std::string& log, int k) {
  std::vector<std::string> out;
  const std::string key = "BISECT: running pass (" + std::to_string(k) + ") ";
  std::stringstream ss(log);
  std::string line;
  while (std::getline(ss, line)) {
    auto p = line.find(key);
    if (p != std::string::npos) out.push_back(line.substr(p));
  }
  return out;
}

int max_bisect_index(const std::string& log) {
  int best = 0;
  const std::string key = "BISECT: running pass (";
  std::size_t pos = 0;
  while ((pos = log.find(key, pos)) != std::string::npos) {
    pos += key.size();
    best = std::max(best, std::atoi(log.c_str() + pos));
  }
  return best;
}

BisectPass bisect_pass_at(const std::string& log, int k) {
  BisectPass p;
  const std::string key = "BISECT: running pass (" + std::to_string(k) + ") ";
  auto at = log.find(key);
  if (at == std::string::npos) return p;
  auto eol = log.find('\n', at);
  p.line = log.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
  std::tie(p.name, p.on) = split_pass(p.line.substr(key.size()));
  std::vector<std::string> names;
  if (!p.on.empty() && p.on.front() == '(' && p.on.back() == ')') {  // a CGSCC: "(f, g)"
    std::string inner = p.on.substr(1, p.on.size() - 2);
    std::size_t s = 0;
    while (s <= inner.size()) {
      auto c = inner.find(", ", s);
      names.push_back(inner.substr(s, c == std::string::npos ? std::string::npos : c - s));
      if (c == std::string::npos) break;
      s = c + 2;
    }
  } else if (std::string f = function_of(p.on); !f.empty()) {
    names.push_back(f);
  } else if (starts_with(p.on, "Loop at depth") || p.on == "loop") {
    // A loop pass runs inside a function-pass adaptor: the nearest earlier
    // line that names a function is the loop's function.
    std::size_t end = at;
    while (end > 0) {
      auto start = log.rfind('\n', end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      std::string fn = function_of(split_pass(after_index(log.substr(start, end - start))).second);
      if (!fn.empty()) {
        names.push_back(fn);
        p.function_inferred = true;
        break;
      }
      if (start == 0) break;
      end = start - 1;
    }
  }
  for (const auto& n : names) {
    p.function += (p.function.empty() ? "" : ", ") + n;
    p.function_demangled += (p.function_demangled.empty() ? "" : ", ") + demangle(n);
  }
  return p;
}

BisectResult bisect_opt(const BisectBuilder& build, const BisectTester& fails, const BisectOptions& opt) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  BisectResult r;
  r.repeat = std::max(1u, opt.repeat);
  r.verify_repeat = opt.verify_repeat;
  bool budget_exhausted = false, interrupted = false;
  std::string last_build_error;
  std::map<int, BisectPass> pass_at;                 // the pass each built limit K ran last (line K)
  std::map<int, std::vector<std::string>> lines_at;  // its BISECT lines
  std::map<int, std::string> passing, failing;       // limit -> program
  auto say = [&](const std::string& s) {
    if (opt.progress) opt.progress(s);
  };
  auto stopped = [&] { return opt.interrupted && opt.interrupted->load(); };
  auto finish = [&](BisectResult& res) -> BisectResult& {
    res.wall_s = std::chrono::duration<double>(clock::now() - t0).count();
    return res;
  };
  // Runs `program` up to n times, stopping at the first failure.
  auto run_n = [&](BisectProbe& p, unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      if (stopped()) {
        interrupted = true;
        return;
      }
      ++p.runs;
      if (fails(p.program)) {
        ++p.failures;
        return;
      }
    }
  };
  // 1 fails, 0 passes, -1 does not build, -2 out of budget or interrupted.
  auto probe = [&](int k) -> int {
    if (stopped()) {
      interrupted = true;
      return -2;
    }
    if (r.steps >= opt.max_builds) {
      budget_exhausted = true;
      return -2;
    }
    ++r.steps;
    BisectBuild b = build(k);
    BisectProbe p;
    p.limit = k;
    if (!b.ok) {
      last_build_error = b.error;
      r.unbuildable.push_back(k);
      r.probes.push_back(p);
      say("step " + std::to_string(r.steps) + ": limit " + std::to_string(k) + " does not build, skipped");
      return -1;
    }
    if (b.shimmed) r.shimmed.push_back(k);
    p.built = true;
    p.program = b.program;
    const int index = k < 0 ? max_bisect_index(b.log) : k;  // -1 runs every pass: the same as max_index
    if (k < 0) r.max_index = index;
    if (index > 0) {
      pass_at[index] = bisect_pass_at(b.log, index);
      lines_at[index] = bisect_lines(b.log, index);
    }
    run_n(p, r.repeat);
    if (interrupted) return -2;
    p.failed = p.failures > 0;
    (p.failed ? failing : passing)[index] = p.program;
    r.probes.push_back(p);
    say("step " + std::to_string(r.steps) + ": limit " + std::to_string(k) +
        (p.failed ? " fails (run " + std::to_string(p.runs) + " failed)"
                  : " passes (" + std::to_string(p.runs) + " of " + std::to_string(p.runs) + " runs)") +
        (index > 0 && k >= 0 ? "  [" + pass_at[index].name + "]" : ""));
    return p.failed ? 1 : 0;
  };
  // The nearest limit in (from, to) that builds, scanning upward in growing
  // steps; {limit, result} or {-1, -1} when none does within a few tries.
  auto buildable_above = [&](int from, int to) -> std::pair<int, int> {
    for (int step = 1, tries = 0; from + step < to && tries < 32; step *= 2, ++tries) {
      int res = probe(from + step);
      if (res == -2) break;
      if (res >= 0) return {from + step, res};
    }
    return {-1, -1};
  };
  auto give_up = [&](int lo, int hi) -> BisectResult& {
    r.status = interrupted ? "interrupted" : "error";
    r.error = interrupted ? std::string("interrupted") : "gave up after " + std::to_string(opt.max_builds) + " builds";
    if (hi > 0) r.error += "; the first failing limit is in (" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return finish(r);
  };

  int all = probe(-1);
  if (all == -2) return give_up(0, -1);
  if (all == -1) {
    r.error = "the unlimited build (limit -1) failed: " + last_build_error;
    return finish(r);
  }
  if (all == 0) {
    r.status = "passes_without_limit";
    r.error = "passes with every pass enabled (limit -1, " + std::to_string(r.repeat) + " of " +
              std::to_string(r.repeat) + " runs): nothing to bisect";
    return finish(r);
  }
  if (r.max_index == 0) {
    r.error = "the compiler printed no BISECT lines: not clang, or -mllvm -opt-bisect-limit was not applied";
    return finish(r);
  }
  int lo = 0, hi = r.max_index;  // invariant: passes (or lower bound) at lo, fails at hi
  int none = probe(0);
  if (none == -2) return give_up(lo, hi);
  if (none == -1) {
    auto [k, res] = buildable_above(0, hi);
    if (interrupted || budget_exhausted) return give_up(lo, hi);
    if (k < 0) {
      r.error = "no limit below " + std::to_string(hi) + " produced a program that builds: " + last_build_error;
      return finish(r);
    }
    if (res == 1) {
      r.status = "fails_at_zero";
      r.error = "limits 0.." + std::to_string(k - 1) + " do not build and " + std::to_string(k) +
                " already fails: the failure does not depend on optional passes in this unit as far as can be built";
      return finish(r);
    }
    lo = k;
  } else if (none == 1) {
    r.status = "fails_at_zero";
    r.error =
        "fails even at limit 0 (no optional pass ran in the unit): not caused by an optimisation pass in this unit";
    return finish(r);
  }
  for (;;) {
    while (hi - lo > 1 && !budget_exhausted && !interrupted) {
      int mid = lo + (hi - lo) / 2;
      int f = probe(mid);
      if (f == -1) {
        auto [k, res] = buildable_above(mid, hi);
        if (k < 0) {
          lo = mid;  // nothing between mid and hi builds: the first testable failure is hi
          continue;
        }
        f = res;
        mid = k;
      }
      if (f == -2) break;
      (f == 1 ? hi : lo) = mid;
    }
    if (budget_exhausted || interrupted) return give_up(lo, hi);
    // The rule cannot invent a failure, but flakiness can hide one: re-run
    // the last passing limit before trusting it.
    auto it = passing.find(lo);
    if (r.verify_repeat == 0 || it == passing.end()) break;
    BisectProbe p;
    p.limit = lo;
    p.built = true;
    p.recheck = true;
    p.program = it->second;
    run_n(p, r.verify_repeat);
    if (interrupted) return give_up(lo, hi);
    p.failed = p.failures > 0;
    r.probes.push_back(p);
    say("re-check: limit " + std::to_string(lo) +
        (p.failed ? " FAILS on re-check (flaky): searching below it"
                  : " passes " + std::to_string(p.runs) + " more runs"));
    if (!p.failed) break;
    // Flaky: this limit was never passing. Search below it, with twice the
    // runs per step from now on (a flaky failure hides less often then).
    ++r.reverified;
    r.flaky = true;
    r.repeat = std::min(2 * r.repeat, 256u);
    r.verify_repeat = std::min(2 * r.verify_repeat, 512u);
    failing[lo] = it->second;
    passing.erase(it);
    hi = lo;
    if (lo == 0) {
      r.status = "fails_at_zero";
      r.error = "limit 0 failed on re-check (flaky): not caused by an optimisation pass in this unit";
      return finish(r);
    }
    if (r.reverified > 16) {
      r.error = "the last passing limit failed on re-check " + std::to_string(r.reverified) +
                " times: too flaky to bisect (raise --bisect-repeat); the first failing limit is at most " +
                std::to_string(hi);
      return finish(r);
    }
    auto below = passing.lower_bound(lo);
    lo = below == passing.begin() ? 0 : std::prev(below)->first;
  }
  r.found = true;
  r.status = "found";
  r.first_failing = hi;
  r.last_passing = lo;
  r.pass = pass_at[hi];
  r.pass_lines = lines_at[hi];
  if (failing.count(hi)) r.first_failing_program = failing[hi];
  if (passing.count(lo)) r.last_passing_program = passing[lo];
  return finish(r);
}

// ---- one-unit rebuilds -------------------------------------------------------

std::vector<std::string> split_shell_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'') {
      have = true;
      auto end = s.find('\'', i + 1);
      cur += s.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      i = end == std::string::npos ? s.size() : end;
    } else if (c == '"') {
      have = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() &&
            (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`'))
          ++i;
        cur += s[i];
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      have = true;
      cur += s[++i];
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      have = true;
      cur += c;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

namespace {

// The value after `-o` (or of `-oFILE`), "" when none.
std::string output_of(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-o") return argv[i + 1];
  for (const auto& a : argv)
    if (a.size() > 2 && starts_with(a, "-o")) return a.substr(2);
  return {};
}

void set_output(std::vector<std::string>& argv, const std::string& out) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-o") {
      argv[i + 1] = out;
      return;
    }
  argv.push_back("-o");
  argv.push_back(out);
}

// Without the dependency-file flags (-MD -MMD -MF f -MT t -MQ t): the probe
// must not rewrite the real tree's .d files.
std::vector<std::string> without_depfile_flags(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto& a = argv[i];
    if (a == "-MD" || a == "-MMD") continue;
    if (a == "-MF" || a == "-MT" || a == "-MQ") {
      ++i;
      continue;
    }
    out.push_back(a);
  }
  return out;
}

bool has_marker(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto& a = argv[i];
    if (a == "-DFAULTLINE_OPT_BISECT_UNIT" || starts_with(a, "-DFAULTLINE_OPT_BISECT_UNIT=")) return true;
    if (a == "-D" && i + 1 < argv.size() &&
        (argv[i + 1] == "FAULTLINE_OPT_BISECT_UNIT" || starts_with(argv[i + 1], "FAULTLINE_OPT_BISECT_UNIT=")))
      return true;
  }
  return false;
}

fs::path resolved(const fs::path& dir, const std::string& p) {
  fs::path x(p);
  return (x.is_absolute() ? x : dir / x).lexically_normal();
}

std::string cache_value(const fs::path& tree, const std::string& key) {
  std::ifstream in(tree / "CMakeCache.txt");
  std::string line;
  while (std::getline(in, line))
    if (starts_with(line, key + ":") || starts_with(line, key + "=")) {
      auto eq = line.find('=');
      return eq == std::string::npos ? std::string{} : line.substr(eq + 1);
    }
  return {};
}

// {id, version} of the tree's C++ compiler (CMakeFiles/<v>/CMakeCXXCompiler.cmake).
std::pair<std::string, std::string> tree_compiler(const fs::path& tree) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tree / "CMakeFiles", ec)) {
    const std::string cxx = read_file((e.path() / "CMakeCXXCompiler.cmake").string(), 1 << 20);
    if (cxx.empty()) continue;
    auto value = [&](const std::string& key) {
      auto p = cxx.find("set(" + key + " \"");
      if (p == std::string::npos) return std::string{};
      p += key.size() + 6;
      return cxx.substr(p, cxx.find('"', p) - p);
    };
    return {value("CMAKE_CXX_COMPILER_ID"), value("CMAKE_CXX_COMPILER_VERSION")};
  }
  return {};
}

// Explicit instantiations of the libstdc++ extern templates that have
// always_inline members (GCC 12: allocator::allocate/deallocate,
// basic_string::_M_use_local_data, basic_stringbuf::_M_high_mark). The
// library does not export those members, and the inliner that would remove
// the calls is an optional pass: a low limit leaves them undefined.
constexpr const char* kShimSource =
    "// written by faultline matrix --bisect-opt (harness/matrix/bisect.cc)\n"
    "#include <memory>\n#include <sstream>\n#include <string>\n"
    "template class std::allocator<char>;\ntemplate class std::allocator<wchar_t>;\n"
    "template class std::basic_string<char>;\ntemplate class std::basic_string<wchar_t>;\n"
    "template class std::basic_stringbuf<char>;\ntemplate class std::basic_stringbuf<wchar_t>;\n";

}  // namespace

std::optional<UnitBuild> find_unit_build(const fs::path& tree, const std::string& target, std::string& error) {
  UnitBuild u;
  u.tree = tree;
  const std::string db_text = read_file((tree / "compile_commands.json").string(), 256u << 20);
  auto db = nlohmann::json::parse(db_text, nullptr, false);
  if (db_text.empty() || db.is_discarded() || !db.is_array()) {
    error = "no usable " + (tree / "compile_commands.json").string() +
            " (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON; the presets do)";
    return std::nullopt;
  }
  const std::string generator = cache_value(tree, "CMAKE_GENERATOR");
  if (!generator.empty() && generator.find("Ninja") == std::string::npos) {
    error =
        tree.string() + " is a '" + generator + "' tree; --bisect-opt reads `ninja -t commands` (use a Ninja preset)";
    return std::nullopt;
  }
  std::string ninja = cache_value(tree, "CMAKE_MAKE_PROGRAM");
  if (ninja.empty()) ninja = "ninja";
  auto cmds = run_capture({ninja, "-C", tree.string(), "-t", "commands", target}, 120, {}, 64u << 20);
  if (cmds.exit_code != 0) {
    error = "`ninja -t commands " + target + "` failed: " + tail_of(cmds.output, 800);
    return std::nullopt;
  }
  std::string link_line;
  {
    std::stringstream ss(cmds.output);
    std::string line;
    while (std::getline(ss, line))
      if (!line.empty()) link_line = line;
  }
  // "$ : && clang++ ... -o prog ... && :": the first segment with -o is the link.
  std::vector<std::string> segment;
  for (const auto& w : split_shell_words(link_line)) {
    if (w == "&&" || w == ";") {
      if (!output_of(segment).empty() && !(segment.size() == 1 && segment[0] == ":")) break;
      segment.clear();
      continue;
    }
    segment.push_back(w);
  }
  u.link = segment;
  u.program = output_of(u.link);
  if (u.program.empty()) {
    error = "could not find the link command of " + target + " in `ninja -t commands`: " + tail_of(link_line, 500);
    return std::nullopt;
  }
  // The target's own objects: link arguments that some compile command outputs.
  struct Candidate {
    nlohmann::json entry;
    std::vector<std::string> argv;
    std::string link_token;
  };
  std::vector<Candidate> candidates;
  std::map<fs::path, std::string> linked;  // resolved object path -> the link's token
  for (std::size_t i = 1; i < u.link.size(); ++i) linked[resolved(tree, u.link[i])] = u.link[i];
  for (const auto& e : db) {
    if (!e.is_object() || !e.contains("directory") || !e.contains("file")) continue;
    std::vector<std::string> argv;
    if (e.contains("arguments") && e["arguments"].is_array())
      for (const auto& a : e["arguments"]) argv.push_back(a.get<std::string>());
    else if (e.contains("command") && e["command"].is_string())
      argv = split_shell_words(e["command"].get<std::string>());
    if (argv.empty()) continue;
    std::string out =
        e.contains("output") && e["output"].is_string() ? e["output"].get<std::string>() : output_of(argv);
    if (out.empty()) continue;
    auto it = linked.find(resolved(e["directory"].get<std::string>(), out));
    if (it != linked.end()) candidates.push_back({e, argv, it->second});
  }
  const Candidate* pick = nullptr;
  for (const auto& c : candidates)
    if (has_marker(c.argv)) {
      if (pick) {
        error = target + " has more than one unit compiled with -DFAULTLINE_OPT_BISECT_UNIT; mark exactly one";
        return std::nullopt;
      }
      pick = &c;
    }
  if (!pick && candidates.size() == 1) pick = &candidates[0];
  if (!pick) {
    std::string names;
    for (const auto& c : candidates) names += "\n  " + c.entry["file"].get<std::string>();
    error = candidates.empty()
                ? "none of the objects " + target + " links has an entry in compile_commands.json"
                : target + " links " + std::to_string(candidates.size()) +
                      " units; compile the one holding the miscompiled code with -DFAULTLINE_OPT_BISECT_UNIT:" + names;
    return std::nullopt;
  }
  u.compile_dir = pick->entry["directory"].get<std::string>();
  u.compile = pick->argv;
  u.source = pick->entry["file"].get<std::string>();
  u.object = pick->link_token;
  auto v = run_capture({u.compile[0], "--version"}, 30, {}, 1 << 16);
  u.compiler_version = v.output.substr(0, v.output.find('\n'));
  u.clang = u.compiler_version.find("clang") != std::string::npos;
  return u;
}

BisectBuilder unit_bisect_builder(const UnitBuild& unit, const fs::path& work_dir) {
  struct State {
    bool shim_tried = false;
    std::string shim_object;  // "" when it could not be built
    std::set<int> built;      // limits already built in work_dir (cache across variants)
  };
  auto st = std::make_shared<State>();
  fs::create_directories(work_dir);
  const fs::path work = fs::absolute(work_dir);
  return [unit, work, st](int limit) {
    BisectBuild b;
    const std::string tag = "k" + (limit < 0 ? std::string("all") : std::to_string(limit));
    const fs::path obj = work / (tag + ".o"), log = work / (tag + ".log"), prog = work / tag;
    b.program = prog.string();
    if (st->built.count(limit)) {
      b.ok = true;
      b.log = read_file(log.string(), 1u << 30);
      b.shimmed = fs::exists(work / (tag + ".shimmed"));
      return b;
    }
    // compile: the unit's own command, its object redirected, the limit added
    std::vector<std::string> cc = without_depfile_flags(unit.compile);
    set_output(cc, obj.string());
    cc.push_back("-mllvm");
    cc.push_back("-opt-bisect-limit=" + std::to_string(limit));
    std::vector<std::string> sh{"/bin/sh", "-c", "exec \"$@\" 2>\"$0\"", log.string()};
    sh.insert(sh.end(), cc.begin(), cc.end());
    auto c = run_capture(sh, 1800, {}, 1 << 20, unit.compile_dir.string());
    if (c.exit_code != 0) {
      std::string errs, all = read_file(log.string(), 1u << 30), line;
      std::stringstream ss(all);
      while (std::getline(ss, line))
        if (!starts_with(line, "BISECT: ")) errs += line + "\n";
      b.error =
          "compile of " + unit.source + " at limit " + std::to_string(limit) + ": " + tail_of(c.output + errs, 1500);
      return b;
    }
    // link: the target's own link command with the unit's object swapped
    auto link_with = [&](const std::string& extra) {
      std::vector<std::string> ld;
      for (const auto& a : unit.link) {
        if (a == unit.object) {
          ld.push_back(obj.string());
          if (!extra.empty()) ld.push_back(extra);
        } else {
          ld.push_back(a);
        }
      }
      set_output(ld, prog.string());
      return run_capture(ld, 600, {}, 1 << 20, unit.tree.string());
    };
    auto l = link_with("");
    if (l.exit_code != 0 && l.output.find("undefined reference") != std::string::npos) {
      if (!st->shim_tried) {
        st->shim_tried = true;
        const fs::path src = work / "libstdcxx_shim.cc", shim = work / "libstdcxx_shim.o";
        std::ofstream(src) << kShimSource;
        std::vector<std::string> sc;
        for (const auto& a : without_depfile_flags(unit.compile)) {
          if (a == "-DFAULTLINE_OPT_BISECT_UNIT") continue;
          sc.push_back(resolved(unit.compile_dir, a) == resolved(unit.compile_dir, unit.source) ? src.string() : a);
        }
        set_output(sc, shim.string());
        sc.push_back("-w");
        if (run_capture(sc, 600, {}, 1 << 20, unit.compile_dir.string()).exit_code == 0)
          st->shim_object = shim.string();
      }
      if (!st->shim_object.empty()) {
        auto l2 = link_with(st->shim_object);
        if (l2.exit_code == 0) {
          b.shimmed = true;
          std::ofstream(work / (tag + ".shimmed")) << "linked with libstdcxx_shim.o\n";
          l = l2;
        }
      }
    }
    if (l.exit_code != 0) {
      b.error = "link at limit " + std::to_string(limit) + ": " + tail_of(l.output, 1500);
      return b;
    }
    st->built.insert(limit);
    b.ok = true;
    b.log = read_file(log.string(), 1u << 30);
    return b;
  };
}

// ---- the matrix step ---------------------------------------------------------

namespace {

std::string safe(std::string s) {
  for (char& c : s)
    if (c == '/' || c == ' ') c = '_';
  return s;
}

}  // namespace

void run_opt_bisects(const MatrixOptions& opt, MatrixResult& res) {
  // Which requested builds are clang builds?
  std::map<std::string, std::pair<std::string, std::string>> compiler;  // build -> {id, version}
  bool any_clang = false;
  for (const auto& c : res.cells) {
    if (!c.error.empty() || compiler.count(c.build)) continue;  // a broken build already says why in its cell
    compiler[c.build] = tree_compiler(opt.build_root / c.build);
    any_clang = any_clang || compiler[c.build].first.find("Clang") != std::string::npos;
  }
  if (compiler.empty()) return;
  auto compiler_text = [&](const std::string& build) {
    const auto& [id, version] = compiler[build];
    return id.empty() ? std::string("an unknown compiler") : id + " " + version;
  };
  if (!any_clang) {
    for (const auto& [build, cv] : compiler) {
      nlohmann::json e{{"scenario", opt.scenarios.empty() ? opt.family + "/*" : opt.scenarios[0]},
                       {"build", build},
                       {"variant", ""}};
      e["result"] = {{"status", "error"},
                     {"found", false},
                     {"error", "--bisect-opt needs a clang build: " + build + " is built with " + compiler_text(build) +
                                   ", and -mllvm -opt-bisect-limit is an LLVM option (use --builds clang-release, "
                                   "clang-relwithdebinfo, ...)"}};
      res.bisects.push_back(e);
    }
    std::fprintf(stderr, "faultline: --bisect-opt needs a clang build; none of the requested builds is one\n");
    return;
  }
  std::set<std::pair<std::string, std::string>> skipped_noted;
  std::map<std::string, BisectBuilder> builders;  // tree/target -> builder (its builds serve every variant)
  std::map<std::string, UnitBuild> units;
  for (const auto& c : res.cells) {
    if (!c.error.empty() || c.variant.empty()) continue;
    nlohmann::json entry{{"scenario", c.scenario}, {"build", c.build}, {"variant", c.variant}};
    if (compiler[c.build].first.find("Clang") == std::string::npos) {
      if (!skipped_noted.insert({c.scenario, c.build}).second) continue;
      entry["variant"] = "";
      entry["result"] = {
          {"status", "skipped"},
          {"found", false},
          {"error", "not a clang build (" + compiler_text(c.build) + "): -opt-bisect-limit is an LLVM option"}};
      res.bisects.push_back(entry);
      continue;
    }
    if (c.failures == 0) {
      entry["result"] = {{"status", "passes_without_limit"},
                         {"found", false},
                         {"error", "passed all " + std::to_string(c.attempts) +
                                       " matrix attempts with no limit (every pass on): nothing to bisect"}};
      res.bisects.push_back(entry);
      continue;
    }
    const fs::path tree = opt.build_root / c.build;
    std::string target;
    for (const auto& e : read_catalog_or_empty(tree / "repro" / "catalog.json"))
      if (e.scenario == c.scenario) target = e.target;
    if (target.empty()) {
      entry["result"] = {{"status", "error"}, {"found", false}, {"error", "scenario not in the catalog"}};
      res.bisects.push_back(entry);
      continue;
    }
    const std::string key = (tree / target).string();
    if (!builders.count(key)) {
      std::string err;
      auto u = find_unit_build(tree, target, err);
      if (u && !u->clang) err = u->source + " is compiled by " + u->compiler_version + ", not clang";
      if (!u || !err.empty()) {
        entry["result"] = {{"status", "error"}, {"found", false}, {"error", err}};
        res.bisects.push_back(entry);
        continue;
      }
      const fs::path work = tree / "opt-bisect" / target;
      std::error_code ec;
      fs::remove_all(work, ec);
      units[key] = *u;
      builders[key] = unit_bisect_builder(*u, work);
    }
    const UnitBuild& u = units[key];
    entry["unit"] = fs::path(u.source).lexically_relative(opt.source_dir).string();
    if (entry["unit"].get<std::string>().empty() || entry["unit"].get<std::string>().rfind("..", 0) == 0)
      entry["unit"] = u.source;
    entry["compiler"] = u.compiler_version;
    std::fprintf(stderr,
                 "faultline: bisect-opt %s %s %s: -opt-bisect-limit on %s only (one compile + link per step, "
                 "%llu runs per step)\n",
                 c.scenario.c_str(), c.build.c_str(), c.variant.c_str(), entry["unit"].get<std::string>().c_str(),
                 static_cast<unsigned long long>(opt.bisect_repeat));
    const fs::path probe_dir = res.dir / "opt-bisect" / (safe(c.scenario) + "." + c.build + "." + c.variant);
    unsigned attempt = 0;
    BisectTester tester = [&](const std::string& program) {
      ChildOptions co = opt.child;
      co.command = {program, "--variant", c.variant, "--json"};
      co.command.insert(co.command.end(), opt.extra_args.begin(), opt.extra_args.end());
      co.hang_stacks = false;
      co.crash_lib.clear();  // pass/fail is all a probe needs; the matrix cells hold the captured crashes
      co.keep_passing = false;
      record::ResultRecord rec;
      run_attempt(co, probe_dir / std::to_string(attempt++), rec, &interrupt_flag());
      return record::is_failure(rec.outcome);
    };
    BisectOptions bo;
    bo.repeat = static_cast<unsigned>(std::max<std::uint64_t>(1, opt.bisect_repeat));
    bo.verify_repeat = 2 * bo.repeat;
    bo.interrupted = &interrupt_flag();
    bo.progress = [&](const std::string& s) { std::fprintf(stderr, "faultline: bisect-opt: %s\n", s.c_str()); };
    BisectResult r = bisect_opt(builders[key], tester, bo);
    if (r.status == "passes_without_limit")
      r.error += " (but " + std::to_string(c.failures) + " of " + std::to_string(c.attempts) +
                 " matrix attempts failed: flaky, raise --bisect-repeat)";
    entry["result"] = to_json(r);
    res.bisects.push_back(entry);
  }
  // Keep only the programs (and their logs/objects) an answer names.
  std::set<std::string> keep;
  for (const auto& e : res.bisects)
    for (const char* k : {"first_failing_program", "last_passing_program"})
      if (e["result"].contains(k)) keep.insert(fs::path(e["result"][k].get<std::string>()).filename().string());
  for (const auto& [key, u] : units) {
    std::error_code ec;
    std::vector<fs::path> drop;
    for (const auto& f : fs::directory_iterator(u.tree / "opt-bisect" / fs::path(key).filename(), ec)) {
      std::string name = f.path().filename().string(), stem = name.substr(0, name.find('.'));
      if (!keep.count(stem) && stem != "libstdcxx_shim") drop.push_back(f.path());
    }
    for (const auto& f : drop) fs::remove(f, ec);
  }
}

std::string format_bisects(const nlohmann::json& bisects) {
  std::ostringstream o;
  for (const auto& b : bisects) {
    const auto& r = b["result"];
    o << "bisect-opt " << b.value("scenario", "?") << " " << b.value("build", "?");
    if (!b.value("variant", "").empty()) o << " " << b.value("variant", "");
    const std::string status = r.value("status", r.value("found", false) ? "found" : "error");
    if (status != "found") {
      o << ": " << (status == "error" ? "ERROR: " : "") << r.value("error", status) << "\n";
      continue;
    }
    o << " (unit " << b.value("unit", "?") << ")\n";
    o << "  first failing -opt-bisect-limit=" << r["first_failing_limit"].get<int>() << ": pass "
      << r.value("pass", "?");
    const std::string fn = r.value("function_demangled", "");
    if (!fn.empty()) o << " on " << fn << (r.value("function_inferred", false) ? " (the loop's function)" : "");
    o << "\n  last passing limit " << r["last_passing_limit"].get<int>() << " of " << r.value("max_index", 0) << "; "
      << r.value("steps", 0) << " steps (one compile + link each), " << r.value("repeat", 0)
      << " runs per step (any failing run = fails), " << std::fixed << std::setprecision(1) << r.value("wall_s", 0.0)
      << " s" << (r.value("flaky", false) ? "; FLAKY: a passing limit failed on re-check" : "") << "\n";
    for (const auto& l : r.value("passes", nlohmann::json::array())) o << "  " << l.get<std::string>() << "\n";
  }
  return o.str();
}

}  // namespace faultline::harness
