// Failure signatures and frame normalisation (see signature.h).
#include "reports/signature.h"

#include <cxxabi.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <regex>

namespace faultline::reports {
namespace {

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string demangle(const std::string& s) {
  if (s.rfind("_Z", 0) != 0) return s;
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(abi::__cxa_demangle(s.c_str(), nullptr, nullptr, &status),
                                                  &std::free);
  return status == 0 && out ? std::string(out.get()) : s;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// True when the '<' at `i` belongs to an operator name, not a template list.
bool is_operator_lt(const std::string& s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && s[j - 1] == '<') --j;  // operator<< : step back over the first '<'
  return j >= 8 && s.compare(j - 8, 8, "operator") == 0;
}

// True when the '>' at `i` belongs to an operator name (operator>, >>, ->).
bool is_operator_gt(const std::string& s, std::size_t i) {
  if (i > 0 && s[i - 1] == '-') return true;
  std::size_t j = i;
  while (j > 0 && s[j - 1] == '>') --j;
  return j >= 8 && s.compare(j - 8, 8, "operator") == 0;
}

// Collapses balanced <...> (template arguments) to <>.
std::string collapse_templates(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '<' && !is_operator_lt(s, i)) {
      int depth = 0;
      std::size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '<') ++depth;
        if (s[j] == '>' && !(j > 0 && s[j - 1] == '-')) {
          if (--depth == 0) break;
        }
      }
      if (j < s.size()) {
        out += "<>";
        i = j;
        continue;
      }
    }
    out += c;
  }
  return out;
}

// Replaces {lambda(int)#1} with {lambda}: the parameter list and ordinal
// differ between compilers and edits, the enclosing function does not.
std::string collapse_lambdas(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 7, "{lambda") == 0) {
      int depth = 0;
      std::size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '{') ++depth;
        if (s[j] == '}' && --depth == 0) break;
      }
      out += "{lambda}";
      i = j;
      continue;
    }
    out += s[i];
  }
  return out;
}

// Removes every parameter list at depth 0 (keeping the "()" of operator()),
// so "foo(int)::{lambda}::operator()(int) const" becomes
// "foo::{lambda}::operator()", then the trailing cv/ref qualifiers.
std::string strip_params(const std::string& s) {
  std::string out;
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool op = (c == '<' && is_operator_lt(s, i)) || (c == '>' && is_operator_gt(s, i));
    if (!op && (c == '<' || c == '{' || c == '[')) ++depth;
    if (!op && (c == '>' || c == '}' || c == ']') && depth > 0) --depth;
    if (c == '(' && depth == 0 && i > 0) {
      if (out.size() >= 8 && out.compare(out.size() - 8, 8, "operator") == 0 && i + 1 < s.size() && s[i + 1] == ')') {
        out += "()";
        ++i;
        continue;
      }
      int pd = 0;
      std::size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '(') ++pd;
        if (s[j] == ')' && --pd == 0) break;
      }
      i = j;
      continue;
    }
    out += c;
  }
  static const std::regex quals(R"((\s*(const|volatile|&&|&|noexcept))+$)");
  return std::regex_replace(out, quals, "");
}

const std::array<const char*, 4> kAnon = {
    "(anonymous namespace)::", "{anonymous}::", "`anonymous namespace'::", "(anonymous namespace)"};

std::string json_str(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return {};
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it == j.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_unsigned() || it->is_number_integer()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(it->get<std::uint64_t>()));
      return buf;
    }
  }
  return {};
}

const std::map<int, const char*>& signal_names() {
  static const std::map<int, const char*> m = {
      {1, "SIGHUP"},   {2, "SIGINT"},   {3, "SIGQUIT"},  {4, "SIGILL"},   {5, "SIGTRAP"},  {6, "SIGABRT"},
      {7, "SIGBUS"},   {8, "SIGFPE"},   {9, "SIGKILL"},  {10, "SIGUSR1"}, {11, "SIGSEGV"}, {12, "SIGUSR2"},
      {13, "SIGPIPE"}, {14, "SIGALRM"}, {15, "SIGTERM"}, {24, "SIGXCPU"}, {25, "SIGXFSZ"}, {31, "SIGSYS"}};
  return m;
}

std::vector<Frame> frames_from(const nlohmann::json& arr) {
  std::vector<Frame> out;
  const nlohmann::json* a = &arr;
  if (arr.is_object() && arr.contains("frames")) a = &arr["frames"];
  if (a->is_string()) {
    // A whole backtrace as one text block: one frame per line.
    std::string text = a->get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {
      auto nl = text.find('\n', start);
      std::string line = trim(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (!line.empty()) out.push_back(parse_frame(nlohmann::json(line)));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return out;
  }
  if (!a->is_array()) return out;
  for (const auto& f : *a) out.push_back(parse_frame(f));
  return out;
}

const nlohmann::json* first_of(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return nullptr;
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && (it->is_array() || it->is_string() || it->is_object()) && !it->empty()) return &*it;
  }
  return nullptr;
}

