// repro_expect — runs one repro program and asserts how it behaved, for
// CTest. A broken variant often kills its own process (or is killed by its
// watchdog), so it cannot report its own verdict; this checks from outside.
//
// usage: repro_expect [checks...] -- PROGRAM ARGS...
//   --expect pass|misbehave|unmeasured
//                        pass: exit 0; misbehave: exit 1 or killed by a
//                        signal; unmeasured: run it, show it, assert nothing
//                        (exit 77: no measured expectation for this build)
//   --outcome O          the program's last JSON record line on stdout has
//                        outcome O (pass, fail, hang, ...), and its exit code
//                        matches (0 for pass, 1 otherwise)
//   --signal NAME        killed by SIGNAME (SEGV, ABRT, ...); under ASan/TSan
//                        a SEGV is reported and exits non-zero instead, so the
//                        sanitizer's "SEGV on unknown address" report counts
//   --stderr REGEX       its stderr matches REGEX (ECMAScript)
//   --detail KEY=JSON    details[KEY] of the record equals JSON
//   --detail-nonzero KEY details[KEY] of the record is a non-zero number
//   --sanitizer [TOOL/]KIND
//                        its stderr holds a sanitizer report of this kind
//                        (e.g. AddressSanitizer/heap-use-after-free,
//                        ThreadSanitizer/data race; a UBSan kind may be given
//                        up to any word boundary: "member call on null pointer"),
//                        parsed by the harness's own parser (harness/run/classify.h)
//   --frame REGEX        ... and one of the first frames of that report
//                        ("function file:line") matches REGEX
// Without --sanitizer, any sanitizer report on stderr is a failure: a fixed
// variant must run clean in a sanitizer build.
// Exit: 0 as expected, 1 not, 77 when the program skipped (exit 77).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/run/classify.h"

namespace {

std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json last_record(const std::string& out) {
  nlohmann::json rec;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("outcome")) rec = j;
  }
  return rec;
}

}  // namespace

