// Implementation of the split sweep (contract in sweep.h). The parent is the
// server (single thread, no helper threads, so fork() is safe); each attempt
// forks a client child that runs one reader variant on a guarded buffer and
// reports back over a pipe.
#include "repro/wssplit/sweep.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "repro/wssplit/handshake_reader.h"
#include "repro/wssplit/legacy_readers.h"

namespace faultline::wssplit::sweep {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadBufferBytes = 4096;
constexpr std::string_view kFramePayload = "hello from faultline";
// The header names build_response() sends, in order.
constexpr std::string_view kResponseHeaders[] = {"Upgrade", "Connection", "Sec-WebSocket-Accept", "Server"};

struct ChildReport {
  int kind = 0;  // 0 pass, 1 fail, 2 crash
  int sig = 0;
  int si_code = 0;
  int has_fault = 0;
  long long fault_offset = 0;
  char reason[200] = {};
};
static_assert(sizeof(ChildReport) <= PIPE_BUF, "one atomic pipe write");

// Child-only globals, read by the crash handler.
int g_report_fd = -1;
const char* g_read_buf = nullptr;
alignas(16) char g_altstack[64 * 1024];

void crash_handler(int sig, siginfo_t* si, void*) {
  ChildReport r;
  r.kind = 2;
  r.sig = sig;
  r.si_code = si->si_code;
  if (sig == SIGSEGV || sig == SIGBUS) {
    r.has_fault = 1;
    r.fault_offset = static_cast<long long>(reinterpret_cast<std::intptr_t>(si->si_addr) -
                                            reinterpret_cast<std::intptr_t>(g_read_buf));
  }
  ssize_t w = ::write(g_report_fd, &r, sizeof r);
  (void)w;
  // SA_RESETHAND: returning re-executes the faulting access with the default action.
  if (sig == SIGABRT || sig == SIGFPE) ::raise(sig);
}

[[noreturn]] void report_and_exit(int fd, int kind, const std::string& reason) {
  ChildReport r;
  r.kind = kind;
  std::snprintf(r.reason, sizeof r.reason, "%s", reason.c_str());
  ssize_t w = ::write(fd, &r, sizeof r);
  (void)w;
  ::_exit(0);
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Listener {
  Fd fd;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_INET;
};

void make_listener(Listener& l, bool ipv6) {
  l.family = ipv6 ? AF_INET6 : AF_INET;
  l.fd.fd = ::socket(l.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.fd.fd < 0) throw std::runtime_error(errno_text("socket"));
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&l.addr);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    l.addr_len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&l.addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l.addr_len = sizeof(sockaddr_in);
  }
  if (::bind(l.fd.fd, reinterpret_cast<sockaddr*>(&l.addr), l.addr_len) != 0)
    throw std::runtime_error(errno_text(ipv6 ? "bind [::1]" : "bind 127.0.0.1"));
  if (::listen(l.fd.fd, 16) != 0) throw std::runtime_error(errno_text("listen"));
  if (::getsockname(l.fd.fd, reinterpret_cast<sockaddr*>(&l.addr), &l.addr_len) != 0)
    throw std::runtime_error(errno_text("getsockname"));
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool child_gone(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

// Reads the client's request head from the server side; returns the key.
std::string read_request_key(int fd, Clock::time_point deadline) {
  std::string req;
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char tmp[1024];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return {};
    req.append(tmp, static_cast<std::size_t>(n));
  }
  constexpr std::string_view kName = "\r\nsec-websocket-key:";
  std::string lower = req;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t at = lower.find(kName);
  if (at == std::string::npos) return {};
  std::size_t b = at + kName.size();
  std::size_t e = req.find("\r\n", b);
  std::string key = req.substr(b, e - b);
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  return key;
}

// --- the child -------------------------------------------------------------

char* map_read_buffer(bool guard) {
  if (!guard) return new char[kReadBufferBytes]();
  long page = ::sysconf(_SC_PAGESIZE);
  std::size_t len = kReadBufferBytes + static_cast<std::size_t>(page);
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  char* base = static_cast<char*>(m);
  if (::mprotect(base + kReadBufferBytes, static_cast<std::size_t>(page), PROT_NONE) != 0) return nullptr;
  return base;
}

[[noreturn]] void child_main(int fd, int report_fd, const Options& opt, const ClientRequest& req) {
  g_report_fd = report_fd;
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = crash_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::sigaction(s, &sa, nullptr);

  char* buf = map_read_buffer(opt.guard_page);
  if (buf == nullptr) report_and_exit(report_fd, 1, errno_text("mmap read buffer"));
  g_read_buf = buf;
  std::vector<char> leftover(kReadBufferBytes);

  if (!send_all(fd, write_request(req))) report_and_exit(report_fd, 1, errno_text("send request"));

  std::string have;  // frame bytes received after the head
  Headers got_headers;
  if (opt.variant == Variant::fixed) {
    HandshakeReader reader(req);
    while (reader.status() == HandshakeReader::Status::need_more) {
      long n = legacy::read_some(fd, buf, kReadBufferBytes);
      if (n <= 0) report_and_exit(report_fd, 1, n == 0 ? "connection closed before the end of the head" : "read error");
      reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    if (reader.status() == HandshakeReader::Status::error) report_and_exit(report_fd, 1, reader.error());
    have = reader.take_leftover();
    got_headers = reader.headers();
  } else {
    legacy::Result r;
    if (opt.variant == Variant::buggy)
      r = legacy::read_buggy(fd, buf, kReadBufferBytes, leftover.data(), req);
    else if (opt.variant == Variant::partial_fix)
      r = legacy::read_partial_fix(fd, buf, kReadBufferBytes, leftover.data(), req);
    else
      r = legacy::read_blank_line_underflow(fd, buf, kReadBufferBytes, leftover.data(), req);
    if (!r.ok) report_and_exit(report_fd, 1, r.error);
    if (r.leftover_len > leftover.size())
      report_and_exit(report_fd, 1, "over-read of " + std::to_string(r.leftover_len) + " bytes");
    have.assign(leftover.data(), r.leftover_len);
    got_headers = std::move(r.headers);
  }
  // A dropped optional header does not fail the handshake, but it is the
  // partial fix's defect all the same: every header sent must have arrived.
  for (std::string_view name : kResponseHeaders) {
    bool seen = std::any_of(got_headers.begin(), got_headers.end(), [&](const auto& h) { return h.first == name; });
    if (!seen)
      report_and_exit(report_fd, 1, "handshake accepted but header '" + std::string(name) + "' was silently lost");
  }

  // The head is done; the frame must follow intact (leftover + later reads).
  const std::string want = first_frame();
  for (int reads = 0; have.size() < want.size() && reads < 64; ++reads) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(opt.timeout_ms)) <= 0) break;
    long n = legacy::read_some(fd, buf, kReadBufferBytes);
    if (n <= 0) break;
    have.append(buf, static_cast<std::size_t>(n));
  }
  if (have != want)
    report_and_exit(report_fd, 1,
                    "frame after the head differs: got " + std::to_string(have.size()) + " of " +
                        std::to_string(want.size()) + " bytes" + (have.size() == want.size() ? " (content)" : ""));
  report_and_exit(report_fd, 0, "");
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string si_code_text(int sig, int code) {
  if (code == SI_KERNEL) return "SI_KERNEL";
  if (code == SI_USER) return "SI_USER";
  if (code == SI_TKILL) return "SI_TKILL";
  if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
  if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
  if (sig == SIGBUS && code == BUS_ADRERR) return "BUS_ADRERR";
  return std::to_string(code);
}

