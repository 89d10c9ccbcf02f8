// Parser for the crash wire format (see crash_format.h). Lenient by design: a
// block truncated by the dying process keeps every complete line it has.
#include "harness/crash/crash_format.h"

#include <charconv>

namespace faultline::crash {
namespace {

std::uint64_t parse_u64(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, base);
  return v;
}

long long parse_i64(std::string_view s) {
  long long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, 10);
  return v;
}

std::string_view next_word(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto p = s.find(' ');
  std::string_view w = s.substr(0, p);
  s = p == std::string_view::npos ? std::string_view{} : s.substr(p + 1);
  return w;
}

}  // namespace

std::optional<Mapping> parse_maps_line(std::string_view line) {
  // start-end perms offset dev inode [path]
  std::string_view rest = line;
  std::string_view range = next_word(rest);
  auto dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  Mapping m;
  m.start = parse_u64(std::string("0x") + std::string(range.substr(0, dash)));
  m.end = parse_u64(std::string("0x") + std::string(range.substr(dash + 1)));
  m.perms = std::string(next_word(rest));
  m.offset = parse_u64(std::string("0x") + std::string(next_word(rest)));
  next_word(rest);  // dev
  next_word(rest);  // inode
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  m.path = std::string(rest);
  if (m.end <= m.start || m.perms.size() != 4) return std::nullopt;
  return m;
}

const Mapping* find_mapping(const std::vector<Mapping>& maps, std::uint64_t addr) {
  for (const auto& m : maps)
    if (addr >= m.start && addr < m.end) return &m;
  return nullptr;
}

ParsedStream parse_stream(std::string_view text) {
  ParsedStream out;
  CrashReport* cur = nullptr;
  bool in_maps = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    bool complete_line = nl != std::string_view::npos;
    std::string_view line = text.substr(pos, complete_line ? nl - pos : std::string_view::npos);
    pos = complete_line ? nl + 1 : text.size();
    if (!complete_line && cur != nullptr) break;  // a cut-off last line of a block carries no fact
    if (line == kBegin) {
      out.crashes.emplace_back();
      cur = &out.crashes.back();
      in_maps = false;
      continue;
    }
    if (cur == nullptr) {
      out.other.append(line);
      if (complete_line) out.other.push_back('\n');
      continue;
    }
    if (in_maps) {
      if (line == kMapsEnd) {
        in_maps = false;
      } else if (auto m = parse_maps_line(line)) {
        cur->maps.push_back(std::move(*m));
      }
      continue;
    }
    if (line == kMapsBegin) {
      in_maps = true;
      continue;
    }
    if (line == kEnd) {
      cur->complete = true;
      cur = nullptr;
      continue;
    }
    std::string_view rest = line;
    std::string_view key = next_word(rest);
    if (key == "signal")
      cur->signal = static_cast<int>(parse_i64(rest));
    else if (key == "code")
      cur->code = static_cast<int>(parse_i64(rest));
    else if (key == "errno")
      cur->si_errno = static_cast<int>(parse_i64(rest));
    else if (key == "addr")
      cur->addr = parse_u64(rest);
    else if (key == "sender_pid")
      cur->sender_pid = static_cast<int>(parse_i64(rest));
    else if (key == "pid")
      cur->pid = static_cast<int>(parse_i64(rest));
    else if (key == "tid")
      cur->tid = static_cast<long>(parse_i64(rest));
    else if (key == "fiber")
      cur->fiber = static_cast<std::uint64_t>(parse_i64(rest));
    else if (key == "scheduler")
      cur->scheduler = static_cast<int>(parse_i64(rest));
    else if (key == "pc")
      cur->pc = parse_u64(rest);
    else if (key == "sp")
      cur->sp = parse_u64(rest);
    else if (key == "altstack")
      cur->altstack = parse_u64(rest);
    else if (key == "altstack_size")
      cur->altstack_size = parse_u64(rest);
    else if (key == "unwind-stop")
      cur->unwind_stop = std::string(rest);
    else if (key == "reg") {
      std::string_view name = next_word(rest);
      cur->registers.emplace_back(std::string(name), parse_u64(rest));
    } else if (key == "frame") {
      next_word(rest);  // index
      Frame f;
      f.ip = parse_u64(next_word(rest));
      f.sp = parse_u64(next_word(rest));
      cur->frames.push_back(f);
    }
  }
  return out;
}

}  // namespace faultline::crash
