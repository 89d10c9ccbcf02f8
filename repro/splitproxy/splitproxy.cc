// Implementation of splitproxy (contract in splitproxy.h): one accept loop,
// two pump threads per connection (one per direction). Plain POSIX sockets
// and std::thread, not io/, so the tool keeps working while the runtime it
// is meant to test is broken.
#include "repro/splitproxy/splitproxy.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace faultline::splitproxy {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    auto a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
  }
  return false;
}

std::string describe(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
  ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// Resolves host:port and insists that every address is loopback.
std::vector<Resolved> resolve_loopback(const std::string& host, std::uint16_t port, const char* what) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) throw std::invalid_argument(std::string(what) + " " + host + ": " + ::gai_strerror(rc));
  std::vector<Resolved> out;
  std::string bad;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (!is_loopback(ai->ai_addr)) {
      bad = describe(ai->ai_addr);
      break;
    }
    Resolved r;
    std::memcpy(&r.addr, ai->ai_addr, ai->ai_addrlen);
    r.len = static_cast<socklen_t>(ai->ai_addrlen);
    out.push_back(r);
  }
  ::freeaddrinfo(res);
  if (!bad.empty() || out.empty())
    throw std::invalid_argument(std::string("refusing ") + what + " " + host + ":" + service + ": " +
                                (bad.empty() ? "no address" : bad) +
                                " is not a loopback address (splitproxy only uses 127.0.0.0/8 and ::1)");
  return out;
}

std::string mode_text(const Options& o) {
  switch (o.mode) {
    case SplitMode::every:
      return "every (connection n splits at offset n, cycling to " + std::to_string(o.every_max) + ")";
    case SplitMode::random:
      return "random (gaps 1.." + std::to_string(o.max_gap) + ", seed " + std::to_string(o.seed) + ")";
    case SplitMode::dribble:
      return "dribble (one byte per write for the first " + std::to_string(o.dribble_bytes) + " bytes)";
    case SplitMode::list: {
      std::string s;
      for (auto x : o.offsets) s += (s.empty() ? "" : ",") + std::to_string(x);
      return "at " + s;
    }
  }
  return "?";
}

bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

struct Stats {
  std::size_t bytes = 0;
  std::size_t splits = 0;
};

// Relays src -> dst until EOF, error, idle timeout or stop, cutting the
// stream where the plan says.
void pump(int src, int dst, SplitPlan plan, const Options& opt, Stats& st) {
  std::vector<char> buf(16384);
  std::size_t offset = 0;
  auto last = Clock::now();
  for (std::uint64_t rounds = 0; rounds < (std::uint64_t{1} << 40); ++rounds) {
    if (g_stop.load()) break;
    pollfd p{src, POLLIN, 0};
    int pr = ::poll(&p, 1, 200);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) break;
    if (pr == 0) {
      if (std::chrono::duration<double>(Clock::now() - last).count() > opt.idle_timeout_s) break;
      continue;
    }
    last = Clock::now();
    ssize_t n = ::read(src, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      ::shutdown(dst, SHUT_WR);  // half-close travels on; the other pump continues
      return;
    }
    if (n < 0) break;
    std::size_t done = 0;
    const auto len = static_cast<std::size_t>(n);
    while (done < len) {
      std::size_t cut = plan.next_after(offset);
      std::size_t take = cut == SplitPlan::kNone ? len - done : std::min(len - done, cut - offset);
      if (!send_all(dst, buf.data() + done, take)) {
        ::shutdown(src, SHUT_RDWR);
        return;
      }
      done += take;
      offset += take;
      st.bytes += take;
      if (offset != cut) continue;
      ++st.splits;
      // Let the piece reach the peer on its own before anything follows it.
      auto until = Clock::now() + std::chrono::milliseconds(100);
      for (int outq = 1; outq > 0 && Clock::now() < until;) {
        if (::ioctl(dst, SIOCOUTQ, &outq) != 0) break;
        if (outq > 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      if (opt.pause_us) std::this_thread::sleep_for(std::chrono::microseconds(opt.pause_us));
    }
  }
  // Error, idle or stop: end both directions so the partner pump returns too.
  ::shutdown(src, SHUT_RDWR);
  ::shutdown(dst, SHUT_RDWR);
}

struct Connection {
  std::uint64_t id = 0;
  int client = -1;
  int server = -1;
  std::thread thread;
  std::atomic<bool> done{false};
};

void serve(Connection& c, const Options& opt, std::ostream& err, std::mutex& err_mu) {
  bool split_up = opt.direction != Direction::down;
  bool split_down = opt.direction != Direction::up;
  Options plain = opt;
  plain.mode = SplitMode::list;
  plain.offsets.clear();
  Stats up, down;
  std::thread up_thread([&] { pump(c.client, c.server, SplitPlan(split_up ? opt : plain, c.id, 0), opt, up); });
  pump(c.server, c.client, SplitPlan(split_down ? opt : plain, c.id, 1), opt, down);
  up_thread.join();
  ::close(c.client);
  ::close(c.server);
  if (opt.verbose) {
    std::lock_guard<std::mutex> lk(err_mu);
    err << "splitproxy: connection " << c.id << ": up " << up.bytes << " B in " << up.splits + 1 << " pieces, down "
        << down.bytes << " B in " << down.splits + 1 << " pieces\n"
        << std::flush;
  }
  c.done.store(true);
}

int open_upstream(const std::vector<Resolved>& to) {
  for (const auto& r : to) {
    int fd = ::socket(r.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&r.addr), r.len) == 0) return fd;
    ::close(fd);
  }
  return -1;
}

}  // namespace

