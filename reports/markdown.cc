// The per-signature Markdown bug report (see markdown.h).
#include "reports/markdown.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "reports/source_tree.h"
#include "reports/text.h"

namespace faultline::reports {
namespace {

constexpr const char* kNotCaptured = "_not captured_";

const nlohmann::json* find_any(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return nullptr;
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()) &&
        !((it->is_object() || it->is_array()) && it->empty()))
      return &*it;
  }
  return nullptr;
}

std::string str_any(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  auto* v = find_any(j, keys);
  return v ? json_text(*v) : std::string{};
}

std::string shell_quote(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                        std::string::npos)
    return a;
  std::string o = "'";
  for (char c : a) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// A recorded command line, as text, from wherever a producer put it.
std::string recorded_command(const Run& run) {
  for (const nlohmann::json* sec : {&run.raw, &run.rec.details, &run.rec.artifacts, &run.rec.environment}) {
    auto* v = find_any(*sec, {"command", "command_line", "cmdline", "argv"});
    if (!v) continue;
    if (v->is_array()) {
      std::string s;
      for (const auto& a : *v) s += (s.empty() ? "" : " ") + shell_quote(json_text(a));
      return s;
    }
    if (v->is_string()) return v->get<std::string>();
  }
  return {};
}

std::string si_code_name(const std::string& sig, const nlohmann::json& code) {
  if (code.is_string()) return code.get<std::string>();
  if (!code.is_number_integer()) return {};
  int c = code.get<int>();
  std::string n;
  if (c == 128)
    n = "SI_KERNEL (general-protection fault: non-canonical address or privileged access)";
  else if (c == 0)
    n = "SI_USER (sent by kill)";
  else if (c == -6)
    n = "SI_TKILL (sent by tgkill/raise)";
  else if (sig == "SIGSEGV" && c == 1)
    n = "SEGV_MAPERR (address not mapped)";
  else if (sig == "SIGSEGV" && c == 2)
    n = "SEGV_ACCERR (invalid permissions for mapped object)";
  else if (sig == "SIGBUS" && c == 1)
    n = "BUS_ADRALN (invalid address alignment)";
  else if (sig == "SIGBUS" && c == 2)
    n = "BUS_ADRERR (nonexistent physical address)";
  else if (sig == "SIGILL" && c == 1)
    n = "ILL_ILLOPC (illegal opcode)";
  else if (sig == "SIGFPE" && c == 1)
    n = "FPE_INTDIV (integer divide by zero)";
  return std::to_string(c) + (n.empty() ? "" : " = " + n);
}

std::string rr_trace(const record::ResultRecord& r) {
  return str_any(r.artifacts, {"rr_trace_dir", "rr_trace", "rr", "trace_dir", "rr_dir"});
}
std::string rr_command(const record::ResultRecord& r) {
  if (auto c = str_any(r.artifacts, {"rr_replay"}); !c.empty()) return c;
  auto t = rr_trace(r);
  return t.empty() ? t : "rr replay " + shell_quote(t);
}

