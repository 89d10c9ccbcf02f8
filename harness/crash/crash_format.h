// The wire format between libfaultline_crash (writer, in the dying child) and
// the harness (reader, in the parent). Text, one fact per line, so that a block
// cut short by the process dying still parses up to the last complete line:
//
//   FAULTLINE-CRASH 1
//   signal <n>            code <si_code>      errno <si_errno>
//   addr 0x<si_addr>      [sender_pid <n>]    (only for sent signals, si_code <= 0)
//   pid <n>  tid <n>  fiber <id, 0 = not in a fiber>  scheduler <n, -1 = none>
//   pc 0x<rip>            sp 0x<rsp>
//   reg <name> 0x<value>  (rax..r15, rip, eflags, csgsfs, err, trapno, oldmask, cr2)
//   altstack 0x<base>     altstack_size <n>
//   frame <i> 0x<ip> 0x<sp>         (libunwind, frame 0 = the faulting pc)
//   unwind-stop <end|null-ip|step-error|fault|sp-not-increasing|limit|init-failed>
//   maps-begin
//   <the raw text of /proc/self/maps>
//   maps-end
//   FAULTLINE-CRASH-END
//
// Anything else that arrives on the descriptor outside such a block (the io
// runtime's faultline_dump_fibers() output during a hang) is kept verbatim as
// "other" text by the parser.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::crash {

inline constexpr const char* kBegin = "FAULTLINE-CRASH 1";
inline constexpr const char* kEnd = "FAULTLINE-CRASH-END";
inline constexpr const char* kMapsBegin = "maps-begin";
inline constexpr const char* kMapsEnd = "maps-end";
inline constexpr int kMaxFrames = 64;

struct Frame {
  std::uint64_t ip = 0;
  std::uint64_t sp = 0;
};

struct Mapping {
  std::uint64_t start = 0, end = 0, offset = 0;
  std::string perms;
  std::string path;  // empty for anonymous mappings
};

struct CrashReport {
  int signal = 0;
  int code = 0;
  int si_errno = 0;
  std::uint64_t addr = 0;
  std::optional<int> sender_pid;
  int pid = 0;
  long tid = 0;
  std::uint64_t fiber = 0;
  int scheduler = -1;
  std::uint64_t pc = 0;
  std::uint64_t sp = 0;
  std::vector<std::pair<std::string, std::uint64_t>> registers;  // in written order
  std::uint64_t altstack = 0;
  std::uint64_t altstack_size = 0;
  std::vector<Frame> frames;
  std::string unwind_stop;
  std::vector<Mapping> maps;
  bool complete = false;  // the end marker arrived
};

struct ParsedStream {
  std::vector<CrashReport> crashes;  // normally 0 or 1
  std::string other;                 // text outside crash blocks
};

ParsedStream parse_stream(std::string_view text);

// Parses one /proc/<pid>/maps line; nullopt when malformed.
std::optional<Mapping> parse_maps_line(std::string_view line);

// The mapping containing `addr`, or nullptr.
const Mapping* find_mapping(const std::vector<Mapping>& maps, std::uint64_t addr);

}  // namespace faultline::crash
