// ctxswitch_expect — runs one repro program and asserts how it behaved, for
// CTest: a broken variant that crashes kills its own process, so it cannot
// report its own verdict.
//
// usage: ctxswitch_expect --expect pass|misbehave|unmeasured [--detail KEY=JSON]... -- PROGRAM ARGS...
//
// Exit: 0 when the program behaved as expected, 1 when it did not, 77 when
// the program itself skipped (exit 77) or `--expect unmeasured` was given
// (no measured expectation for this build; the run is still shown).
//   pass       the program exited 0.
//   misbehave  it exited 1 (wrong result, hang caught by its watchdog) or was
//              killed by a signal.
// Each --detail KEY=JSON additionally requires the program's --json record
// (the last JSON line on its stdout) to hold details[KEY] == JSON.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: ctxswitch_expect --expect pass|misbehave|unmeasured [--detail KEY=JSON]... -- PROGRAM "
               "ARGS...\n");
  return 2;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by SIG") + (name ? name : std::to_string(WTERMSIG(status)).c_str());
  }
  return "status " + std::to_string(status);
}

}  // namespace

int main(int argc, char** argv) {
  std::string expect;
  std::vector<std::pair<std::string, nlohmann::json>> details;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--expect" && i + 1 < argc) {
      expect = argv[++i];
    } else if (a == "--detail" && i + 1 < argc) {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) return usage();
      details.emplace_back(kv.substr(0, eq), nlohmann::json::parse(kv.substr(eq + 1), nullptr, false));
      if (details.back().second.is_discarded()) return usage();
    } else {
      return usage();
    }
  }
  if (i >= argc || (expect != "pass" && expect != "misbehave" && expect != "unmeasured")) return usage();

  int out[2];
  if (pipe(out) != 0) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[i], argv + i);
    std::perror(argv[i]);
    _exit(127);
  }
  close(out[1]);
  std::string captured;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) captured.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::fwrite(captured.data(), 1, captured.size(), stdout);

  std::string got = describe(status);
  bool exited = WIFEXITED(status);
  int code = exited ? WEXITSTATUS(status) : -1;
  if (exited && code == 77) {
    std::printf("ctxswitch_expect: the program skipped (exit 77)\n");
    return 77;
  }
  if (expect == "unmeasured") {
    std::printf("ctxswitch_expect: %s; no measured expectation for this build, not asserted\n", got.c_str());
    return 77;
  }
  bool ok = expect == "pass" ? (exited && code == 0) : ((exited && code == 1) || WIFSIGNALED(status));
  std::printf("ctxswitch_expect: expected %s, got %s: %s\n", expect.c_str(), got.c_str(), ok ? "OK" : "MISMATCH");
  if (!ok) return 1;

  if (!details.empty()) {
    nlohmann::json rec;
    std::size_t end = captured.size();
    while (end > 0 && rec.is_null()) {
      std::size_t start = captured.rfind('\n', end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      auto j = nlohmann::json::parse(captured.substr(start, end - start), nullptr, false);
      if (!j.is_discarded() && j.is_object()) rec = std::move(j);
      end = start == 0 ? 0 : start - 1;
    }
    if (rec.is_null()) {
      std::printf("ctxswitch_expect: no JSON record on stdout (was --json passed?)\n");
      return 1;
    }
    for (const auto& [key, want] : details) {
      const auto& d = rec["details"];
      bool match = d.contains(key) && d[key] == want;
      std::printf("ctxswitch_expect: details.%s = %s, expected %s: %s\n", key.c_str(),
                  d.contains(key) ? d[key].dump().c_str() : "(missing)", want.dump().c_str(),
                  match ? "OK" : "MISMATCH");
      if (!match) return 1;
    }
  }
  return 0;
}
