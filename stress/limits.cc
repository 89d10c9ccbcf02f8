#include "stress/limits.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "stress/procfs.h"

namespace faultline::stress {
namespace {

std::string num(std::uint64_t v) {
  if (v == RLIM_INFINITY) return "unlimited";
  return std::to_string(v);
}

}  // namespace

LimitCheck check_limits(std::uint32_t hosts, std::uint32_t consumers, bool threaded) {
  LimitCheck c;
  const std::uint64_t fd_need = 2ull * hosts + consumers + 512;  // the fleet is the hungriest process
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  c.facts["nofile_soft"] = num(nofile.rlim_cur);
  c.facts["nofile_hard"] = num(nofile.rlim_max);
  c.facts["nofile_needed"] = fd_need;
  if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < nofile.rlim_max) {
    rlimit raised{nofile.rlim_max, nofile.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      c.notes.push_back("open-file soft limit raised from " + num(nofile.rlim_cur) + " to " + num(nofile.rlim_max));
      nofile = raised;
    }
  }
  if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < fd_need) {
    c.ok = false;
    c.problems.push_back("open files: " + std::to_string(hosts) + " hosts need " + std::to_string(fd_need) +
                         " descriptors per process (the fleet: a listener and a connection per host), the limit is " +
                         num(nofile.rlim_cur) + " (hard " + num(nofile.rlim_max) +
                         "); raise it: `ulimit -n " + std::to_string(fd_need) +
                         "` as root, LimitNOFILE= in a systemd unit, or docker run --ulimit nofile=" +
                         std::to_string(fd_need) + ":" + std::to_string(fd_need) + " — or use fewer --hosts");
  }
  const std::uint64_t maps_need = 6ull * hosts + 20'000;
  if (auto maps = read_int_file("/proc/sys/vm/max_map_count")) {
    c.facts["max_map_count"] = *maps;
    if (static_cast<std::uint64_t>(*maps) < maps_need) {
      c.ok = false;
      c.problems.push_back("vm.max_map_count is " + std::to_string(*maps) + ", " + std::to_string(hosts) +
                           " hosts need about " + std::to_string(maps_need) +
                           " (stacks with guard pages): sysctl -w vm.max_map_count=" + std::to_string(maps_need));
    }
  }
  {
    std::string range = slurp("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned lo = 0, hi = 0;
    if (std::sscanf(range.c_str(), "%u %u", &lo, &hi) == 2 && hi > lo) {
      const std::uint64_t ports = hi - lo + 1, need = 2ull * hosts + consumers + 1000;
      c.facts["ephemeral_ports"] = ports;
      if (ports < need) {
        c.ok = false;
        c.problems.push_back("the ephemeral port range " + std::to_string(lo) + "-" + std::to_string(hi) + " has " +
                             std::to_string(ports) + " ports; " + std::to_string(hosts) + " hosts need about " +
                             std::to_string(need) + " (listeners + upstream connections): widen " +
                             "net.ipv4.ip_local_port_range");
      }
    }
  }
  if (threaded) {
    const std::uint64_t threads_need = hosts + 512ull;
    c.facts["relay_threads_needed"] = threads_need;
    if (auto tm = read_int_file("/proc/sys/kernel/threads-max")) {
      c.facts["threads_max"] = *tm;
      if (static_cast<std::uint64_t>(*tm) < threads_need) {
        c.ok = false;
        c.problems.push_back("kernel.threads-max is " + std::to_string(*tm) + ", the threaded relay needs " +
                             std::to_string(threads_need) + " threads: sysctl -w kernel.threads-max=" +
                             std::to_string(threads_need * 2));
      }
    }
    if (auto pm = read_int_file("/proc/sys/kernel/pid_max")) {
      c.facts["pid_max"] = *pm;
      if (static_cast<std::uint64_t>(*pm) < threads_need + 1000) {
        c.ok = false;
        c.problems.push_back("kernel.pid_max is " + std::to_string(*pm) + ", the threaded relay needs " +
                             std::to_string(threads_need) + " thread ids plus the rest of the system: sysctl -w "
                             "kernel.pid_max=" + std::to_string(std::max<std::uint64_t>(65536, threads_need * 4)));
      }
    }
    rlimit nproc{};
    getrlimit(RLIMIT_NPROC, &nproc);
    c.facts["nproc_soft"] = num(nproc.rlim_cur);
    if (geteuid() != 0 && nproc.rlim_cur != RLIM_INFINITY && nproc.rlim_cur < threads_need + 256) {
      if (nproc.rlim_max == RLIM_INFINITY || nproc.rlim_max >= threads_need + 256) {
        rlimit raised{nproc.rlim_max, nproc.rlim_max};
        if (setrlimit(RLIMIT_NPROC, &raised) == 0) {
          c.notes.push_back("process/thread soft limit (RLIMIT_NPROC) raised to " + num(nproc.rlim_max));
          nproc = raised;
        }
      }
      if (nproc.rlim_cur != RLIM_INFINITY && nproc.rlim_cur < threads_need + 256) {
        c.ok = false;
        c.problems.push_back("RLIMIT_NPROC (threads of this user) is " + num(nproc.rlim_cur) +
                             ", the threaded relay needs " + std::to_string(threads_need) +
                             " more: ulimit -u " + std::to_string(threads_need * 2));
      }
    }
    std::string pids_max = slurp("/sys/fs/cgroup/pids.max");
    if (!pids_max.empty() && pids_max.rfind("max", 0) != 0) {
      auto pm = read_int_file("/sys/fs/cgroup/pids.max");
      auto cur = read_int_file("/sys/fs/cgroup/pids.current");
      c.facts["cgroup_pids_max"] = pm.value_or(-1);
      if (pm && static_cast<std::uint64_t>(*pm) < threads_need + static_cast<std::uint64_t>(cur.value_or(0))) {
        c.ok = false;
        c.problems.push_back("the cgroup's pids.max is " + std::to_string(*pm) + " with " +
                             std::to_string(cur.value_or(0)) + " in use; the threaded relay needs " +
                             std::to_string(threads_need) + " more (docker run --pids-limit, systemd TasksMax=)");
      }
    }
  }
  return c;
}

}  // namespace faultline::stress