int main(int argc, char** argv) {
  std::string expect, outcome, signal_name, stderr_re, sanitizer, frame_re;
  std::vector<std::string> nonzero;
  std::vector<std::pair<std::string, nlohmann::json>> equal;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) break;
    if (a == "--expect")
      expect = argv[++i];
    else if (a == "--outcome")
      outcome = argv[++i];
    else if (a == "--detail") {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      nlohmann::json want(nlohmann::json::value_t::discarded);
      if (eq != std::string::npos) want = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
      if (want.is_discarded()) {
        std::fprintf(stderr, "repro_expect: --detail needs KEY=JSON, got %s\n", kv.c_str());
        return 2;
      }
      equal.emplace_back(kv.substr(0, eq), want);
    } else if (a == "--signal")
      signal_name = argv[++i];
    else if (a == "--stderr")
      stderr_re = argv[++i];
    else if (a == "--detail-nonzero")
      nonzero.push_back(argv[++i]);
    else if (a == "--sanitizer")
      sanitizer = argv[++i];
    else if (a == "--frame")
      frame_re = argv[++i];
    else {
      std::fprintf(stderr, "repro_expect: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (i >= argc || (!expect.empty() && expect != "pass" && expect != "misbehave" && expect != "unmeasured")) {
    std::fprintf(
        stderr,
        "usage: repro_expect [--outcome O] [--signal NAME] [--stderr RE] [--sanitizer [TOOL/]KIND [--frame RE]] -- "
        "PROGRAM ARGS...\n");
    return 2;
  }
  char out_path[] = "/tmp/repro_expect_out_XXXXXX";
  char err_path[] = "/tmp/repro_expect_err_XXXXXX";
  int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) {
    std::perror("repro_expect: mkstemp");
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(argv[i], argv + i);
    std::perror("execv");
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::string out = slurp(out_path), err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  std::fprintf(stderr, "--- program stderr ---\n%s--- end ---\n", err.c_str());

  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    std::printf("SKIP: the program cannot run here\n");
    return 77;
  }
  const char* sig = WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : nullptr;
  std::string how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : std::string("killed by SIG") + (sig ? sig : "?");
  std::printf("program ended: %s\n", how.c_str());
  bool ok = true;
  auto fail = [&](const std::string& why) {
    std::printf("FAIL: %s\n", why.c_str());
    ok = false;
  };
  nlohmann::json rec = last_record(out);
  if (expect == "unmeasured") {
    std::printf("SKIP: %s; no measured expectation for this build, not asserted\n", how.c_str());
    return 77;
  }
  if (expect == "pass" && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fail("expected to pass, " + how);
  if (expect == "misbehave" && !((WIFEXITED(status) && WEXITSTATUS(status) == 1) || WIFSIGNALED(status)))
    fail("expected to misbehave (exit 1 or a signal), " + how);
  bool segv_report_expected = false;  // --signal SEGV, met by a sanitizer's SEGV report
  if (!signal_name.empty()) {
    bool by_signal = sig && signal_name == sig;
    bool asan_segv =
        signal_name == "SEGV" && (err.find("AddressSanitizer: SEGV on unknown address") != std::string::npos ||
                                  err.find("ThreadSanitizer: SEGV on unknown address") != std::string::npos);
    if (!by_signal && !asan_segv) fail("expected to be killed by SIG" + signal_name + ", " + how);
    segv_report_expected = asan_segv;
  }
  if (!outcome.empty()) {
    if (!rec.is_object()) {
      fail("no JSON result record on stdout (expected outcome " + outcome + ")");
    } else if (rec.value("outcome", "") != outcome) {
      fail("outcome " + rec.value("outcome", "?") + ", expected " + outcome);
    }
    int want_exit = outcome == "pass" ? 0 : 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != want_exit)
      fail(how + ", expected exit " + std::to_string(want_exit));
  }
  if (!stderr_re.empty() && !std::regex_search(err, std::regex(stderr_re)))
    fail("stderr does not match /" + stderr_re + "/");
  const nlohmann::json report = faultline::harness::parse_sanitizer(err);
  if (!report.is_null()) {
    std::printf("sanitizer report: %s %s", report.value("tool", "?").c_str(), report.value("kind", "?").c_str());
    for (const auto& f : report["frames"])
      if (f.contains("function")) {
        std::printf(" in %s", f["function"].get<std::string>().c_str());
        break;
      }
    std::printf("\n");
  }
  if (sanitizer.empty()) {
    if (!report.is_null() && !segv_report_expected)
      fail("unexpected sanitizer report: " + report.value("headline", std::string("?")));
  } else if (report.is_null()) {
    fail("no sanitizer report on stderr (expected " + sanitizer + ")");
  } else {
    const auto slash = sanitizer.find('/');
    const std::string tool = slash == std::string::npos ? "" : sanitizer.substr(0, slash);
    const std::string kind = slash == std::string::npos ? sanitizer : sanitizer.substr(slash + 1);
    if (!tool.empty() && report.value("tool", "") != tool)
      fail("sanitizer report by " + report.value("tool", "?") + ", expected " + tool);
    const std::string got = report.value("kind", "");
    if (got != kind && got.rfind(kind + " ", 0) != 0)
      fail("sanitizer report of kind '" + got + "', expected '" + kind + "'");
    if (!frame_re.empty()) {
      bool found = false;
      const std::regex re(frame_re);
      for (const auto& f : report["frames"])
        found = found || std::regex_search(f.value("function", "") + " " + f.value("location", ""), re);
      if (!found) fail("no frame of the report matches /" + frame_re + "/: " + report["frames"].dump());
    }
  }
  for (const auto& key : nonzero) {
    auto d = rec.is_object() ? rec.value("details", nlohmann::json::object()) : nlohmann::json::object();
    if (!d.contains(key) || !d[key].is_number() || d[key].get<double>() == 0)
      fail("details." + key + " is " + (d.contains(key) ? d[key].dump() : std::string("missing")) +
           ", expected non-zero");
  }
  for (const auto& [key, want] : equal) {
    auto d = rec.is_object() ? rec.value("details", nlohmann::json::object()) : nlohmann::json::object();
    if (!d.contains(key) || d[key] != want)
      fail("details." + key + " is " + (d.contains(key) ? d[key].dump() : std::string("missing")) + ", expected " +
           want.dump());
  }
  if (rec.is_object())
    std::printf("record: %s — %s\n", rec.value("outcome", "?").c_str(), rec.value("summary", "").c_str());
  std::printf("%s\n", ok ? "as expected" : "NOT as expected");
  return ok ? 0 : 1;
}
