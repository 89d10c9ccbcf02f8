#include "stress/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace faultline::stress {
namespace {

// "Name:\t  1234 kB" -> 1234; value after the colon, first integer.
std::optional<std::int64_t> field_int(std::string_view text, std::string_view name) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
      std::size_t i = name.size() + 1;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::int64_t v = 0;
      std::size_t start = i;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') v = v * 10 + (line[i++] - '0');
      if (i == start) return std::nullopt;
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string slurp(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  for (int i = 0; i < 4096; ++i) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (4u << 20)) break;
  }
  ::close(fd);
  return out;
}

std::optional<std::int64_t> read_int_file(const std::string& path) {
  std::string s = slurp(path);
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  if (i >= s.size()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str() + i, &end, 10);
  if (end == s.c_str() + i) return std::nullopt;
  return v;
}

std::optional<ProcStatus> parse_proc_status(std::string_view text) {
  ProcStatus s;
  auto t = field_int(text, "Threads");
  if (!t) return std::nullopt;
  s.threads = static_cast<long>(*t);
  if (auto r = field_int(text, "VmRSS")) s.rss_bytes = *r * 1024;  // absent for zombies
  if (auto h = field_int(text, "VmHWM")) s.hwm_bytes = *h * 1024;
  return s;
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || text.find('(') == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  std::vector<std::string_view> f;  // f[0] = state (field 3)
  std::size_t i = 0;
  while (i < rest.size() && f.size() < 24) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    std::size_t s = i;
    while (i < rest.size() && rest[i] != ' ' && rest[i] != '\n') ++i;
    if (i > s) f.push_back(rest.substr(s, i - s));
  }
  if (f.size() < 22) return std::nullopt;
  auto num = [](std::string_view v, std::int64_t& out) {
    bool neg = !v.empty() && v[0] == '-';
    if (neg) v.remove_prefix(1);
    if (v.empty()) return false;
    std::int64_t x = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
      x = x * 10 + (c - '0');
    }
    out = neg ? -x : x;
    return true;
  };
  ProcStat st;
  if (f[0].size() != 1) return std::nullopt;
  st.state = f[0][0];
  std::int64_t ppid, ut, stt, nt, rss;
  // Field n (1-based in proc(5)) is f[n - 3].
  if (!num(f[1], ppid) || !num(f[11], ut) || !num(f[12], stt) || !num(f[17], nt) || !num(f[21], rss))
    return std::nullopt;
  st.ppid = static_cast<long>(ppid);
  st.utime_ticks = static_cast<std::uint64_t>(ut);
  st.stime_ticks = static_cast<std::uint64_t>(stt);
  st.num_threads = static_cast<long>(nt);
  st.rss_pages = rss;
  return st;
}

std::optional<ProcSample> sample_process(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  auto stat = parse_proc_stat(slurp(base + "/stat"));
  if (!stat) return std::nullopt;
  ProcSample s;
  s.state = stat->state;
  static const long ticks = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
  s.cpu_s = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks);
  s.threads = stat->num_threads;
  static const long page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
  s.rss_bytes = stat->rss_pages * page;
  if (auto st = parse_proc_status(slurp(base + "/status"))) {
    s.threads = st->threads;
    if (st->rss_bytes >= 0) s.rss_bytes = st->rss_bytes;
    s.hwm_bytes = st->hwm_bytes;
  }
  return s;
}

std::vector<pid_t> find_children(pid_t parent, std::string_view needle) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const char* n = e->d_name;
    if (*n < '0' || *n > '9') continue;
    pid_t pid = static_cast<pid_t>(std::atol(n));
    auto st = parse_proc_stat(slurp(std::string("/proc/") + n + "/stat"));
    if (!st || st->ppid != parent) continue;
    std::string cmd = slurp(std::string("/proc/") + n + "/cmdline");
    std::size_t pos = 0;
    bool hit = false;
    while (pos < cmd.size()) {
      std::size_t z = cmd.find('\0', pos);
      std::string_view arg(cmd.data() + pos, (z == std::string::npos ? cmd.size() : z) - pos);
      if (arg == needle) hit = true;
      pos = z == std::string::npos ? cmd.size() : z + 1;
    }
    if (hit) out.push_back(pid);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace faultline::stress