std::string scenarios_of(const RunSet& set, const Signature& sig, std::set<std::pair<std::string, std::string>>* rows) {
  std::set<std::string> names;
  for (auto i : sig.runs) {
    names.insert(set.runs[i].rec.scenario.empty() ? "(unnamed)" : set.runs[i].rec.scenario);
    if (rows) rows->insert({set.runs[i].rec.scenario, set.runs[i].rec.variant});
  }
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Probe objects ({usable, reason, version, evidence}) read as one line;
// other objects are cut so one key cannot swamp the table.
std::string env_value(const nlohmann::json& v) {
  if (v.is_object() && v.contains("usable")) {
    // null when the probe did not run (collect_environment(nullptr)).
    const auto& u = v["usable"];
    std::string s = u.is_boolean() ? (u.get<bool>() ? "usable" : "not usable") : "not probed";
    if (auto ver = str_any(v, {"version"}); !ver.empty()) s += ", " + ver;
    if (auto why = str_any(v, {"reason", "error"}); !why.empty()) s += ": " + why;
    return s;
  }
  std::string s = json_text(v);
  return s.size() > 240 ? s.substr(0, 240) + "…" : s;
}

void section(std::ostringstream& o, const std::string& title) {
  o << "\n## " << title << "\n\n";
}

void environment(std::ostringstream& o, const MarkdownContext& ctx, const Signature& sig, const Run& rep) {
  // Values across every run of the signature: shards from several machines
  // may differ, and a reader needs to see that.
  std::vector<std::pair<std::string, std::set<std::string>>> rows;
  auto add = [&](const std::string& k, const std::string& v) {
    if (v.empty()) return;
    auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == k; });
    if (it == rows.end()) {
      rows.push_back({k, {}});
      it = rows.end() - 1;
    }
    it->second.insert(v);
  };
  std::vector<std::size_t> idx = sig.runs;
  std::stable_partition(idx.begin(), idx.end(), [&](std::size_t i) { return &ctx.set.runs[i] == &rep; });
  for (auto i : idx) {
    const auto& r = ctx.set.runs[i].rec;
    const auto& e = r.environment;
    add("Kernel", str_any(e, {"kernel", "uname", "kernel_release"}));
    add("OS", str_any(e, {"os", "distro", "os_release"}));
    if (auto* cpu = find_any(e, {"cpu", "cpu_model", "model_name"}); cpu && cpu->is_object()) {
      std::string v = str_any(*cpu, {"model", "model_name", "name"});
      if (auto n = str_any(*cpu, {"online", "count", "cores"}); !n.empty()) v += " (" + n + " online)";
      add("CPU", v);
      if (auto fl = str_any(*cpu, {"flags"}); !fl.empty()) {
        // The full flag list is long; the ones that matter for context switches and SIMD are kept.
        std::string keep;
        for (const char* want : {"avx512f", "avx2", "avx", "sse4_2", "xsave", "fsgsbase", "shstk", "ibt"})
          if ((" " + fl + " ").find(std::string(" ") + want + " ") != std::string::npos)
            keep += (keep.empty() ? "" : " ") + std::string(want);
        add("CPU flags (selected)", keep);
      }
    } else {
      add("CPU", cpu ? json_text(*cpu) : std::string{});
    }
    add("Host", str_any(e, {"host", "hostname", "machine"}));
    add("Compiler", r.build.compiler.empty() ? str_any(e, {"compiler", "cxx_compiler"}) : r.build.compiler);
    add("Build type", r.build.type);
    add("Flags", r.build.flags.empty() ? str_any(e, {"flags", "cxxflags"}) : r.build.flags);
    add("Preset", r.build.preset);
    add("Commit", str_any(e, {"commit", "git_commit", "revision", "git_sha"}));
    if (auto* libs = find_any(e, {"libraries", "library_versions", "versions", "libs"})) {
      if (libs->is_object()) {
        for (auto it = libs->begin(); it != libs->end(); ++it) add(it.key(), json_text(*it));
      } else {
        add("Libraries", json_text(*libs));
      }
    }
    if (e.is_object()) {
      static const std::set<std::string> known = {"kernel",
                                                  "uname",
                                                  "kernel_release",
                                                  "os",
                                                  "distro",
                                                  "os_release",
                                                  "cpu",
                                                  "cpu_model",
                                                  "model_name",
                                                  "host",
                                                  "hostname",
                                                  "machine",
                                                  "compiler",
                                                  "cxx_compiler",
                                                  "flags",
                                                  "cxxflags",
                                                  "commit",
                                                  "git_commit",
                                                  "revision",
                                                  "git_sha",
                                                  "libraries",
                                                  "library_versions",
                                                  "versions",
                                                  "libs"};
      for (auto it = e.begin(); it != e.end(); ++it)
        if (!known.count(it.key())) add(it.key(), env_value(*it));
    }
  }
  if (rows.empty()) {
    o << kNotCaptured << "\n";
    return;
  }
  o << "| | |\n|---|---|\n";
  for (const auto& [k, vs] : rows) {
    std::string v;
    for (const auto& x : vs) v += (v.empty() ? "" : "; ") + md_code(x);
    o << "| " << md_cell(k) << " | " << v << " |\n";
  }
}