void parse_split(const std::string& spec, Options& opt) {
  if (spec == "every") {
    opt.mode = SplitMode::every;
  } else if (spec == "random") {
    opt.mode = SplitMode::random;
  } else if (spec == "dribble") {
    opt.mode = SplitMode::dribble;
  } else {
    opt.mode = SplitMode::list;
    opt.offsets.clear();
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
      char* end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || errno != 0 || v == 0 || item.front() == '-')
        throw std::invalid_argument("--split: '" + item +
                                    "' is not a positive byte offset (expected every, random, "
                                    "dribble or N,M,...)");
      opt.offsets.push_back(static_cast<std::size_t>(v));
    }
    if (opt.offsets.empty()) throw std::invalid_argument("--split: empty offset list");
    std::sort(opt.offsets.begin(), opt.offsets.end());
    opt.offsets.erase(std::unique(opt.offsets.begin(), opt.offsets.end()), opt.offsets.end());
  }
}

void parse_endpoint(const std::string& spec, std::string& host, std::uint16_t& port, bool port_only_ok) {
  std::string port_text;
  if (!spec.empty() && spec.front() == '[') {
    auto close = spec.find("]:");
    if (close == std::string::npos) throw std::invalid_argument("'" + spec + "': expected [V6ADDR]:PORT");
    host = spec.substr(1, close - 1);
    port_text = spec.substr(close + 2);
  } else if (auto colon = spec.rfind(':'); colon != std::string::npos) {
    host = spec.substr(0, colon);
    port_text = spec.substr(colon + 1);
  } else if (port_only_ok) {
    port_text = spec;
  } else {
    throw std::invalid_argument("'" + spec + "': expected HOST:PORT");
  }
  char* end = nullptr;
  unsigned long v = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || v > 65535)
    throw std::invalid_argument("'" + spec + "': '" + port_text + "' is not a port");
  port = static_cast<std::uint16_t>(v);
}

SplitPlan::SplitPlan(const Options& opt, std::uint64_t connection, int direction)
    : opt_(opt), rng_(opt.seed * 0x9E3779B97F4A7C15ull + connection * 2 + static_cast<std::uint64_t>(direction)) {
  if (opt.mode == SplitMode::every)
    every_at_ = static_cast<std::size_t>((connection - 1) % std::max<std::size_t>(opt.every_max, 1)) + 1;
}

