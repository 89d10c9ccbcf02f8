// libdw-based offline symbolisation (contract in symbolize.h). Each module is
// reported to an offline Dwfl at the address its offset-0 mapping had in the
// dead process, so PIE executables and shared libraries resolve alike.
#include "harness/run/symbolize.h"

#include <cxxabi.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "harness/run/process.h"

namespace faultline::harness {
namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

bool is_file_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && p.find(" (deleted)") == std::string::npos;
}

// The load base of each file-backed module: the start of its offset-0 mapping.
std::map<std::string, std::uint64_t> module_bases(const std::vector<crash::Mapping>& maps) {
  std::map<std::string, std::uint64_t> bases;
  for (const auto& m : maps) {
    if (!is_file_path(m.path) || m.offset != 0) continue;
    auto it = bases.find(m.path);
    if (it == bases.end() || m.start < it->second) bases[m.path] = m.start;
  }
  return bases;
}

struct DwflDeleter {
  void operator()(Dwfl* d) const { dwfl_end(d); }
};

char* g_debuginfo_path = nullptr;
const Dwfl_Callbacks kCallbacks = {
    dwfl_build_id_find_elf,
    dwfl_standard_find_debuginfo,
    dwfl_offline_section_address,
    &g_debuginfo_path,
};

std::unique_ptr<Dwfl, DwflDeleter> open_dwfl(const std::vector<crash::Mapping>& maps) {
  std::unique_ptr<Dwfl, DwflDeleter> d(dwfl_begin(&kCallbacks));
  if (!d) return d;
  dwfl_report_begin(d.get());
  for (const auto& [path, base] : module_bases(maps))
    dwfl_report_elf(d.get(), path.c_str(), path.c_str(), -1, base, false);
  dwfl_report_end(d.get(), nullptr, nullptr);
  return d;
}

}  // namespace

nlohmann::json to_json(const SymFrame& f) {
  nlohmann::json j{{"ip", hex(f.ip)}, {"module", f.module}, {"module_offset", hex(f.module_offset)}};
  if (!f.function.empty()) {
    j["function"] = f.function;
    j["function_offset"] = f.function_offset;
  }
  if (!f.file.empty()) {
    j["file"] = f.file;
    j["line"] = f.line;
  }
  return j;
}

namespace {

// dwfl_module_getsrc finds the compile unit through .debug_aranges, which
// clang does not emit by default (elfutils 0.188 does not fall back): find it
// by walking the module's CUs and asking each whether it covers the address.
void source_line_by_cu_walk(Dwfl_Module* mod, Dwarf_Addr lookup, SymFrame& f) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = nullptr;
  while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != nullptr) {
    if (dwarf_haspc(cu, lookup - bias) != 1) continue;
    Dwarf_Line* line = dwarf_getsrc_die(cu, lookup - bias);
    int lineno = 0;
    const char* file = line ? dwarf_linesrc(line, nullptr, nullptr) : nullptr;
    if (file && dwarf_lineno(line, &lineno) == 0) {
      f.file = file;
      f.line = lineno;
    }
    return;
  }
}

}  // namespace

std::vector<SymFrame> symbolize(const std::vector<crash::Mapping>& maps, const std::vector<std::uint64_t>& addrs,
                                bool first_is_pc) {
  std::vector<SymFrame> out;
  auto dwfl = open_dwfl(maps);
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    SymFrame f;
    f.ip = addrs[i];
    const std::uint64_t lookup = (i == 0 && first_is_pc) || f.ip == 0 ? f.ip : f.ip - 1;
    if (const auto* m = crash::find_mapping(maps, f.ip)) {
      f.module = m->path.empty() ? "[anonymous]" : m->path;
      f.module_offset = f.ip - m->start + m->offset;
    }
    if (dwfl) {
      if (Dwfl_Module* mod = dwfl_addrmodule(dwfl.get(), lookup)) {
        Dwarf_Addr bias = 0;
        if (dwfl_module_getelf(mod, &bias) != nullptr) f.module_offset = f.ip - bias;
        GElf_Off off = 0;
        GElf_Sym sym;
        if (const char* name = dwfl_module_addrinfo(mod, lookup, &off, &sym, nullptr, nullptr, nullptr)) {
          f.function = demangle(name);
          f.function_offset = off + (lookup != f.ip ? 1 : 0);
        }
        if (Dwfl_Line* line = dwfl_module_getsrc(mod, lookup)) {
          int lineno = 0;
          if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
            f.file = file;
            f.line = lineno;
          }
        } else {
          source_line_by_cu_walk(mod, lookup, f);
        }
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> disassemble_around(const std::vector<crash::Mapping>& maps, std::uint64_t pc, int before,
                                            int after) {
  auto frames = symbolize(maps, {pc}, true);
  if (frames.empty() || !is_file_path(frames[0].module)) return {};
  const SymFrame& f = frames[0];
  const std::uint64_t vaddr = f.module_offset;
  // Start at the function entry when it is near, so objdump decodes from an
  // instruction boundary; otherwise a fixed window (may misdecode its head).
  std::uint64_t start =
      !f.function.empty() && f.function_offset <= 4096 ? vaddr - f.function_offset : (vaddr > 64 ? vaddr - 64 : 0);
  auto cap = run_capture({"objdump", "-d", "-C", "--no-show-raw-insn", "--start-address=" + hex(start),
                          "--stop-address=" + hex(vaddr + 48), f.module},
                         20);
  if (cap.exit_code != 0) return {};
  std::vector<std::string> insns;
  int at = -1;
  std::stringstream ss(cap.output);
  std::string line;
  char key[32];
  std::snprintf(key, sizeof key, "%" PRIx64 ":", vaddr);
  while (std::getline(ss, line)) {
    auto colon = line.find(':');
    if (line.size() < 3 || line[0] != ' ' || colon == std::string::npos) continue;
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || first >= colon) continue;
    std::string addr = line.substr(first, colon - first + 1);
    bool is_pc = addr == key;
    if (is_pc) at = static_cast<int>(insns.size());
    insns.push_back((is_pc ? "=> " : "   ") + line.substr(first));
  }
  if (at < 0) return insns.size() > static_cast<std::size_t>(before + after) ? std::vector<std::string>{} : insns;
  int lo = std::max(0, at - before);
  int hi = std::min(static_cast<int>(insns.size()), at + after + 1);
  return {insns.begin() + lo, insns.begin() + hi};
}

}  // namespace faultline::harness