void steps(std::ostringstream& o, const MarkdownContext& ctx, const Signature& sig, const Run& rep) {
  std::set<std::pair<std::string, std::string>> rows;
  scenarios_of(ctx.set, sig, &rows);
  std::string cmds;
  std::set<std::string> scen;
  for (const auto& [s, v] : rows) {
    if (s.empty()) continue;
    // `repro run` only knows the repro catalog: skip scenarios that are
    // command lines or whose family has no folder under repro/.
    bool repro = s.find('/') != std::string::npos && s.find(' ') == std::string::npos &&
                 (ctx.source_root.empty() || !repro_file(ctx.source_root, s).empty());
    if (repro) scen.insert(s);
    if (repro)
      cmds += "./faultline repro run " + shell_quote(s) + (v.empty() ? "" : " --variant " + shell_quote(v)) + "\n";
  }
  if (auto c = recorded_command(rep); !c.empty())
    cmds += "# the recorded command line of run " + rep.rec.run_id + ":\n" + c + "\n";
  if (!ctx.matrix_command.empty()) {
    cmds += "# the build-configuration matrix, as recorded:\n" + ctx.matrix_command + "\n";
  } else {
    for (const auto& s : scen) cmds += "./faultline matrix --scenario " + shell_quote(s) + "\n";
  }
  if (cmds.empty()) {
    o << kNotCaptured << " (the records name no scenario and no command line)\n";
    return;
  }
  o << "From a checkout of faultline (`./faultline` builds what it needs first):\n\n" << md_fence(cmds, "sh");
}

void expected_actual(std::ostringstream& o, const Signature& sig, const Run& rep) {
  const auto& r = rep.rec;
  std::string expected = str_any(r.details, {"expected"});
  std::string actual = str_any(r.details, {"actual"});
  if (expected.empty()) expected = "the program runs to completion and exits 0 (`pass`), as the fixed variant does.";
  if (actual.empty()) {
    actual = "`" + sig.kind + "`";
    if (!sig.signal.empty()) actual += " (" + sig.signal + ")";
    if (!r.summary.empty()) actual += ": " + r.summary;
    if (r.exit_code) actual += " — exit code " + std::to_string(*r.exit_code);
  }
  o << "- **Expected:** " << md_cell(expected) << "\n- **Actual:** " << md_cell(actual) << "\n";
}

void rates(std::ostringstream& o, const MarkdownContext& ctx, const Signature& sig) {
  std::set<std::pair<std::string, std::string>> rows;
  scenarios_of(ctx.set, sig, &rows);
  std::set<std::size_t> mine(sig.runs.begin(), sig.runs.end());
  struct Count {
    std::size_t runs = 0, this_sig = 0, any_fail = 0;
  };
  std::map<std::string, Count> by_build;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < ctx.set.runs.size(); ++i) {
    const auto& r = ctx.set.runs[i].rec;
    if (!rows.count({r.scenario, r.variant}) || r.outcome == record::Outcome::skip) continue;
    std::string b = build_label(r.build);
    if (!by_build.count(b)) order.push_back(b);
    auto& c = by_build[b];
    ++c.runs;
    c.this_sig += mine.count(i);
    c.any_fail += record::is_failure(r.outcome) ? 1 : 0;
  }
  if (order.empty()) {
    o << kNotCaptured << "\n";
    return;
  }
  std::sort(order.begin(), order.end());
  o << "Runs of the same scenario and variant, skips excluded; the interval is the Wilson 95% score interval.\n\n"
    << "| Build configuration | Runs | This failure | Any failure | Rate | 95% interval |\n"
    << "|---|---:|---:|---:|---:|---|\n";
  for (const auto& b : order) {
    const auto& c = by_build[b];
    auto ci = wilson95(c.this_sig, c.runs);
    o << "| " << md_cell(b) << " | " << c.runs << " | " << c.this_sig << " | " << c.any_fail << " | "
      << fmt_pct(static_cast<double>(c.this_sig) / static_cast<double>(c.runs)) << " | " << fmt_pct(ci.low) << " – "
      << fmt_pct(ci.high) << " |\n";
  }
}