Attempt attempt_on(const Listener& l, const Options& opt, const std::vector<std::size_t>& splits,
                   std::uint64_t attempt_no) {
  Attempt a;
  a.splits = splits;
  std::mt19937_64 rng(opt.seed * 1000003u + attempt_no);
  ClientRequest req;
  req.key = generate_key(rng);
  if (l.family == AF_INET6)
    req.host = "[::1]:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in6*>(&l.addr)->sin6_port));
  else
    req.host = "127.0.0.1:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(&l.addr)->sin_port));

  Fd client(::socket(l.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (client.fd < 0) throw std::runtime_error(errno_text("socket"));
  if (::connect(client.fd, reinterpret_cast<const sockaddr*>(&l.addr), l.addr_len) != 0)
    throw std::runtime_error(errno_text("connect"));
  Fd server(::accept4(l.fd.fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (server.fd < 0) throw std::runtime_error(errno_text("accept"));
  set_nodelay(server.fd);
  set_nodelay(client.fd);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe"));
  Fd report_rd(pipefd[0]);
  Fd report_wr(pipefd[1]);

  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    ::close(server.fd);
    ::close(l.fd.fd);
    ::close(report_rd.fd);
    child_main(client.fd, report_wr.fd, opt, req);
  }
  ::close(report_wr.fd);
  report_wr.fd = -1;

  const auto deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
  std::string key = read_request_key(server.fd, deadline);
  std::string response = build_response(compute_accept(key.empty() ? req.key : key));
  std::size_t prev = 0;
  for (std::size_t i = 0; i <= splits.size(); ++i) {
    std::size_t end = i < splits.size() ? std::min(splits[i], response.size()) : response.size();
    if (end < prev) end = prev;
    if (!send_all(server.fd, std::string_view(response).substr(prev, end - prev))) break;
    prev = end;
    if (i == splits.size()) break;
    // Wait until the piece is acknowledged and read by the client.
    bool drained = false;
    while (Clock::now() < deadline) {
      int outq = 0, inq = 0;
      ::ioctl(server.fd, SIOCOUTQ, &outq);
      ::ioctl(client.fd, SIOCINQ, &inq);
      if (outq == 0 && inq == 0) {
        drained = true;
        break;
      }
      if (child_gone(pid)) break;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    if (child_gone(pid)) break;
    if (!drained) a.isolated = false;
    if (opt.pause_us) std::this_thread::sleep_for(std::chrono::microseconds(opt.pause_us));
  }
  ::shutdown(server.fd, SHUT_WR);

  ChildReport rep;
  bool got = false;
  bool eof = false;  // the child closed the pipe without a report: it is exiting
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{report_rd.fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t n = ::read(report_rd.fd, &rep, sizeof rep);
    got = n == static_cast<ssize_t>(sizeof rep);
    eof = n == 0;
    break;
  }
  bool killed = false;
  if (!got || rep.kind == 2) {
    // A crash report is followed by the death, and so is the end of the pipe
    // without one (a sanitizer's report ends the child with exit 1): wait for
    // it. Anything else past the deadline is a hang.
    auto until = got || eof ? Clock::now() + std::chrono::milliseconds(opt.timeout_ms) : Clock::now();
    while (!child_gone(pid) && Clock::now() < until) std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (!child_gone(pid)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  if (killed && !got) {
    a.outcome = Outcome::hang;
    a.reason = "no result within " + std::to_string(opt.timeout_ms) + " ms (killed)";
  } else if (WIFSIGNALED(status) || (got && rep.kind == 2)) {
    a.outcome = Outcome::crash;
    a.signal = WIFSIGNALED(status) ? WTERMSIG(status) : rep.sig;
    a.si_code = got ? rep.si_code : 0;
    if (got && rep.has_fault) a.fault_offset = rep.fault_offset;
    std::ostringstream s;
    s << signal_text(a.signal);
    if (got) s << " (" << si_code_text(a.signal, rep.si_code) << ")";
    if (a.fault_offset) {
      s << " at read buffer " << (*a.fault_offset >= 0 ? "+" : "") << *a.fault_offset;
      if (opt.guard_page && *a.fault_offset >= static_cast<std::int64_t>(kReadBufferBytes) &&
          *a.fault_offset < static_cast<std::int64_t>(kReadBufferBytes) + ::sysconf(_SC_PAGESIZE))
        s << " (the guard page after it)";
    }
    a.reason = s.str();
  } else if (got && rep.kind == 0) {
    a.outcome = Outcome::pass;
  } else {
    a.outcome = Outcome::fail;
    a.reason = got ? std::string(rep.reason) : "child exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return a;
}

void tally(Report& r, Attempt& a, const std::set<std::size_t>& predicted) {
  a.predicted_fail = std::any_of(a.splits.begin(), a.splits.end(), [&](std::size_t s) { return predicted.count(s); });
  switch (a.outcome) {
    case Outcome::pass:
      ++r.pass;
      break;
    case Outcome::fail:
      ++r.fail;
      break;
    case Outcome::crash:
      ++r.crash;
      break;
    case Outcome::hang:
      ++r.hang;
      break;
  }
  if (!a.isolated) ++r.not_isolated;
  bool failed = a.outcome != Outcome::pass;
  if (failed && !a.predicted_fail) ++r.unpredicted_failures;
  if (!failed && a.predicted_fail) ++r.predicted_passes;
}

std::string join(const std::vector<std::size_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string splits_text(const std::vector<std::size_t>& v) {
  return v.size() == 1 ? std::to_string(v[0]) : "(" + join(v) + ")";
}

}  // namespace

std::optional<Variant> variant_from_string(std::string_view s) {
  if (s == "buggy") return Variant::buggy;
  if (s == "partial-fix") return Variant::partial_fix;
  if (s == "blank-line-underflow") return Variant::blank_line_underflow;
  if (s == "fixed") return Variant::fixed;
  return std::nullopt;
}

std::string_view to_string(Variant v) {
  switch (v) {
    case Variant::buggy:
      return "buggy";
    case Variant::partial_fix:
      return "partial-fix";
    case Variant::blank_line_underflow:
      return "blank-line-underflow";
    case Variant::fixed:
      return "fixed";
  }
  return "?";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::pass:
      return "pass";
    case Outcome::fail:
      return "fail";
    case Outcome::crash:
      return "crash";
    case Outcome::hang:
      return "hang";
  }
  return "?";
}

std::string first_frame() {
  std::string f;
  f.push_back(static_cast<char>(0x81));  // FIN + text
  f.push_back(static_cast<char>(kFramePayload.size()));
  f.append(kFramePayload);
  return f;
}

std::string build_response(std::string_view accept) {
  std::string r = "HTTP/1.1 101 Switching Protocols\r\n";
  r += "Upgrade: websocket\r\n";
  r += "Connection: Upgrade\r\n";
  r += "Sec-WebSocket-Accept: " + std::string(accept) + "\r\n";
  r += "Server: faultline-wssplit\r\n";
  r += "\r\n";
  r += first_frame();
  return r;
}

std::size_t head_length(std::string_view response) {
  std::size_t e = response.find("\r\n\r\n");
  return e == std::string_view::npos ? std::string_view::npos : e + 4;
}

std::vector<std::size_t> mid_crlf_offsets(std::string_view response) {
  std::vector<std::size_t> out;
  std::size_t head = head_length(response);
  if (head == std::string_view::npos) head = response.size();
  for (std::size_t k = 1; k < head; ++k)
    if (response[k - 1] == '\r' && response[k] == '\n') out.push_back(k);
  return out;
}

std::vector<std::size_t> predicted_failing(Variant v, std::string_view response) {
  std::vector<std::size_t> mid = mid_crlf_offsets(response);
  switch (v) {
    case Variant::buggy:
    case Variant::partial_fix:
      return mid;
    case Variant::blank_line_underflow: {
      // Only the split between the final '\r' and '\n' of "\r\n\r\n": the
      // CRLF before it ends the last header, which this variant handles.
      std::size_t head = head_length(response);
      if (head != std::string_view::npos && std::find(mid.begin(), mid.end(), head - 1) != mid.end()) return {head - 1};
      return {};
    }
    case Variant::fixed:
      return {};
  }
  return {};
}

Attempt run_one(const Options& opt, const std::vector<std::size_t>& splits) {
  Listener l;
  make_listener(l, opt.ipv6);
  return attempt_on(l, opt, splits, 0);
}

Report run(const Options& opt, int ways, std::size_t max_pairs) {
  Report r;
  r.variant = opt.variant;
  r.ways = ways;
  // All keys give an accept of the same length, so one reference response
  // fixes the offsets and the prediction for every attempt.
  const std::string reference = build_response(compute_accept("dGhlIHNhbXBsZSBub25jZQ=="));
  r.response_len = reference.size();
  r.head_len = head_length(reference);
  r.mid_crlf = mid_crlf_offsets(reference);
  r.predicted = predicted_failing(opt.variant, reference);
  const std::set<std::size_t> predicted(r.predicted.begin(), r.predicted.end());

  std::vector<std::vector<std::size_t>> plans;
  if (ways == 2) {
    for (std::size_t k = 1; k < reference.size(); ++k) plans.push_back({k});
  } else {
    for (std::size_t a = 1; a < reference.size(); ++a)
      for (std::size_t b = a + 1; b < reference.size(); ++b) plans.push_back({a, b});
  }
  r.candidates = plans.size();
  if (ways != 2 && plans.size() > max_pairs) {
    std::mt19937_64 rng(opt.seed);
    for (std::size_t i = 0; i < max_pairs; ++i) {
      std::uniform_int_distribution<std::size_t> d(i, plans.size() - 1);
      std::swap(plans[i], plans[d(rng)]);
    }
    plans.resize(max_pairs);
    std::sort(plans.begin(), plans.end());
  }

  Listener l;
  make_listener(l, opt.ipv6);
  std::uint64_t n = 0;
  for (const auto& p : plans) {
    Attempt a = attempt_on(l, opt, p, ++n);
    tally(r, a, predicted);
    r.attempts.push_back(std::move(a));
  }
  return r;
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["variant"] = std::string(to_string(r.variant));
  j["ways"] = r.ways;
  j["response_bytes"] = r.response_len;
  j["head_bytes"] = r.head_len;
  j["mid_crlf_offsets"] = r.mid_crlf;
  j["predicted_failing_offsets"] = r.predicted;
  j["candidates"] = r.candidates;
  j["attempts"] = r.attempts.size();
  j["pass"] = r.pass;
  j["fail"] = r.fail;
  j["crash"] = r.crash;
  j["hang"] = r.hang;
  j["not_isolated"] = r.not_isolated;
  j["unpredicted_failures"] = r.unpredicted_failures;
  j["predicted_but_passed"] = r.predicted_passes;
  j["matches_prediction"] = r.matches_prediction();
  nlohmann::json failing = nlohmann::json::array();
  std::map<std::string, std::size_t> signals;
  for (const auto& a : r.attempts) {
    if (a.outcome == Outcome::pass) continue;
    if (a.outcome == Outcome::crash) ++signals[signal_text(a.signal)];
    if (failing.size() < 64) {
      nlohmann::json f{{"splits", a.splits}, {"outcome", std::string(to_string(a.outcome))}, {"reason", a.reason}};
      if (a.outcome == Outcome::crash) {
        f["signal"] = signal_text(a.signal);
        f["si_code"] = si_code_text(a.signal, a.si_code);
        if (a.fault_offset) f["fault_offset"] = *a.fault_offset;
      }
      failing.push_back(std::move(f));
    }
  }
  j["failing"] = failing;
  j["signals"] = signals;
  return j;
}

std::string format(const Report& r) {
  std::ostringstream s;
  s << "variant " << to_string(r.variant) << ", " << r.ways << "-way split of a " << r.response_len
    << "-byte response (head " << r.head_len << " bytes + " << r.response_len - r.head_len << "-byte frame)\n";
  s << "  tried " << r.attempts.size() << " of " << r.candidates << (r.ways == 2 ? " offsets" : " offset pairs")
    << ": pass " << r.pass << ", fail " << r.fail << ", crash " << r.crash << ", hang " << r.hang << "\n";
  s << "  mid-CRLF offsets in the head: " << join(r.mid_crlf) << "\n";
  s << "  predicted to fail for this variant: " << (r.predicted.empty() ? "none" : join(r.predicted)) << "\n";
  std::size_t shown = 0;
  for (const auto& a : r.attempts) {
    if (a.outcome == Outcome::pass) continue;
    if (shown++ == 24) {
      s << "    ...\n";
      break;
    }
    s << "    split " << splits_text(a.splits) << ": " << to_string(a.outcome) << " — " << a.reason
      << (a.predicted_fail ? "" : "  [NOT PREDICTED]") << "\n";
  }
  s << "  failing set " << (r.matches_prediction() ? "matches" : "DOES NOT match") << " the prediction";
  if (!r.matches_prediction())
    s << " (" << r.unpredicted_failures << " unpredicted failures, " << r.predicted_passes
      << " predicted failures that passed)";
  s << "\n";
  if (r.not_isolated)
    s << "  warning: " << r.not_isolated << " attempts could not confirm the client read each piece separately\n";
  return s.str();
}

}  // namespace faultline::wssplit::sweep