// Threads: the one flagged as the failing one, else the first with frames.
std::vector<Frame> frames_from_threads(const nlohmann::json& threads) {
  if (!threads.is_array()) return {};
  const nlohmann::json* pick = nullptr;
  for (const auto& t : threads) {
    if (!t.is_object()) continue;
    for (const char* flag : {"crashed", "failing", "current", "faulting", "blocked", "suspect"})
      if (t.value(flag, false) && !pick) pick = &t;
  }
  if (!pick)
    for (const auto& t : threads)
      if (first_of(t, {"frames", "backtrace", "stack"})) {
        pick = &t;
        break;
      }
  if (!pick) return {};
  if (auto* f = first_of(*pick, {"frames", "backtrace", "stack"})) return frames_from(*f);
  return {};
}

std::vector<Frame> from_section(const nlohmann::json& sec) {
  if (!sec.is_object()) return sec.is_array() ? frames_from(sec) : std::vector<Frame>{};
  if (auto* f = first_of(sec, {"backtrace", "frames", "stack", "stacktrace"})) {
    auto v = frames_from(*f);
    if (!v.empty()) return v;
  }
  for (const char* k : {"threads", "stacks", "thread_stacks"})
    if (sec.contains(k)) {
      auto v = frames_from_threads(sec[k]);
      if (!v.empty()) return v;
    }
  return {};
}

std::string hex12(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(h & 0xffffffffffffull));
  return buf;
}

}  // namespace

std::string normalize_function(const std::string& name) {
  std::string s = trim(demangle(trim(name)));
  for (const char* marker : {"[inlined]", "(inlined)", "[inline]", "(inline)", "inlined from "})
    replace_all(s, marker, "");
  for (const char* a : kAnon) replace_all(s, a, "");
  replace_all(s, "[abi:cxx11]", "");
  // " [clone .cold]" (gdb/c++filt) and ".isra.0"/".constprop.3"/".part.1"/".cold" (raw symbols).
  static const std::regex clone_re(R"(\s*\[clone [^\]]*\])");
  static const std::regex suffix_re(R"(\.(isra|constprop|part|cold|lto_priv|localalias|llvm)(\.\d+)*)");
  static const std::regex offset_re(R"(\+0x[0-9a-fA-F]+|\+\d+$)");
  static const std::regex addr_re(R"(\[?0x[0-9a-fA-F]+\]?)");
  static const std::regex symver_re(R"(@@?[A-Za-z_][A-Za-z0-9_.]*)");
  s = std::regex_replace(s, clone_re, "");
  s = std::regex_replace(s, symver_re, "");
  s = std::regex_replace(s, suffix_re, "");
  s = std::regex_replace(s, offset_re, "");
  s = std::regex_replace(s, addr_re, "");
  s = collapse_lambdas(s);
  s = collapse_templates(s);
  s = strip_params(trim(s));
  // Whitespace runs collapse to one space.
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  out = trim(out);
  if (out == "??" || out == "?" || out == "<unknown>" || out == "unknown") return {};
  return out;
}