void signal_details(std::ostringstream& o, const Signature& sig, const Run& rep) {
  const auto& c = rep.rec.crash;
  std::string sig_name = signal_name(rep.rec);
  std::ostringstream b;
  if (!sig_name.empty()) b << "- **Signal:** " << md_code(sig_name) << "\n";
  if (auto* code = find_any(c, {"si_code", "code"})) {
    std::string name = str_any(c, {"si_code_name"});
    b << "- **si_code:** " << md_cell(name.empty() ? si_code_name(sig_name, *code) : json_text(*code) + " = " + name)
      << "\n";
  }
  if (auto a = str_any(c, {"address", "fault_address", "si_addr", "addr"}); !a.empty())
    b << "- **Fault address:** " << md_code(a) << "\n";
  if (auto t = str_any(c, {"thread", "thread_name", "tid"}); !t.empty()) b << "- **Thread:** " << md_code(t) << "\n";
  if (auto pc = str_any(c, {"pc", "rip"}); !pc.empty()) b << "- **Faulting pc:** " << md_code(pc) << "\n";
  if (auto d = str_any(c, {"description", "reason"}); !d.empty()) b << "- **Description:** " << md_cell(d) << "\n";
  if (auto m = str_any(rep.rec.details, {"abort_message"}); !m.empty())
    b << "- **Abort message:** " << md_code(m) << "\n";
  if (c.is_object() && c.contains("in_fiber"))
    b << "- **In a fiber:** " << (c.value("in_fiber", false) ? "yes" : "no")
      << (c.contains("fiber_id") ? " (fiber " + json_text(c["fiber_id"]) + ")" : std::string()) << "\n";
  if (auto* regs = find_any(c, {"registers", "regs"})) {
    b << "\n**Registers at the fault:**\n\n";
    std::string text;
    if (regs->is_object()) {
      // The order a reader of a fault expects: pc, stack, frame, then the rest.
      static const std::vector<std::string> order = {"rip", "rsp", "rbp", "rax",    "rbx", "rcx", "rdx",
                                                     "rsi", "rdi", "r8",  "r9",     "r10", "r11", "r12",
                                                     "r13", "r14", "r15", "eflags", "cr2", "err", "trapno"};
      nlohmann::json sorted = nlohmann::json::array();
      for (const auto& k : order)
        if (regs->contains(k)) sorted.push_back({k, (*regs)[k]});
      for (auto it = regs->begin(); it != regs->end(); ++it)
        if (std::find(order.begin(), order.end(), it.key()) == order.end()) sorted.push_back({it.key(), *it});
      int col = 0;
      for (const auto& kv : sorted) {
        auto key = kv[0].get<std::string>();
        char buf[96];
        std::snprintf(buf, sizeof buf, "%-6s %-20s", key.c_str(), json_text(kv[1]).c_str());
        text += buf;
        text += ++col % 3 == 0 ? "\n" : "  ";
      }
    } else if (regs->is_array()) {
      for (const auto& r : *regs) text += json_text(r) + "\n";
    } else {
      text = json_text(*regs);
    }
    b << md_fence(text);
  }
  if (auto ins = str_any(c, {"instruction", "faulting_instruction", "insn"}); !ins.empty())
    b << "\n**Faulting instruction:** " << md_code(ins) << "\n";
  if (auto* dis = find_any(c, {"disassembly", "disasm"})) {
    std::string text;
    if (dis->is_array())
      for (const auto& l : *dis) text += json_text(l) + "\n";
    else
      text = json_text(*dis);
    b << "\n**Disassembly around the fault** (`=>` marks the faulting instruction where the producer marked it):\n\n"
      << md_fence(text, "asm");
  }
  std::string body = b.str();
  if (body.empty())
    o << kNotCaptured << (sig.kind == "crash" || sig.kind == "abort" ? "" : " (this failure is not a signal)") << "\n";
  else
    o << body;
}

void backtrace(std::ostringstream& o, const Signature& sig, const Run& rep) {
  auto frames = failing_frames(rep.rec);
  if (frames.empty()) {
    o << kNotCaptured << "\n";
    return;
  }
  std::string text;
  for (std::size_t i = 0; i < frames.size() && i < 64; ++i) {
    std::string line = frames[i].raw.empty() ? frames[i].function : frames[i].raw;
    if (line.rfind("#", 0) != 0) line = "#" + std::to_string(i) + "  " + line;
    text += line + "\n";
  }
  if (frames.size() > 64) text += "... " + std::to_string(frames.size() - 64) + " more frames\n";
  o << "Failing thread of run `" << md_cell(rep.rec.run_id) << "`:\n\n" << md_fence(text);
  if (!sig.frames.empty()) {
    o << "\nSignature frames (normalised; harness, libc and runtime frames removed):\n\n";
    for (std::size_t i = 0; i < sig.frames.size(); ++i) o << i + 1 << ". " << md_code(sig.frames[i]) << "\n";
  }
}

