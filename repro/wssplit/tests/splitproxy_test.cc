// Tests of splitproxy (repro/splitproxy/splitproxy.h): argument parsing, the
// loopback-only rule, the split plans, and — over loopback — that the proxy
// delivers the bytes unchanged in exactly the pieces asked for.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "repro/splitproxy/splitproxy.h"

namespace sp = faultline::splitproxy;

namespace {

std::vector<std::size_t> plan_prefix(const sp::Options& o, std::uint64_t conn, std::size_t limit) {
  sp::SplitPlan plan(o, conn, 1);
  std::vector<std::size_t> out;
  for (std::size_t pos = 0; out.size() < 1000;) {
    std::size_t s = plan.next_after(pos);
    if (s == sp::SplitPlan::kNone || s > limit) break;
    out.push_back(s);
    pos = s;
  }
  return out;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST(SplitProxyArgs, ParsesSplitSpecs) {
  sp::Options o;
  sp::parse_split("30,5,17,5", o);
  EXPECT_EQ(o.mode, sp::SplitMode::list);
  EXPECT_EQ(o.offsets, (std::vector<std::size_t>{5, 17, 30}));
  sp::parse_split("dribble", o);
  EXPECT_EQ(o.mode, sp::SplitMode::dribble);
  EXPECT_THROW(sp::parse_split("5,,6", o), std::invalid_argument);
  EXPECT_THROW(sp::parse_split("0", o), std::invalid_argument);
  EXPECT_THROW(sp::parse_split("-3", o), std::invalid_argument);
  EXPECT_THROW(sp::parse_split("sometimes", o), std::invalid_argument);
}

TEST(SplitProxyArgs, ParsesEndpoints) {
  std::string host;
  std::uint16_t port = 0;
  sp::parse_endpoint("8080", host, port, true);
  EXPECT_EQ(port, 8080);
  sp::parse_endpoint("[::1]:9", host, port, false);
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9);
  EXPECT_THROW(sp::parse_endpoint("8080", host, port, false), std::invalid_argument);
  EXPECT_THROW(sp::parse_endpoint("127.0.0.1:99999", host, port, false), std::invalid_argument);
}

TEST(SplitProxyArgs, RefusesNonLoopbackTargets) {
  for (const char* to : {"10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"}) {
    sp::Options o;
    o.to_host = to;
    o.to_port = 80;
    std::ostringstream err;
    EXPECT_EQ(sp::run(o, err), 2) << to;
    EXPECT_NE(err.str().find("not a loopback address"), std::string::npos) << err.str();
  }
}

TEST(SplitProxyPlan, EveryCyclesOneOffsetPerConnection) {
  sp::Options o;
  o.mode = sp::SplitMode::every;
  o.every_max = 4;
  EXPECT_EQ(plan_prefix(o, 1, 100), (std::vector<std::size_t>{1}));
  EXPECT_EQ(plan_prefix(o, 3, 100), (std::vector<std::size_t>{3}));
  EXPECT_EQ(plan_prefix(o, 5, 100), (std::vector<std::size_t>{1}));
}

TEST(SplitProxyPlan, DribbleAndRandom) {
  sp::Options o;
  o.mode = sp::SplitMode::dribble;
  o.dribble_bytes = 5;
  EXPECT_EQ(plan_prefix(o, 1, 100), (std::vector<std::size_t>{1, 2, 3, 4, 5}));
  o.mode = sp::SplitMode::random;
  o.max_gap = 8;
  auto a = plan_prefix(o, 1, 200);
  EXPECT_EQ(a, plan_prefix(o, 1, 200));  // seeded
  ASSERT_FALSE(a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::size_t gap = a[i] - (i ? a[i - 1] : 0);
    EXPECT_GE(gap, 1u);
    EXPECT_LE(gap, 8u);
  }
}

TEST(SplitProxyLoopback, DeliversThePiecesAskedFor) {
  // Upstream: one write of 100 known bytes, then close.
  int up = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(up, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(up, 4), 0);
  ::getsockname(up, reinterpret_cast<sockaddr*>(&a), &len);
  std::string payload;
  for (int i = 0; i < 100; ++i) payload.push_back(static_cast<char>('A' + i % 26));
  std::thread server([&] {
    pollfd p{up, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    int c = ::accept(up, nullptr, nullptr);
    if (c < 0) return;
    ssize_t w = ::send(c, payload.data(), payload.size(), MSG_NOSIGNAL);
    (void)w;
    ::shutdown(c, SHUT_WR);
    char sink[64];
    while (::read(c, sink, sizeof sink) > 0) {
    }
    ::close(c);
  });

  sp::Options o;
  o.listen_port = free_port();
  o.to_host = "127.0.0.1";
  o.to_port = ntohs(a.sin_port);
  sp::parse_split("5,17", o);
  o.direction = sp::Direction::down;
  o.pause_us = 20000;  // generous: the client must read each piece on its own
  o.max_connections = 1;
  o.exit_after_s = 10;
  o.idle_timeout_s = 5;
  std::ostringstream err;
  int rc = -1;
  std::thread proxy([&] { rc = sp::run(o, err); });

  int c = -1;
  sockaddr_in pa = a;
  pa.sin_port = htons(o.listen_port);
  for (int tries = 0; tries < 200; ++tries) {
    c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<sockaddr*>(&pa), sizeof pa) == 0) break;
    ::close(c);
    c = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(c, 0) << "proxy never listened: " << err.str();
  std::string got;
  std::vector<std::size_t> reads;
  for (int i = 0; i < 200; ++i) {
    pollfd p{c, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[256];
    ssize_t n = ::read(c, buf, sizeof buf);
    if (n <= 0) break;
    reads.push_back(static_cast<std::size_t>(n));
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(c);
  proxy.join();
  server.join();
  ::close(up);
  EXPECT_EQ(rc, 0) << err.str();
  EXPECT_EQ(got, payload);
  ASSERT_GE(reads.size(), 3u);
  EXPECT_EQ(reads[0], 5u);
  EXPECT_EQ(reads[1], 12u);
}
