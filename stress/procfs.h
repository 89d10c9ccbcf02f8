// What the sampler reads about the relay process from /proc, as pure parsers
// of the file text (unit-tested on canned input) plus thin readers.
//
//   /proc/PID/status  Threads:, VmRSS:, VmHWM: (kB)
//   /proc/PID/stat    state, ppid, utime + stime (clock ticks), num_threads,
//                     rss (pages); the comm field may hold spaces and ')' —
//                     parsing starts after the LAST ')'.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::stress {

struct ProcStatus {
  long threads = -1;
  std::int64_t rss_bytes = -1;
  std::int64_t hwm_bytes = -1;  // peak RSS
};
std::optional<ProcStatus> parse_proc_status(std::string_view text);

struct ProcStat {
  char state = '?';
  long ppid = -1;
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  long num_threads = -1;
  std::int64_t rss_pages = -1;
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);

struct ProcSample {
  long threads = -1;
  std::int64_t rss_bytes = -1;
  std::int64_t hwm_bytes = -1;
  double cpu_s = 0;  // user + system since the process started
  char state = '?';
};
// nullopt when the process is gone (or /proc unreadable).
std::optional<ProcSample> sample_process(pid_t pid);

// Children of `parent` (by /proc/*/stat ppid) whose /proc/PID/cmdline
// contains `needle` as one argument; sorted by pid.
std::vector<pid_t> find_children(pid_t parent, std::string_view needle);

// First integer in a (small) file such as /proc/sys/kernel/pid_max.
std::optional<std::int64_t> read_int_file(const std::string& path);
// Whole small file ("" when unreadable).
std::string slurp(const std::string& path);

}  // namespace faultline::stress