void hang_stacks(std::ostringstream& o, const Run& rep) {
  const auto& h = rep.rec.hang;
  auto* threads = find_any(h, {"threads", "stacks", "thread_stacks"});
  std::string text;
  if (threads && threads->is_array()) {
    for (const auto& t : *threads) {
      if (!t.is_object()) {
        text += json_text(t) + "\n";
        continue;
      }
      text += "Thread " + str_any(t, {"thread", "name", "tid", "id"});
      if (auto s = str_any(t, {"state", "fiber_state"}); !s.empty()) text += " (" + s + ")";
      text += ":\n";
      if (auto* f = find_any(t, {"frames", "backtrace", "stack"})) {
        if (f->is_array()) {
          int n = 0;
          for (const auto& fr : *f) text += "  #" + std::to_string(n++) + "  " + parse_frame(fr).raw + "\n";
        } else {
          text += json_text(*f) + "\n";
        }
      }
    }
  } else if (auto* any = find_any(h, {"text", "stacks_text", "gdb"})) {
    text = json_text(*any);
  }
  if (auto* fibers = find_any(h, {"fibers", "fiber_states"})) text += "\nFibers:\n" + fibers->dump(2) + "\n";
  o << (text.empty() ? std::string(kNotCaptured) + "\n" : md_fence(text));
}

void rr_section(std::ostringstream& o, const Run& rep, const Signature& sig, const RunSet& set) {
  // Any run of the signature with a trace will do; prefer the representative.
  const Run* with = rr_command(rep.rec).empty() ? nullptr : &rep;
  for (auto i : sig.runs)
    if (!with && !rr_command(set.runs[i].rec).empty()) with = &set.runs[i];
  std::string core = str_any(rep.rec.artifacts, {"core", "core_file", "coredump"});
  if (!with && core.empty()) {
    o << kNotCaptured << " (no rr trace recorded for this failure; record one with the harness under rr)\n";
    return;
  }
  if (with) {
    o << "An rr trace of run `" << md_cell(with->rec.run_id) << "` replays the failure deterministically:\n\n"
      << md_fence(rr_command(with->rec) +
                      "\n# then in gdb: continue, and reverse-continue / "
                      "reverse-stepi from the fault\n",
                  "sh");
  }
  if (!core.empty()) {
    std::string exe = str_any(rep.rec.artifacts, {"binary", "executable", "program"});
    o << "\nCore file: " << md_code(core) << "\n\n"
      << md_fence("gdb " + (exe.empty() ? std::string("<program>") : shell_quote(exe)) + " " + shell_quote(core) + "\n",
                  "sh");
  }
}

void sanitizer(std::ostringstream& o, const Run& rep) {
  const auto& s = rep.rec.sanitizer;
  std::string kind = str_any(s, {"headline", "kind", "type"});
  if (auto tool = str_any(s, {"tool"}); !tool.empty()) kind = kind.empty() ? tool : tool + ": " + kind;
  std::string excerpt = str_any(s, {"excerpt", "report", "text", "output"});
  if (kind.empty() && excerpt.empty()) {
    o << kNotCaptured << "\n";
    return;
  }
  if (!kind.empty()) o << "**" << md_cell(kind) << "**\n\n";
  if (!excerpt.empty()) o << md_fence(excerpt);
}

}  // namespace

