// Environment facts and the rr probe (contract in environment.h).
#include "harness/run/environment.h"

#include <gnu/libc-version.h>
#include <liburing.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/version.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "harness/run/process.h"

namespace faultline::harness {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  auto p = s.find_first_not_of(" \t\n");
  return p == std::string::npos ? std::string{} : s.substr(p);
}

std::string cpuinfo_field(const std::string& cpuinfo, const std::string& key) {
  std::stringstream ss(cpuinfo);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return {};
}

// perf_event_open of a hardware cycles counter: what rr needs underneath.
std::pair<bool, std::string> perf_cycles_counter() {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_HARDWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return {true, "ok"};
  }
  int e = errno;
  return {false, std::string(strerrorname_np(e) ? strerrorname_np(e) : "?") + " (" + std::strerror(e) + ")"};
}

std::string status_field(const std::string& key) {
  std::stringstream ss(read_file("/proc/self/status"));
  std::string line;
  while (std::getline(ss, line))
    if (line.rfind(key + ":", 0) == 0) return trim(line.substr(key.size() + 1));
  return {};
}

std::string container_hint() {
  if (std::filesystem::exists("/.dockerenv")) return "docker";
  if (std::filesystem::exists("/run/.containerenv")) return "podman";
  std::string cg = read_file("/proc/1/cgroup");
  if (cg.find("docker") != std::string::npos) return "docker";
  if (cg.find("kubepods") != std::string::npos) return "kubernetes";
  if (cg.find("lxc") != std::string::npos) return "lxc";
  return {};
}

std::string source_dir() {
  if (const char* r = std::getenv("FAULTLINE_ROOT"); r && *r) return r;
#ifdef FAULTLINE_SOURCE_DIR
  return FAULTLINE_SOURCE_DIR;
#else
  return ".";
#endif
}

}  // namespace

nlohmann::json probe_io_uring() {
  io_uring ring;
  int r = io_uring_queue_init(2, &ring, 0);
  if (r == 0) {
    io_uring_queue_exit(&ring);
    return {{"usable", true}};
  }
  const char* name = strerrorname_np(-r);
  return {{"usable", false}, {"error", std::string(name ? name : "?") + ": " + std::strerror(-r)}};
}

RrProbe probe_rr() {
  RrProbe p;
  const std::string paranoid = trim(read_file("/proc/sys/kernel/perf_event_paranoid"));
  auto [cycles_ok, cycles_err] = perf_cycles_counter();
  const std::string cpuinfo = read_file("/proc/cpuinfo", 1 << 20);
  const std::string flags = cpuinfo_field(cpuinfo, "flags");
  const bool hypervisor = (" " + flags + " ").find(" hypervisor ") != std::string::npos;
  const std::string seccomp = status_field("Seccomp");
  const std::string container = container_hint();
  p.evidence = {{"perf_event_paranoid", paranoid},
                {"perf_event_open_cycles", cycles_ok ? "ok" : cycles_err},
                {"hypervisor", hypervisor},
                {"seccomp", seccomp},
                {"container", container.empty() ? "none detected" : container}};
  if (!have_program("rr")) {
    p.reason = "rr is not installed (not found on PATH); install the Debian package `rr`.";
    return p;
  }
  p.rr_version = trim(run_capture({"rr", "--version"}, 10).output);
  char tmpl[] = "/tmp/faultline-rr-probe-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    p.reason = "could not create a temporary directory for the rr probe";
    return p;
  }
  const std::string trace = std::string(dir) + "/trace";
  auto cap = run_capture({"rr", "record", "-o", trace, "/bin/true"}, 30, {{"_RR_TRACE_DIR", dir}});
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::string msg = trim(cap.output);
  if (msg.size() > 2000) msg = msg.substr(0, 2000);
  p.evidence["rr_record_exit"] = cap.exit_code;
  p.evidence["rr_record_output"] = msg;
  if (cap.exit_code == 0 && !cap.timed_out) {
    p.usable = true;
    return p;
  }
  std::string why;
  if (msg.find("perf_event_open") != std::string::npos || msg.find("performance counter") != std::string::npos ||
      !cycles_ok) {
    why = "no usable hardware performance counters (PMU): rr failed to open a perf counter";
    if (!cycles_ok) why += "; perf_event_open(PERF_COUNT_HW_CPU_CYCLES) here fails with " + cycles_err;
    if (hypervisor) why += "; this is a virtual machine whose hypervisor does not expose a virtual PMU";
    if (!paranoid.empty() && std::atoi(paranoid.c_str()) > 1)
      why += "; kernel.perf_event_paranoid is " + paranoid +
             (geteuid() == 0
                  ? " (not the cause: this runs as root)"
                  : " (rr needs <= 1 unless run as root or with CAP_PERFMON: sysctl kernel.perf_event_paranoid=1)");
  } else if (msg.find("seccomp") != std::string::npos || msg.find("ptrace") != std::string::npos ||
             msg.find("Operation not permitted") != std::string::npos) {
    why = "rr is blocked by the sandbox (seccomp=" + seccomp + (container.empty() ? "" : ", container " + container) +
          "): ptrace or perf_event_open is not permitted";
  } else if (cap.timed_out) {
    why = "`rr record /bin/true` did not finish within 30 s";
  } else {
    why = "`rr record /bin/true` failed (exit " + std::to_string(cap.exit_code) + ")";
  }
  why += ". rr says: " + (msg.empty() ? std::string("(nothing)") : msg.substr(0, 400));
  p.reason = why;
  return p;
}