std::size_t SplitPlan::next_after(std::size_t pos) {
  switch (opt_.mode) {
    case SplitMode::every:
      return pos < every_at_ ? every_at_ : kNone;
    case SplitMode::list: {
      auto it = std::upper_bound(opt_.offsets.begin(), opt_.offsets.end(), pos);
      return it == opt_.offsets.end() ? kNone : *it;
    }
    case SplitMode::dribble:
      return pos < opt_.dribble_bytes ? pos + 1 : kNone;
    case SplitMode::random: {
      std::uniform_int_distribution<std::size_t> gap(1, std::max<std::size_t>(opt_.max_gap, 1));
      while (random_at_ <= pos) random_at_ += gap(rng_);
      return random_at_;
    }
  }
  return kNone;
}

int run(const Options& opt, std::ostream& err) {
  std::vector<Resolved> listen_at, to;
  try {
    listen_at = resolve_loopback(opt.listen_host, opt.listen_port, "--listen");
    to = resolve_loopback(opt.to_host, opt.to_port, "--to");
  } catch (const std::invalid_argument& e) {
    err << "splitproxy: " << e.what() << "\n";
    return 2;
  }
  const Resolved& la = listen_at.front();
  int lfd = ::socket(la.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (lfd >= 0) ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<const sockaddr*>(&la.addr), la.len) != 0 || ::listen(lfd, 128) != 0) {
    err << "splitproxy: cannot listen on " << describe(reinterpret_cast<const sockaddr*>(&la.addr)) << ": "
        << std::strerror(errno) << "\n";
    if (lfd >= 0) ::close(lfd);
    return 1;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &blen);

  g_stop.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  const char* dir = opt.direction == Direction::both ? "both directions"
                    : opt.direction == Direction::up ? "client-to-server only"
                                                     : "server-to-client only";
  std::printf("splitproxy: listening on %s, relaying to %s, split %s, %s\n",
              describe(reinterpret_cast<const sockaddr*>(&bound)).c_str(),
              describe(reinterpret_cast<const sockaddr*>(&to.front().addr)).c_str(), mode_text(opt).c_str(), dir);
  std::fflush(stdout);

  std::mutex err_mu;
  std::list<std::unique_ptr<Connection>> conns;
  auto reap = [&](bool all) {
    for (auto it = conns.begin(); it != conns.end();) {
      if (all || (*it)->done.load()) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  };
  const auto start = Clock::now();
  std::uint64_t accepted = 0;
  auto expired = [&] {
    return opt.exit_after_s > 0 && std::chrono::duration<double>(Clock::now() - start).count() > opt.exit_after_s;
  };
  while (!g_stop.load() && !expired() && (opt.max_connections == 0 || accepted < opt.max_connections)) {
    reap(false);
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    ++accepted;
    int sfd = open_upstream(to);
    if (sfd < 0) {
      std::lock_guard<std::mutex> lk(err_mu);
      err << "splitproxy: connection " << accepted << ": cannot connect to " << opt.to_host << ":" << opt.to_port
          << ": " << std::strerror(errno) << "\n";
      ::close(cfd);
      continue;
    }
    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    c->id = accepted;
    c->client = cfd;
    c->server = sfd;
    Connection* raw = c.get();
    c->thread = std::thread([raw, &opt, &err, &err_mu] { serve(*raw, opt, err, err_mu); });
    conns.push_back(std::move(c));
  }
  ::close(lfd);
  // Let the open connections finish (bounded by the idle timeout), unless stopped.
  while (!conns.empty() && !g_stop.load() && !expired()) {
    reap(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  g_stop.store(true);
  reap(true);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  std::lock_guard<std::mutex> lk(err_mu);
  err << "splitproxy: stopped after " << accepted << " connection" << (accepted == 1 ? "" : "s") << "\n";
  return 0;
}

}  // namespace faultline::splitproxy
