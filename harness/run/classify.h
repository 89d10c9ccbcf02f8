// Pure classification helpers: signal and si_code names, what a fault means,
// sanitizer reports, abort/assertion messages and a repro's own JSON record,
// all parsed from text the child left behind. No I/O, so each is unit-tested
// with canned input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace faultline::harness {

// "SIGSEGV", or "SIG<n>" for unknown numbers.
std::string signal_name(int sig);
// "SEGV_MAPERR", "SI_KERNEL", "BUS_ADRALN", ... or the number as text.
std::string si_code_name(int sig, int code);
// One human phrase for a fault, e.g. "general-protection fault (SI_KERNEL,
// address reported as 0: a non-canonical or privileged access)" or
// "NULL-page dereference at 0x28 (SEGV_MAPERR)".
std::string describe_fault(int sig, int code, std::uint64_t addr);

// An ASan/TSan/UBSan/LSan report found in `stderr_text`, as
//   {tool, kind, summary, frames: [{index, address, function, location}], excerpt}
// or null when there is none.
nlohmann::json parse_sanitizer(std::string_view stderr_text);

// The assertion / abort / terminate message in `stderr_text` (the most
// specific line found), or empty.
std::string abort_message(std::string_view stderr_text);

// The last line of `stdout_text` that is a faultline result record (a JSON
// object whose "schema" starts with "faultline.result"), or null.
nlohmann::json find_repro_record(std::string_view stdout_text);

// Wilson score interval for `failures` out of `n` at 95 %: {low, high}.
std::pair<double, double> wilson95(std::uint64_t failures, std::uint64_t n);

}  // namespace faultline::harness
