// Parent-side symbolisation of a dead child's addresses, from the /proc maps
// the crash library recorded: module + offset, function (demangled) + offset,
// source file and line (libdw), and objdump disassembly around a pc.
//
// Contract: never throws for bad input (missing files, stripped binaries,
// garbage addresses); whatever is unknown stays empty. Return addresses
// (every frame after the first) are looked up at ip-1 so the line is the call,
// not the instruction after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/crash/crash_format.h"

namespace faultline::harness {

struct SymFrame {
  std::uint64_t ip = 0;
  std::string module;               // mapping path, or [anon:...]/[stack] etc.
  std::uint64_t module_offset = 0;  // ip - load bias (the ELF virtual address)
  std::string function;             // demangled
  std::uint64_t function_offset = 0;
  std::string file;
  int line = 0;
};

nlohmann::json to_json(const SymFrame& f);

// `first_is_pc`: frame 0 is a faulting pc (looked up exactly), the rest are
// return addresses.
std::vector<SymFrame> symbolize(const std::vector<crash::Mapping>& maps, const std::vector<std::uint64_t>& addrs,
                                bool first_is_pc = true);

// Up to `before` instructions before and `after` after `pc`, the faulting one
// marked with "=>". Empty when the module is not an ELF file or objdump fails.
std::vector<std::string> disassemble_around(const std::vector<crash::Mapping>& maps, std::uint64_t pc, int before = 10,
                                            int after = 5);

}  // namespace faultline::harness
