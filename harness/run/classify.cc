// Classification helpers (contract in classify.h).
#include "harness/run/classify.h"

#include <signal.h>

#include <cmath>
#include <cstring>
#include <regex>
#include <sstream>
#include <vector>

namespace faultline::harness {
namespace {

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto nl = s.find('\n', pos);
    if (nl == std::string_view::npos) nl = s.size();
    out.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

}  // namespace

std::string signal_name(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGSYS:
      return "SIGSYS";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    default:
      return "SIG" + std::to_string(sig);
  }
}

std::string si_code_name(int sig, int code) {
  switch (code) {
    case SI_USER:
      return "SI_USER";
    case SI_KERNEL:
      return "SI_KERNEL";
    case SI_QUEUE:
      return "SI_QUEUE";
    case SI_TKILL:
      return "SI_TKILL";
    default:
      break;
  }
  if (sig == SIGSEGV) {
    if (code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (code == SEGV_ACCERR) return "SEGV_ACCERR";
#ifdef SEGV_BNDERR
    if (code == SEGV_BNDERR) return "SEGV_BNDERR";
#endif
#ifdef SEGV_PKUERR
    if (code == SEGV_PKUERR) return "SEGV_PKUERR";
#endif
  } else if (sig == SIGBUS) {
    if (code == BUS_ADRALN) return "BUS_ADRALN";
    if (code == BUS_ADRERR) return "BUS_ADRERR";
    if (code == BUS_OBJERR) return "BUS_OBJERR";
  } else if (sig == SIGILL) {
    if (code == ILL_ILLOPC) return "ILL_ILLOPC";
    if (code == ILL_ILLOPN) return "ILL_ILLOPN";
    if (code == ILL_PRVOPC) return "ILL_PRVOPC";
  } else if (sig == SIGFPE) {
    if (code == FPE_INTDIV) return "FPE_INTDIV";
    if (code == FPE_INTOVF) return "FPE_INTOVF";
    if (code == FPE_FLTDIV) return "FPE_FLTDIV";
  } else if (sig == SIGTRAP) {
    if (code == TRAP_BRKPT) return "TRAP_BRKPT";
    if (code == TRAP_TRACE) return "TRAP_TRACE";
  }
  return std::to_string(code);
}

std::string describe_fault(int sig, int code, std::uint64_t addr) {
  char a[32];
  std::snprintf(a, sizeof a, "0x%llx", static_cast<unsigned long long>(addr));
  if (sig == SIGSEGV && code == SI_KERNEL)
    return "general-protection fault (SI_KERNEL, address reported as 0: a non-canonical address, a misaligned "
           "SSE access or a privileged instruction)";
  if (sig == SIGSEGV && code == SEGV_MAPERR && addr < 4096)
    return std::string("NULL-page dereference at ") + a + " (SEGV_MAPERR)";
  if (sig == SIGSEGV && code == SEGV_MAPERR) return std::string("access to unmapped address ") + a + " (SEGV_MAPERR)";
  if (sig == SIGSEGV && code == SEGV_ACCERR)
    return std::string("access violating page protection at ") + a +
           " (SEGV_ACCERR: guard page, write to read-only, or exec of data)";
  if (sig == SIGBUS) return std::string("bus error at ") + a + " (" + si_code_name(sig, code) + ")";
  if (sig == SIGILL) return std::string("illegal instruction at ") + a + " (" + si_code_name(sig, code) + ")";
  if (sig == SIGFPE) return std::string("arithmetic exception at ") + a + " (" + si_code_name(sig, code) + ")";
  if (sig == SIGTRAP) return "trap (" + si_code_name(sig, code) + ")";
  if (sig == SIGABRT) return "abort (" + si_code_name(sig, code) + ")";
  return signal_name(sig) + " (" + si_code_name(sig, code) + ")";
}

nlohmann::json parse_sanitizer(std::string_view text) {
  static const std::regex kHeader(
      R"(^==\d+==\s*(ERROR|WARNING): (AddressSanitizer|ThreadSanitizer|LeakSanitizer|MemorySanitizer|UndefinedBehaviorSanitizer):?\s*(.*)$)");
  static const std::regex kTsanWarn(R"(^WARNING: ThreadSanitizer: (.*?)( \(pid=\d+\))?$)");
  static const std::regex kUbsan(R"(^(.*?:\d+:\d+): runtime error: (.*)$)");
  // ASan/UBSan/LSan: "#0 0x55d0 in func /src/x.cc:88:12" (or "... in func (module+0x12)").
  static const std::regex kFrame(R"(^\s*#(\d+) (0x[0-9a-fA-F]+) in (.+?) (\S+)$)");
  static const std::regex kFrameNoLoc(R"(^\s*#(\d+) (0x[0-9a-fA-F]+) in (.+)$)");
  static const std::regex kFrameModule(R"(^\s*#(\d+) (0x[0-9a-fA-F]+)\s+\((.+)\)$)");
  // TSan: "#0 func /src/x.cc:88:12 (prog+0x1234)" or "#0 func <null> (libc.so.6+0x12)".
  static const std::regex kTsanFrame(R"(^\s*#(\d+) (.+) (\S+) \(([^()]+)\)$)");
  // clang 14 appends "(BuildId: ...)" to frames with a module.
  static const std::regex kBuildId(R"( \(BuildId: [0-9a-fA-F]+\)$)");
  auto lines = lines_of(text);
  nlohmann::json out;
  std::size_t start = lines.size();
  for (std::size_t i = 0; i < lines.size() && start == lines.size(); ++i) {
    std::string line(trim(lines[i]));
    std::smatch m;
    if (std::regex_search(line, m, kHeader)) {
      out["tool"] = m[2].str();
      std::string kind = m[3].str();
      // "heap-use-after-free on address 0x... at pc ..." -> "heap-use-after-free"
      auto sp = kind.find(' ');
      std::string k = sp == std::string::npos ? kind : kind.substr(0, sp);
      // "negative-size-param: (size=-1)" -> "negative-size-param"
      if (!k.empty() && k.back() == ':') k.pop_back();
      out["kind"] = k;
      out["headline"] = kind;
      start = i;
    } else if (std::regex_search(line, m, kTsanWarn)) {
      out["tool"] = "ThreadSanitizer";
      out["kind"] = m[1].str();
      out["headline"] = m[1].str();
      start = i;
    } else if (std::regex_search(line, m, kUbsan)) {
      out["tool"] = "UndefinedBehaviorSanitizer";
      out["kind"] = m[2].str();
      out["location"] = m[1].str();
      out["headline"] = m[2].str();
      start = i;
    }
  }
  if (start == lines.size()) return nullptr;
  nlohmann::json frames = nlohmann::json::array();
  std::string excerpt;
  for (std::size_t i = start; i < lines.size() && i < start + 60; ++i) {
    std::string line(lines[i]);
    excerpt += line + "\n";
    if (trim(line).substr(0, 8) == "SUMMARY:") {
      out["summary"] = std::string(trim(line));
      break;
    }
    if (frames.size() >= 8) continue;
    // Only the first stack (the access / the race's first side) counts.
    if (!frames.empty() && trim(line).empty()) {
      frames.push_back(nullptr);  // marks the end of the first stack
      continue;
    }
    if (!frames.empty() && frames.back().is_null()) continue;
    std::smatch m;
    std::string t = std::regex_replace(std::string(trim(line)), kBuildId, "");
    if (std::regex_search(t, m, kFrame) && m[4].str().front() == '(')
      frames.push_back({{"index", std::stoi(m[1].str())},
                        {"address", m[2].str()},
                        {"function", m[3].str()},
                        {"module", m[4].str().substr(1, m[4].str().size() - 2)}});
    else if (std::regex_search(t, m, kFrame))
      frames.push_back({{"index", std::stoi(m[1].str())},
                        {"address", m[2].str()},
                        {"function", m[3].str()},
                        {"location", m[4].str()}});
    else if (std::regex_search(t, m, kTsanFrame)) {
      nlohmann::json f{{"index", std::stoi(m[1].str())}, {"function", m[2].str()}, {"module", m[4].str()}};
      if (m[3].str() != "<null>") f["location"] = m[3].str();
      frames.push_back(f);
    } else if (std::regex_search(t, m, kFrameNoLoc))
      frames.push_back({{"index", std::stoi(m[1].str())}, {"address", m[2].str()}, {"function", m[3].str()}});
    else if (std::regex_search(t, m, kFrameModule))
      frames.push_back({{"index", std::stoi(m[1].str())}, {"address", m[2].str()}, {"module", m[3].str()}});
  }
  if (!frames.empty() && frames.back().is_null()) frames.erase(frames.end() - 1);
  out["frames"] = frames;
  out["excerpt"] = excerpt.size() > 8192 ? excerpt.substr(0, 8192) : excerpt;
  return out;
}

std::string abort_message(std::string_view text) {
  auto lines = lines_of(text);
  // Most specific first: an assert, a terminate, a glibc/libstdc++ fatal, a CHECK.
  const std::string_view patterns[] = {
      "Assertion `", "terminate called", "what():", "*** ", "Aborted", "abort", "fatal",
      "FATAL",       "CHECK failed",     "panic"};
  for (auto pat : patterns) {
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
      if (contains(*it, pat)) {
        std::string msg(trim(*it));
        // terminate's message spans two lines: keep the what() with it.
        if (pat == "terminate called" && it != lines.rbegin() && contains(*(it - 1), "what():"))
          msg += " " + std::string(trim(*(it - 1)));
        return msg;
      }
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (!trim(*it).empty()) return std::string(trim(*it));
  return {};
}

nlohmann::json find_repro_record(std::string_view text) {
  auto lines = lines_of(text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto t = trim(*it);
    if (t.empty() || t.front() != '{') continue;
    auto j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    auto s = j.find("schema");
    if (s != j.end() && s->is_string() && s->get<std::string>().rfind("faultline.result", 0) == 0) return j;
  }
  return nullptr;
}

std::pair<double, double> wilson95(std::uint64_t failures, std::uint64_t n) {
  if (n == 0) return {0.0, 1.0};
  const double z = 1.959963984540054;
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(failures) / nn;
  const double denom = 1 + z * z / nn;
  const double center = (p + z * z / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom;
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

}  // namespace faultline::harness