Frame parse_frame(const nlohmann::json& j) {
  Frame f;
  if (j.is_object()) {
    std::string fn = json_str(j, {"function", "func", "symbol", "name", "fn"});
    f.file = json_str(j, {"file", "source", "filename"});
    f.module = json_str(j, {"module", "object", "library", "lib", "binary", "image"});
    if (auto it = j.find("line"); it != j.end() && it->is_number_integer()) f.line = it->get<int>();
    // Sanitizer frames carry "location": "file:line:col".
    if (std::string loc = json_str(j, {"location"}); f.file.empty() && !loc.empty()) {
      static const std::regex loc_re(R"(^(.*?):(\d+)(:\d+)?$)");
      std::smatch m;
      if (std::regex_match(loc, m, loc_re)) {
        f.file = m[1].str();
        f.line = std::atoi(m[2].str().c_str());
      } else {
        f.file = loc;
      }
    }
    f.inlined = j.value("inlined", false);
    if (fn.empty()) {
      std::string text = json_str(j, {"raw", "text", "frame", "line_text"});
      if (!text.empty()) {
        Frame g = parse_frame(nlohmann::json(text));
        g.inlined = g.inlined || f.inlined;
        return g;
      }
    }
    f.function = normalize_function(fn);
    f.raw = fn.empty() ? "??" : fn;
    if (!f.file.empty()) f.raw += " at " + f.file + (f.line ? ":" + std::to_string(f.line) : "");
    if (!f.module.empty()) f.raw += " (" + f.module + ")";
    std::string addr = json_str(j, {"address", "pc", "ip", "addr"});
    if (!addr.empty()) f.raw = addr + " " + f.raw;
    if (f.inlined) f.raw += " [inlined]";
    return f;
  }
  if (!j.is_string()) return f;
  std::string s = trim(j.get<std::string>());
  f.raw = s;
  if (s.find("inlined") != std::string::npos || s.find("[inline]") != std::string::npos) f.inlined = true;
  static const std::regex num_re(R"(^#\d+\s+)");
  static const std::regex pc_re(R"(^0x[0-9a-fA-F]+\s+(in\s+)?)");
  static const std::regex bts_re(R"(^(\S+)\(([^)]*)\)\s*(\[0x[0-9a-fA-F]+\])?$)");
  static const std::regex modoff_re(R"(\s*\(([^()\s]+)\+0x[0-9a-fA-F]+\)$)");
  static const std::regex from_re(R"(\s+from\s+(\S+)$)");
  static const std::regex at_re(R"(\s+at\s+(\S+?):(\d+)(:\d+)?$)");
  static const std::regex dash_re(R"(\s+-\s+(\S+?):(\d+)(:\d+)?$)");
  static const std::regex path_re(R"(\s+(\S*[/.]\S*?):(\d+)(:\d+)?$)");
  static const std::regex brack_re(R"(\s*\[0x[0-9a-fA-F]+\]$)");
  std::smatch m;
  s = std::regex_replace(s, num_re, "");
  s = std::regex_replace(s, pc_re, "");
  if (std::regex_match(s, m, bts_re) && m[1].str().find('/') != std::string::npos) {
    // backtrace_symbols: module(symbol+0xoff) [0xaddr]
    f.module = m[1].str();
    std::string sym = m[2].str();
    f.function = normalize_function(sym.substr(0, sym.find('+')));
    return f;
  }
  s = std::regex_replace(s, brack_re, "");
  if (std::regex_search(s, m, modoff_re)) {
    f.module = m[1].str();
    s = s.substr(0, m.position(0));
  }
  if (std::regex_search(s, m, from_re)) {
    f.module = m[1].str();
    s = s.substr(0, m.position(0));
  }
  if (std::regex_search(s, m, at_re) || std::regex_search(s, m, dash_re) || std::regex_search(s, m, path_re)) {
    f.file = m[1].str();
    f.line = std::atoi(m[2].str().c_str());
    s = s.substr(0, m.position(0));
  }
  f.function = normalize_function(s);
  return f;
}

bool is_noise_frame(const Frame& f) {
  const std::string& fn = f.function;
  if (fn.empty() || fn == "<signal handler called>") return true;
  static const std::array<const char*, 32> exact = {"raise",
                                                    "gsignal",
                                                    "abort",
                                                    "__GI_raise",
                                                    "__GI_abort",
                                                    "__restore_rt",
                                                    "__sigaction",
                                                    "killpg",
                                                    "pthread_kill",
                                                    "__pthread_kill_implementation",
                                                    "__pthread_kill_internal",
                                                    "__libc_start_main",
                                                    "__libc_start_call_main",
                                                    "__libc_start_main_impl",
                                                    "_start",
                                                    "start_thread",
                                                    "clone",
                                                    "clone3",
                                                    "__clone",
                                                    "__clone3",
                                                    "__assert_fail",
                                                    "__assert_fail_base",
                                                    "__assert_perror_fail",
                                                    "__libc_message",
                                                    "__libc_fatal",
                                                    "__fortify_fail",
                                                    "__stack_chk_fail",
                                                    "__chk_fail",
                                                    "malloc_printerr",
                                                    "__kernel_rt_sigreturn",
                                                    "backtrace",
                                                    "__backtrace"};
  for (const char* e : exact)
    if (fn == e) return true;
  static const std::array<const char*, 28> prefixes = {"faultline::harness::",
                                                       "faultline::repro::repro_main",
                                                       "faultline::repro::print_progress",
                                                       "faultline::record::",
                                                       "faultline::capture",
                                                       "fl_capture",
                                                       "_ULx86_64_",
                                                       "_Ux86_64_",
                                                       "unw_",
                                                       "_Unwind_",
                                                       "__gxx_personality",
                                                       "__sanitizer::",
                                                       "__asan::",
                                                       "__tsan::",
                                                       "__ubsan::",
                                                       "__lsan::",
                                                       "__interceptor_",
                                                       "___interceptor_",
                                                       "std::terminate",
                                                       "__cxxabiv1::",
                                                       "__gnu_cxx::__verbose_terminate_handler",
                                                       "__cxa_",
                                                       "faultline::crash::",
                                                       "__GI_",
                                                       "__futex",
                                                       "__lll_",
                                                       "___pthread_",
                                                       "__pthread_"};
  for (const char* p : prefixes)
    if (fn.rfind(p, 0) == 0) return true;
  for (const char* p : {"__asan_", "__tsan_", "__ubsan_", "__sanitizer_", "__msan_"})
    if (fn.rfind(p, 0) == 0) return true;
  // Whole libraries that only ever carry the fault to us, never cause it.
  std::string mod =
      f.module.substr(f.module.find_last_of('/') == std::string::npos ? 0 : f.module.find_last_of('/') + 1);
  for (const char* lib : {"libc.so", "libpthread.so", "ld-linux", "libasan.so", "libtsan.so", "libubsan.so",
                          "liblsan.so", "libunwind.so", "libunwind-", "libgcc_s.so", "libclang_rt", "libdw.so"})
    if (mod.find(lib) != std::string::npos) return true;
  return false;
}