nlohmann::json to_json(const RrProbe& p) {
  nlohmann::json j{{"usable", p.usable}, {"evidence", p.evidence}};
  if (!p.reason.empty()) j["reason"] = p.reason;
  if (!p.rr_version.empty()) j["version"] = p.rr_version;
  return j;
}

nlohmann::json collect_environment(const RrProbe* rr) {
  nlohmann::json env;
  utsname u{};
  if (uname(&u) == 0) {
    env["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.version;
    env["machine"] = u.machine;
    env["hostname"] = u.nodename;
  }
  const std::string cpuinfo = read_file("/proc/cpuinfo", 1 << 20);
  env["cpu"] = {{"model", cpuinfo_field(cpuinfo, "model name")},
                {"flags", cpuinfo_field(cpuinfo, "flags")},
                {"online", sysconf(_SC_NPROCESSORS_ONLN)}};
  env["glibc"] = gnu_get_libc_version();
  env["boost"] = BOOST_LIB_VERSION;
#if defined(IO_URING_VERSION_MAJOR)
  env["liburing"] = std::to_string(IO_URING_VERSION_MAJOR) + "." + std::to_string(IO_URING_VERSION_MINOR);
#else
  // liburing < 2.4 has no version macro: ask the package manager.
  env["liburing"] = trim(run_capture({"dpkg-query", "-W", "-f=${Version}", "liburing-dev"}, 5).output);
#endif
  const std::string src = source_dir();
  auto git = run_capture({"git", "-C", src, "rev-parse", "HEAD"}, 5);
  if (git.exit_code == 0) {
    env["git_commit"] = trim(git.output);
    auto dirty = run_capture({"git", "-C", src, "status", "--porcelain", "--untracked-files=no"}, 5);
    env["git_dirty"] = dirty.exit_code == 0 && !trim(dirty.output).empty();
  }
  env["io_uring"] = probe_io_uring();
  env["rr"] = rr ? to_json(*rr) : nlohmann::json{{"usable", nullptr}, {"reason", "not probed"}};
  env["ptrace_scope"] = trim(read_file("/proc/sys/kernel/yama/ptrace_scope"));
  env["core_pattern"] = trim(read_file("/proc/sys/kernel/core_pattern"));
  return env;
}

}  // namespace faultline::harness
