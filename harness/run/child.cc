// One attempt of a target (contract in child.h).
#include "harness/run/child.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/crash/crash_format.h"
#include "harness/run/classify.h"
#include "harness/run/process.h"
#include "harness/run/symbolize.h"

extern char** environ;

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// Drains the crash pipe on its own thread: the child must never block on a
// full pipe (a /proc/self/maps dump or a fiber dump can exceed 64 KiB).
class PipeDrain {
 public:
  explicit PipeDrain(int fd) : fd_(fd), thread_([this] { loop(); }) {}
  ~PipeDrain() { finish(); }
  // Stops once the pipe has been quiet for a moment (writers may outlive the child).
  void finish() {
    if (thread_.joinable()) {
      stop_.store(true);
      thread_.join();
    }
  }
  std::string text() {
    std::lock_guard<std::mutex> lk(mu_);
    return data_;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lk(mu_);
    return data_.size();
  }

 private:
  void loop() {
    char buf[16384];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, 50);
      if (r > 0) {
        ssize_t n = read(fd_, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard<std::mutex> lk(mu_);
          if (data_.size() < (64u << 20)) data_.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        if (n == 0) return;  // every writer is gone
        if (errno != EINTR && errno != EAGAIN) return;
      } else if (r == 0 && stop_.load()) {
        return;
      }
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string data_;
  std::thread thread_;
};

std::string core_pattern() {
  std::string s = read_file("/proc/sys/kernel/core_pattern");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Finds the core file a crashed child left in the working directory, for the
// common relative patterns ("core", "core.%p", "core-%e-%p..."); pipe handlers
// (systemd-coredump, apport) are reported instead.
std::string find_core(int pid, const std::string& exe) {
  const std::string pat = core_pattern();
  if (pat.empty() || pat[0] == '|') return {};
  std::string name;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '%' && i + 1 < pat.size()) {
      char c = pat[++i];
      if (c == 'p' || c == 'P')
        name += std::to_string(pid);
      else if (c == 'e')
        name += fs::path(exe).filename().string().substr(0, 15);
      else if (c == '%')
        name += '%';
      else
        return {};  // time, host, uid...: not reconstructible, leave it
    } else {
      name += pat[i];
    }
  }
  std::vector<std::string> candidates{name};
  if (read_file("/proc/sys/kernel/core_uses_pid").rfind("1", 0) == 0 && pat.find("%p") == std::string::npos)
    candidates.insert(candidates.begin(), name + "." + std::to_string(pid));
  for (const auto& c : candidates)
    if (fs::exists(c)) return c;
  return {};
}

nlohmann::json mapping_json(const crash::Mapping& m) {
  return {{"start", hex(m.start)},
          {"end", hex(m.end)},
          {"perms", m.perms},
          {"offset", hex(m.offset)},
          {"path", m.path.empty() ? "[anonymous]" : m.path}};
}

