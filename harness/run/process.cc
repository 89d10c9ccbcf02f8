// Helper-process runner (contract in process.h). fork/exec with everything the
// child needs prepared before fork, so it is safe from a multi-threaded parent.
#include "harness/run/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

extern char** environ;

namespace faultline::harness {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string read_file(const std::string& path, std::size_t max_bytes) {
  // Plain read(2) in small chunks: /proc/sys files refuse one huge read (ENOMEM).
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string s;
  char buf[65536];
  while (s.size() < max_bytes) {
    ssize_t n = read(fd, buf, std::min(sizeof buf, max_bytes - s.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return s;
}

bool have_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : overrides)
      if (kv.size() > k.size() && kv.substr(0, k.size()) == k && kv[k.size()] == '=') overridden = true;
    if (!overridden) out.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

Captured run_capture(const std::vector<std::string>& argv, double timeout_s,
                     const std::vector<std::pair<std::string, std::string>>& env, std::size_t max_bytes,
                     const std::string& cwd) {
  Captured c;
  if (argv.empty()) return c;
  std::vector<std::string> env_strings = environment_with(env);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return c;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return c;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);
  c.started = true;
  close(fds[1]);
  const double deadline = now_s() + timeout_s;
  char buf[8192];
  bool open_pipe = true;
  int status = 0;
  bool reaped = false;
  while (true) {
    if (open_pipe) {
      struct pollfd p {
        fds[0], POLLIN, 0
      };
      int r = poll(&p, 1, 50);
      if (r > 0) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
          if (c.output.size() < max_bytes)
            c.output.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), max_bytes - c.output.size()));
        } else if (n == 0 || errno != EINTR) {
          open_pipe = false;
        }
      }
    } else {
      usleep(10 * 1000);
    }
    if (!reaped) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) reaped = true;
    }
    if (reaped && !open_pipe) break;
    if (reaped && open_pipe) {
      // Grandchildren may hold the pipe; drain what is there, then stop.
      struct pollfd p {
        fds[0], POLLIN, 0
      };
      if (poll(&p, 1, 100) <= 0) break;
    }
    if (now_s() > deadline) {
      c.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      if (!reaped) waitpid(pid, &status, 0);
      reaped = true;
      break;
    }
  }
  close(fds[0]);
  if (WIFEXITED(status)) c.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) c.signal = WTERMSIG(status);
  return c;
}

}  // namespace faultline::harness