std::vector<Frame> failing_frames(const record::ResultRecord& r) {
  std::vector<const nlohmann::json*> order;
  if (r.outcome == record::Outcome::sanitizer)
    order = {&r.sanitizer, &r.crash, &r.hang};
  else if (r.outcome == record::Outcome::hang)
    order = {&r.hang, &r.crash, &r.sanitizer};
  else
    order = {&r.crash, &r.sanitizer, &r.hang};
  for (const auto* sec : order) {
    auto v = from_section(*sec);
    if (!v.empty()) return v;
  }
  // Some producers put the backtrace in details.
  if (auto* f = first_of(r.details, {"backtrace", "frames", "stack"})) return frames_from(*f);
  return {};
}

std::string signal_name(const record::ResultRecord& r) {
  const auto& c = r.crash;
  if (c.is_object()) {
    for (const char* k : {"signal_name", "signal"}) {
      auto it = c.find(k);
      if (it == c.end()) continue;
      if (it->is_string()) {
        std::string s = it->get<std::string>();
        if (s.rfind("SIG", 0) == 0) return s.substr(0, s.find_first_of(" (:"));
        if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit)) {
          auto n = signal_names().find(std::atoi(s.c_str()));
          if (n != signal_names().end()) return n->second;
        }
      } else if (it->is_number_integer()) {
        auto n = signal_names().find(it->get<int>());
        return n != signal_names().end() ? n->second : "signal " + std::to_string(it->get<int>());
      }
    }
  }
  if (r.outcome == record::Outcome::abort) return "SIGABRT";
  if ((r.outcome == record::Outcome::crash || r.outcome == record::Outcome::oom) && r.exit_code) {
    int code = *r.exit_code;
    int sig = code > 128 ? code - 128 : (code < 0 ? -code : 0);
    auto n = signal_names().find(sig);
    if (n != signal_names().end()) return n->second;
  }
  return {};
}

Signature signature_of(const record::ResultRecord& r, std::size_t top_n) {
  Signature s;
  s.kind = std::string(record::to_string(r.outcome));
  if (r.outcome == record::Outcome::sanitizer) {
    s.signal = r.sanitizer.is_object() ? r.sanitizer.value("kind", std::string{}) : std::string{};
    if (s.signal.empty()) s.signal = "sanitizer";
  } else {
    s.signal = signal_name(r);
  }
  for (const auto& f : failing_frames(r)) {
    if (is_noise_frame(f)) continue;
    if (!s.frames.empty() && s.frames.back() == f.function) continue;  // recursion / inline duplicates
    s.frames.push_back(f.function);
    if (s.frames.size() >= top_n) break;
  }
  s.key = s.kind + (s.signal.empty() ? "" : "/" + s.signal);
  std::string label = s.signal.empty() ? s.kind : s.kind == "crash" ? s.signal : s.kind + " (" + s.signal + ")";
  if (s.frames.empty()) {
    s.scenario_fallback = r.scenario.empty() ? "(unnamed scenario)" : r.scenario;
    s.key += "|scenario:" + s.scenario_fallback;
    s.title = s.scenario_fallback + ": " + label;
  } else {
    for (const auto& f : s.frames) s.key += "|" + f;
    s.title = label + " in " + s.frames.front() + (r.scenario.empty() ? "" : " (" + r.scenario + ")");
  }
  s.id = hex12(s.key);
  return s;
}

std::vector<Signature> group_failures(const RunSet& set, std::size_t top_n) {
  std::vector<Signature> out;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < set.runs.size(); ++i) {
    const auto& r = set.runs[i].rec;
    if (!record::is_failure(r.outcome)) continue;
    Signature s = signature_of(r, top_n);
    auto [it, fresh] = index.emplace(s.key, out.size());
    if (fresh) out.push_back(std::move(s));
    out[it->second].runs.push_back(i);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.runs.size() > b.runs.size(); });
  return out;
}

}  // namespace faultline::reports