nlohmann::json crash_json(const crash::CrashReport& c) {
  nlohmann::json j;
  j["signal"] = c.signal;
  j["signal_name"] = signal_name(c.signal);
  j["si_code"] = c.code;
  j["si_code_name"] = si_code_name(c.signal, c.code);
  j["address"] = hex(c.addr);
  j["description"] = describe_fault(c.signal, c.code, c.addr);
  if (c.sender_pid) j["sender_pid"] = *c.sender_pid;
  j["pc"] = hex(c.pc);
  j["sp"] = hex(c.sp);
  j["tid"] = c.tid;
  j["fiber_id"] = c.fiber;
  j["scheduler_thread"] = c.scheduler;
  j["in_fiber"] = c.fiber != 0;
  nlohmann::json regs = nlohmann::json::object();
  for (const auto& [k, v] : c.registers) regs[k] = hex(v);
  j["registers"] = regs;
  j["unwind_stop"] = c.unwind_stop;
  j["capture_complete"] = c.complete;
  if (const auto* m = crash::find_mapping(c.maps, c.pc)) j["pc_mapping"] = mapping_json(*m);
  if (const auto* m = crash::find_mapping(c.maps, c.addr)) {
    j["address_mapping"] = mapping_json(*m);
  } else if (c.signal == SIGSEGV || c.signal == SIGBUS) {
    j["address_mapping"] = nullptr;
  }
  if (const auto* m = crash::find_mapping(c.maps, c.sp)) j["sp_mapping"] = mapping_json(*m);
  std::vector<std::uint64_t> ips;
  for (const auto& f : c.frames) ips.push_back(f.ip);
  if (ips.empty() && c.pc != 0) ips.push_back(c.pc);
  nlohmann::json bt = nlohmann::json::array();
  try {
    for (const auto& f : symbolize(c.maps, ips, true)) bt.push_back(to_json(f));
    j["disassembly"] = disassemble_around(c.maps, c.pc);
  } catch (const std::exception& e) {
    j["symbolize_error"] = e.what();
    bt = nlohmann::json::array();
    for (auto ip : ips) bt.push_back({{"ip", hex(ip)}});
  }
  j["backtrace"] = bt;
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& m : c.maps)
    if (m.perms.size() == 4 && m.perms[2] == 'x') modules.push_back(mapping_json(m));
  j["executable_mappings"] = modules;
  return j;
}

const char* kGdbScript = R"GDB(set pagination off
set confirm off
set print thread-events off
echo faultline: thread stacks\n
thread apply all bt
python
import gdb
try:
    gdb.parse_and_eval("faultline_dump_fibers")
except gdb.error as e:
    print("faultline: no fiber dump (%s)" % e)
else:
    gdb.execute("call (void)faultline_dump_fibers(%FD%)")
    print("faultline: fiber dump written")
end
detach
quit
)GDB";

nlohmann::json collect_hang(int pid, int crash_fd_in_child, const ChildOptions& opt, const fs::path& dir) {
  nlohmann::json h;
  h["pid"] = pid;
  const std::string scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  h["ptrace_scope"] = scope.empty() ? "no yama" : scope.substr(0, 1);
  if (!have_program("gdb")) {
    h["error"] = "gdb is not installed: no thread stacks (install the Debian package gdb)";
    return h;
  }
  std::string script = kGdbScript;
  script.replace(script.find("%FD%"), 4, std::to_string(crash_fd_in_child));
  const fs::path script_path = dir / "hang.gdb";
  std::ofstream(script_path) << script;
  auto cap =
      run_capture({"gdb", "-nx", "-batch", "-p", std::to_string(pid), "-x", script_path.string()}, opt.gdb_timeout_s);
  std::ofstream(dir / "hang-gdb.txt") << cap.output;
  h["gdb_exit"] = cap.exit_code;
  if (cap.timed_out) h["gdb_timed_out"] = true;
  // Threads: split "Thread N (...):" sections; each keeps its "#k ..." lines.
  nlohmann::json threads = nlohmann::json::array();
  std::stringstream ss(cap.output);
  std::string line;
  nlohmann::json cur;
  while (std::getline(ss, line)) {
    if (line.rfind("Thread ", 0) == 0) {
      if (!cur.is_null()) threads.push_back(cur);
      cur = {{"thread", line}, {"frames", nlohmann::json::array()}};
    } else if (!cur.is_null() && line.rfind("#", 0) == 0) {
      cur["frames"].push_back(line);
    } else if (!cur.is_null() && !line.empty() && line[0] == ' ' && !cur["frames"].empty()) {
      cur["frames"].back() = cur["frames"].back().get<std::string>() + " " + line.substr(line.find_first_not_of(' '));
    }
  }
  if (!cur.is_null()) threads.push_back(cur);
  h["threads"] = threads;
  if (threads.empty()) {
    std::string out = cap.output.size() > 4000 ? cap.output.substr(cap.output.size() - 4000) : cap.output;
    h["error"] = "gdb produced no thread stacks" +
                 std::string(scope.rfind("0", 0) == 0 || scope.empty()
                                 ? ""
                                 : " (kernel.yama.ptrace_scope=" + scope.substr(0, 1) + " restricts attaching)") +
                 ": " + out;
  }
  h["fiber_dump_available"] = cap.output.find("faultline: fiber dump written") != std::string::npos;
  return h;
}

}  // namespace