std::size_t representative_run(const RunSet& set, const Signature& sig) {
  std::size_t best = sig.runs.empty() ? 0 : sig.runs.front();
  int best_score = -1;
  for (auto i : sig.runs) {
    const auto& r = set.runs[i].rec;
    int score = 0;
    for (const auto* j : {&r.crash, &r.sanitizer, &r.hang, &r.environment, &r.artifacts})
      score += (j->is_object() && !j->empty()) ? static_cast<int>(j->size()) + 2 : 0;
    score += rr_command(r).empty() ? 0 : 5;
    score += failing_frames(r).empty() ? 0 : 5;
    if (score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

std::string markdown_report(const MarkdownContext& ctx, const Signature& sig) {
  const auto& set = ctx.set;
  const Run& rep = set.runs.at(representative_run(set, sig));
  std::ostringstream o;
  o << "# " << md_cell(sig.title) << "\n\n";
  std::set<std::pair<std::string, std::string>> rows;
  std::string scen = scenarios_of(set, sig, &rows);
  std::size_t total = 0;
  std::set<std::string> builds_failing, builds_all;
  for (std::size_t i = 0; i < set.runs.size(); ++i) {
    const auto& r = set.runs[i].rec;
    if (!rows.count({r.scenario, r.variant}) || r.outcome == record::Outcome::skip) continue;
    ++total;
    builds_all.insert(build_label(r.build));
  }
  for (auto i : sig.runs) builds_failing.insert(build_label(set.runs[i].rec.build));
  o << "Signature `" << sig.id << "` · " << sig.runs.size() << " failing run(s) of " << total
    << " · generated by `faultline report`\n";

  section(o, "Summary");
  {
    std::string what = sig.kind == "crash"   ? "crashes" + (sig.signal.empty() ? std::string() : " with " + sig.signal)
                       : sig.kind == "abort" ? std::string("aborts (SIGABRT)")
                       : sig.kind == "sanitizer" ? "triggers a sanitizer report (" + sig.signal + ")"
                       : sig.kind == "hang"      ? std::string("hangs (no progress within the timeout)")
                       : sig.kind == "oom"       ? std::string("runs out of memory")
                       : sig.kind == "fail"      ? std::string("misbehaves without crashing")
                                                 : "ends with outcome `" + sig.kind + "`";
    o << "In " << sig.runs.size() << " of " << total << " run(s) of " << md_cell(scen) << ", the program " << what;
    if (!sig.frames.empty()) o << " in " << md_code(sig.frames.front());
    if (sig.frames.size() > 1) o << " (called from " << md_code(sig.frames[1]) << ")";
    o << ". ";
    std::vector<std::string> clean;
    for (const auto& b : builds_all)
      if (!builds_failing.count(b)) clean.push_back(b);
    std::string fb;
    for (const auto& b : builds_failing) fb += (fb.empty() ? "" : ", ") + b;
    o << "It fails in " << md_cell(fb);
    if (!clean.empty()) {
      std::string cb;
      for (const auto& b : clean) cb += (cb.empty() ? "" : ", ") + b;
      o << " and does not fail in " << md_cell(cb);
    }
    o << ".";
    if (!rep.rec.summary.empty()) o << " The harness saw: " << md_cell(rep.rec.summary);
    o << "\n";
  }
  section(o, "Environment");
  environment(o, ctx, sig, rep);
  section(o, "Steps to reproduce");
  steps(o, ctx, sig, rep);
  section(o, "Expected vs actual");
  expected_actual(o, sig, rep);
  section(o, "Failure rate per build configuration");
  rates(o, ctx, sig);
  section(o, "Signal details");
  signal_details(o, sig, rep);
  section(o, "Backtrace");
  backtrace(o, sig, rep);
  if (sig.kind == "hang") {
    section(o, "Thread stacks at the hang");
    hang_stacks(o, rep);
  }
  section(o, "rr replay");
  rr_section(o, rep, sig, set);
  section(o, "Sanitizer report");
  sanitizer(o, rep);
  section(o, "Minimal repro");
  {
    std::set<std::string> files;
    for (const auto& [s, v] : rows)
      if (auto f = repro_file(ctx.source_root, s); !f.empty()) files.insert(f);
    if (files.empty()) {
      o << kNotCaptured << " (no file under `repro/` matches " << md_cell(scen)
        << (ctx.source_root.empty() ? "; the source tree was not found — set FAULTLINE_ROOT" : "") << ")\n";
    } else {
      for (const auto& f : files) o << "- " << md_code(f) << "\n";
      o << "\nEach repro is standalone: `--variant broken` shows the bug, `--variant fixed` the correct code.\n";
    }
  }
  section(o, "Runs");
  {
    std::size_t shown = 0;
    o << "| Run id | Build | Outcome | Duration | Source |\n|---|---|---|---:|---|\n";
    for (auto i : sig.runs) {
      if (shown++ == 20) break;
      const auto& r = set.runs[i];
      char dur[32];
      std::snprintf(dur, sizeof dur, "%.3f s", r.rec.duration_s);
      o << "| " << md_code(r.rec.run_id.empty() ? "(none)" : r.rec.run_id) << " | " << md_cell(build_label(r.rec.build))
        << " | " << record::to_string(r.rec.outcome) << " | " << dur << " | " << md_code(r.source) << " |\n";
    }
    if (sig.runs.size() > 20) o << "\n… and " << sig.runs.size() - 20 << " more run(s) with this signature.\n";
  }
  return o.str();
}

}  // namespace faultline::reports