std::string default_crash_lib() {
  if (const char* p = std::getenv("FAULTLINE_CRASH_LIB"); p && *p) return p;
#ifdef FAULTLINE_CRASH_LIB_PATH
  return FAULTLINE_CRASH_LIB_PATH;
#else
  return {};
#endif
}

std::string resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}

record::BuildInfo infer_build(const std::string& executable) {
  record::BuildInfo b;
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::absolute(executable, ec), ec).parent_path();
  for (int depth = 0; depth < 8 && !dir.empty() && dir != dir.root_path(); ++depth, dir = dir.parent_path()) {
    const std::string cache = read_file((dir / "CMakeCache.txt").string(), 4 << 20);
    if (cache.empty()) continue;
    auto value = [](const std::string& text, const std::string& key) -> std::string {
      std::stringstream ss(text);
      std::string line;
      while (std::getline(ss, line)) {
        if (line.rfind(key, 0) != 0) continue;
        auto eq = line.find('=');
        auto colon = line.find(':');
        if (eq != std::string::npos && (colon == key.size() || line[key.size()] == ' ' || line[key.size()] == '('))
          return line.substr(eq + 1);
        if (eq != std::string::npos && colon != std::string::npos && colon < eq && line.substr(0, colon) == key)
          return line.substr(eq + 1);
      }
      return {};
    };
    b.type = value(cache, "CMAKE_BUILD_TYPE");
    std::string upper = b.type;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    b.flags = value(cache, "CMAKE_CXX_FLAGS");
    std::string per_type = upper.empty() ? std::string{} : value(cache, "CMAKE_CXX_FLAGS_" + upper);
    b.flags += (b.flags.empty() || per_type.empty() ? "" : " ") + per_type;
    for (const auto& e : fs::directory_iterator(dir / "CMakeFiles", ec)) {
      const std::string cxx = read_file((e.path() / "CMakeCXXCompiler.cmake").string(), 1 << 20);
      if (cxx.empty()) continue;
      auto set_value = [&](const std::string& var) {
        auto p = cxx.find("set(" + var + " \"");
        if (p == std::string::npos) return std::string{};
        p += var.size() + 6;
        return cxx.substr(p, cxx.find('"', p) - p);
      };
      b.compiler = set_value("CMAKE_CXX_COMPILER_ID") + "-" + set_value("CMAKE_CXX_COMPILER_VERSION");
      break;
    }
    if (dir.parent_path().filename() == "build") b.preset = dir.filename().string();
    break;
  }
  return b;
}

// A sanitizer runtime shows in the dynamic symbol table: clang links it
// statically and exports its interface (__asan_init defined), gcc links
// libasan/libtsan and imports it (undefined). Searching the whole file for the
// name instead also matched every binary that merely contains the string —
// faultline itself, so relays started by `faultline stress` ran without the
// crash library.
bool has_sanitizer_runtime(const std::string& executable) {
  int fd = open(executable.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool found = false;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);  // not ELF: no sections
  for (Elf_Scn* scn = nullptr; elf != nullptr && !found && (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (std::size_t i = 0; data != nullptr && i < sh.sh_size / sh.sh_entsize && !found; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name == nullptr) continue;
      for (std::string_view runtime : {"__asan_init", "__tsan_init", "__msan_init", "__hwasan_init"})
        if (name == runtime) found = true;
    }
  }
  if (elf != nullptr) elf_end(elf);
  close(fd);
  return found;
}

void run_attempt(const ChildOptions& opt, const fs::path& dir, record::ResultRecord& rec,
                 const std::atomic<bool>* interrupted) {
  fs::create_directories(dir);
  const fs::path out_path = dir / "stdout.txt", err_path = dir / "stderr.txt";
  rec.timestamp = record::now_iso8601();
  if (opt.command.empty()) {
    rec.outcome = record::Outcome::error;
    rec.summary = "no command given";
    return;
  }
  const std::string exe = resolve_executable(opt.command[0]);
  const bool sanitizer_build = has_sanitizer_runtime(exe);
  const bool preload = !opt.crash_lib.empty() && opt.rr == RrMode::off && !sanitizer_build;
  nlohmann::json capture_info{{"crash_lib", preload ? opt.crash_lib : ""}};
  if (sanitizer_build) capture_info["crash_lib_skipped"] = "sanitizer runtime must be loaded first; its report is used";
  if (opt.rr != RrMode::off) capture_info["crash_lib_skipped"] = "under rr the trace holds the full state";

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) {
    rec.outcome = record::Outcome::error;
    rec.summary = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  const int child_fd = pfd[1];

  // Everything the child needs is built before fork (the parent may be multi-threaded).
  std::vector<std::pair<std::string, std::string>> env = opt.env;
  env.emplace_back("FAULTLINE_CRASH_FD", std::to_string(child_fd));
  if (preload) {
    const char* old = std::getenv("LD_PRELOAD");
    env.emplace_back("LD_PRELOAD", opt.crash_lib + (old && *old ? std::string(" ") + old : ""));
  }
  if (opt.rr != RrMode::off) env.emplace_back("FAULTLINE_REACTOR", "epoll");
  std::vector<std::string> env_strings = environment_with(env);
  std::vector<std::string> argv_strings;
  const fs::path rr_dir = dir / "rr-trace";
  if (opt.rr != RrMode::off) {
    argv_strings = {"rr", "record"};
    if (opt.rr == RrMode::chaos) argv_strings.push_back("--chaos");
    // -v puts the variable into the tracee's environment explicitly; rr's own
    // parser takes the first non-option word as the program (no "--").
    argv_strings.insert(argv_strings.end(), {"-o", rr_dir.string(), "-v", "FAULTLINE_REACTOR=epoll"});
  }
  argv_strings.insert(argv_strings.end(), opt.command.begin(), opt.command.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  rlimit core_limit{opt.core ? RLIM_INFINITY : 0, opt.core ? RLIM_INFINITY : 0};
  rlimit as_limit{opt.memory_limit, opt.memory_limit};

  const double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);  // lets gdb attach under Yama scope 1
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    fcntl(child_fd, F_SETFD, 0);  // the crash pipe survives exec
    setrlimit(RLIMIT_CORE, &core_limit);
    if (opt.memory_limit != 0) setrlimit(RLIMIT_AS, &as_limit);
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv.data(), envp.data());
    const char msg[] = "faultline: exec failed\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  close(pfd[1]);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  if (pid < 0) {
    close(pfd[0]);
    rec.outcome = record::Outcome::error;
    rec.summary = std::string("fork: ") + std::strerror(errno);
    return;
  }
  setpgid(pid, pid);
  PipeDrain drain(pfd[0]);

  int status = 0;
  rusage ru{};
  bool timed_out = false, killed_by_us = false, was_interrupted = false;
  nlohmann::json hang;
  std::size_t crash_bytes_before_hang = 0;
  while (true) {
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (interrupted && interrupted->load()) {
      was_interrupted = killed_by_us = true;
      kill(-pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      break;
    }
    if (now_s() - t0 > opt.timeout_s) {
      timed_out = true;
      crash_bytes_before_hang = drain.size();
      hang["timeout_s"] = opt.timeout_s;
      if (opt.hang_stacks) {
        try {
          auto h = collect_hang(pid, child_fd, opt, dir);
          hang.update(h);
        } catch (const std::exception& e) {
          hang["error"] = e.what();
        }
      }
      killed_by_us = true;
      kill(-pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      break;
    }
    usleep(opt.timeout_s < 2 ? 2000 : 10000);
  }
  // Descendants in the group may keep the pipe open; they die with the group.
  kill(-pid, SIGKILL);
  const double duration = now_s() - t0;
  drain.finish();
  close(pfd[0]);
  const std::string crash_text = drain.text();
  if (!crash_text.empty()) std::ofstream(dir / "crash.txt", std::ios::binary) << crash_text;

  rec.duration_s = duration;
  const std::string out_text = read_file(out_path.string());
  const std::string err_text = read_file(err_path.string());
  auto parsed = crash::parse_stream(crash_text);
  const crash::CrashReport* report = nullptr;
  for (const auto& c : parsed.crashes)
    if (report == nullptr || (c.complete && !report->complete)) report = &c;

  // The target's own record (a repro run with --json) says what it was.
  nlohmann::json target = find_repro_record(out_text);
  if (!target.is_null()) {
    auto t = record::from_json(target);
    if (rec.scenario.empty()) rec.scenario = t.scenario;
    if (rec.variant.empty()) rec.variant = t.variant;
    if (!t.build.type.empty() || !t.build.compiler.empty()) {
      std::string preset = rec.build.preset;
      rec.build = t.build;
      if (rec.build.preset.empty()) rec.build.preset = preset;
    }
    rec.details["target_record"] = target;
  }
  rec.details["capture"] = capture_info;
  rec.details["max_rss_kib"] = ru.ru_maxrss;
  rec.details["user_s"] = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  rec.details["system_s"] = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;

  nlohmann::json san = parse_sanitizer(err_text);
  int sig = 0;
  int code = -1;
  if (WIFSIGNALED(status)) sig = WTERMSIG(status);
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  // rr record reports a tracee killed by a signal as exit 128+sig.
  if (opt.rr != RrMode::off && code > 128 && code < 128 + 65) {
    sig = code - 128;
    code = -1;
  }
  if (code >= 0) rec.exit_code = code;
  const bool oom_text = err_text.find("std::bad_alloc") != std::string::npos ||
                        err_text.find("Cannot allocate memory") != std::string::npos ||
                        err_text.find("out of memory") != std::string::npos;
  using record::Outcome;
  if (was_interrupted) {
    rec.outcome = Outcome::error;
    rec.summary = "interrupted: the harness was stopped while the target ran";
  } else if (timed_out) {
    rec.outcome = Outcome::hang;
    char b[128];
    std::snprintf(b, sizeof b, "hang: no exit within %.1f s; killed after collecting %zu thread stack(s)",
                  opt.timeout_s, hang.value("threads", nlohmann::json::array()).size());
    rec.summary = b;
    if (crash_text.size() > crash_bytes_before_hang)
      hang["fiber_dump"] = crash::parse_stream(std::string_view(crash_text).substr(crash_bytes_before_hang)).other;
    rec.hang = hang;
  } else if (!san.is_null()) {
    rec.outcome = Outcome::sanitizer;
    rec.sanitizer = san;
    std::string where;
    if (!san["frames"].empty() && san["frames"][0].contains("function"))
      where = " in " + san["frames"][0]["function"].get<std::string>();
    rec.summary = san.value("tool", "sanitizer") + ": " + san.value("kind", "report") + where;
  } else if (sig == SIGKILL && !killed_by_us) {
    rec.outcome = Outcome::oom;
    rec.summary =
        "killed by SIGKILL not sent by the harness (the kernel OOM killer or a cgroup memory limit); max RSS " +
        std::to_string(ru.ru_maxrss / 1024) + " MiB";
    rec.details["oom_evidence"] = {{"max_rss_kib", ru.ru_maxrss}, {"memory_limit", opt.memory_limit}};
  } else if (sig == SIGABRT) {
    const std::string msg = abort_message(err_text);
    if (opt.memory_limit != 0 && oom_text) {
      rec.outcome = Outcome::oom;
      rec.summary = "out of memory under --memory-limit: " + msg;
    } else {
      rec.outcome = Outcome::abort;
      rec.summary = "abort: " + (msg.empty() ? std::string("(no message on stderr)") : msg);
    }
    rec.details["abort_message"] = msg;
  } else if (sig != 0) {
    rec.outcome = Outcome::crash;
    rec.summary = signal_name(sig);
  } else if (code == 0) {
    rec.outcome = Outcome::pass;
    rec.summary = "exited 0";
  } else if (code == record::kExitSkip) {
    rec.outcome = Outcome::skip;
    rec.summary = "skipped (exit 77): " + abort_message(err_text);
  } else if (opt.memory_limit != 0 && oom_text) {
    rec.outcome = Outcome::oom;
    rec.summary = "out of memory under --memory-limit (exit " + std::to_string(code) + ")";
  } else {
    auto t = target.is_null() ? std::nullopt : record::outcome_from_string(target.value("outcome", ""));
    if (t && *t != Outcome::pass) {
      rec.outcome = *t;
      rec.summary = target.value("summary", "");
    } else {
      rec.outcome = Outcome::exit_failure;
      rec.summary = "exited " + std::to_string(code);
    }
  }

  if (sig != 0 && sig != SIGKILL) {
    if (report != nullptr) {
      rec.crash = crash_json(*report);
      if (rec.outcome == Outcome::crash) {
        rec.summary = signal_name(sig) + ": " + rec.crash["description"].get<std::string>();
        for (const auto& f : rec.crash["backtrace"])
          if (f.contains("function")) {
            rec.summary += " in " + f["function"].get<std::string>();
            break;
          }
        if (report->fiber != 0) rec.summary += " (fiber " + std::to_string(report->fiber) + ")";
      }
    } else {
      rec.crash = {{"signal", sig},
                   {"signal_name", signal_name(sig)},
                   {"note", preload ? "the crash library wrote nothing (static binary, or the handler was replaced)"
                                    : "no in-process capture for this run"}};
    }
  }

  // Artifacts: kept for failures; a passing attempt's directory goes away.
  nlohmann::json art = nlohmann::json::object();
  if (record::is_failure(rec.outcome) || opt.keep_passing) {
    art["dir"] = dir.string();
    art["stdout"] = out_path.string();
    art["stderr"] = err_path.string();
    if (!crash_text.empty()) art["crash_capture"] = (dir / "crash.txt").string();
    if (fs::exists(dir / "hang-gdb.txt")) art["hang_gdb"] = (dir / "hang-gdb.txt").string();
    auto tail = [](const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; };
    rec.details["stderr_tail"] = tail(err_text);
    if (target.is_null()) rec.details["stdout_tail"] = tail(out_text);
  }
  if (opt.core && sig != 0 && sig != SIGKILL) {
    const std::string pat = core_pattern();
    if (!WIFSIGNALED(status) || !WCOREDUMP(status)) {
      art["core_note"] =
          "the kernel wrote no core for this " + signal_name(sig) +
          (opt.rr != RrMode::off ? " (under rr the trace replaces it)" : " (not dumpable, or a filesystem limit)");
    } else if (!pat.empty() && pat[0] == '|') {
      art["core"] = nullptr;
      art["core_note"] = "core_pattern pipes cores to a handler (" + pat.substr(1, pat.find(' ') - 1) +
                         "); fetch it there, e.g. coredumpctl";
    } else if (std::string core = find_core(pid, exe); !core.empty()) {
      std::error_code ec;
      fs::rename(core, dir / "core", ec);
      if (ec) fs::copy_file(core, dir / "core", ec);
      art["core"] = (dir / "core").string();
    } else {
      art["core_note"] = "no core file found for pattern '" + pat + "' (a pattern with %t/%h is not followed)";
    }
  }
  if (opt.rr != RrMode::off) {
    if (record::is_failure(rec.outcome) && fs::exists(rr_dir)) {
      art["rr_trace"] = rr_dir.string();
      art["rr_replay"] = "rr replay " + rr_dir.string();
    } else {
      std::error_code ec;
      fs::remove_all(rr_dir, ec);
    }
  }
  rec.artifacts = art;
  if (!record::is_failure(rec.outcome) && !opt.keep_passing) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

}  // namespace faultline::harness
