// Helpers shared by relay/net's loopback tests: the backend parameter, raw
// socket clients and servers that write exactly the bytes a test chooses.
// Every wait is bounded (kWait); loopback only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/net/http_head.h"

namespace faultline::relay::net::testing {

using namespace std::chrono_literals;

inline constexpr io::Duration kWait = std::chrono::seconds(10);

struct Config {
  io::Backend backend;
  std::optional<io::ReactorKind> reactor;
  std::string name;
};

inline std::vector<Config> all_backends() {
  return {{io::Backend::threaded, std::nullopt, "threaded"},
          {io::Backend::evented, std::nullopt, "evented"},
          {io::Backend::evented, io::ReactorKind::epoll, "evented_epoll"}};
}

// gtest prints the parameter by its name.
inline void PrintTo(const Config& c, std::ostream* os) {
  *os << c.name;
}

inline std::string config_name(const ::testing::TestParamInfo<Config>& info) {
  return info.param.name;
}

class BackendTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    io::Options o;
    o.backend = GetParam().backend;
    o.scheduler_threads = 2;
    o.reactor = GetParam().reactor;
    io = io::Io::create(o);
  }
  void TearDown() override { io.reset(); }
  std::unique_ptr<io::Io> io;
};

// n bytes of a repeating pattern (every byte value occurs), distinct per seed.
inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

inline std::string_view as_view(const std::vector<std::byte>& b, std::size_t n) {
  return {reinterpret_cast<const char*>(b.data()), n};
}

// Reads until `done(bytes)` or EOF/error/timeout; returns what arrived.
inline std::string read_until(io::Io& io, io::Socket& s, const std::function<bool(const std::string&)>& done,
                              io::Duration timeout = kWait) {
  std::string got;
  std::vector<std::byte> buf(64 * 1024);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int reads = 0; reads < 100000 && !done(got); ++reads) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= io::Duration::zero()) break;
    auto r = io.recv(s, buf, std::chrono::duration_cast<io::Duration>(left));
    if (!r || r.value == 0) break;
    got.append(as_view(buf, r.value));
  }
  return got;
}

// One HTTP response (head + Content-Length body) from `pending` + the socket.
struct RawResponse {
  ResponseHead head;
  std::string body;
  bool ok = false;
};
inline RawResponse read_response(io::Io& io, io::Socket& s, std::string& pending) {
  RawResponse out;
  ResponseHeadReader r;
  r.feed(pending);
  pending.clear();
  std::vector<std::byte> buf(16 * 1024);
  auto deadline = std::chrono::steady_clock::now() + kWait;
  for (int reads = 0; reads < 10000 && r.status() == HeadStatus::need_more; ++reads) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= io::Duration::zero()) return out;
    auto n = io.recv(s, buf, std::chrono::duration_cast<io::Duration>(left));
    if (!n || n.value == 0) return out;
    r.feed(as_view(buf, n.value));
  }
  if (r.status() != HeadStatus::done) return out;
  out.head = r.take_head();
  pending = r.take_leftover();
  std::size_t want = out.head.content_length.value_or(0);
  for (int reads = 0; reads < 10000 && pending.size() < want; ++reads) {
    auto n = io.recv(s, buf, kWait);
    if (!n || n.value == 0) return out;
    pending.append(as_view(buf, n.value));
  }
  if (pending.size() < want) return out;
  out.body = pending.substr(0, want);
  pending.erase(0, want);
  out.ok = true;
  return out;
}

inline io::Socket raw_connect(io::Io& io, std::uint16_t port) {
  auto s = io.connect(io::Endpoint::loopback_v4(port), kWait);
  EXPECT_TRUE(s) << s.message();
  return std::move(s.value);
}

// A listener whose task hands each accepted connection to `serve`, one after
// the other, `connections` times. The destructor cancels and joins the task.
class RawServer {
 public:
  RawServer(io::Io& io, int connections, std::function<void(io::Socket&)> serve) : io_(io) {
    auto l = io.listen(io::Endpoint::loopback_v4(0));
    EXPECT_TRUE(l) << l.message();
    listener_ = std::move(l.value);
    port_ = listener_.local_endpoint().port();
    task_ = io.spawn(
        [this, connections, serve = std::move(serve)] {
          for (int i = 0; i < connections; ++i) {
            auto c = io_.accept(listener_, kWait);
            if (!c) return;
            serve(c.value);
          }
        },
        "raw-server");
  }
  ~RawServer() { stop(); }
  void stop() {
    if (task_.valid()) {
      task_.cancel();
      task_.join();
      task_ = io::TaskHandle();
    }
  }
  void join() {
    if (task_.valid()) {
      task_.join();
      task_ = io::TaskHandle();
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  io::Io& io_;
  io::Socket listener_;
  std::uint16_t port_ = 0;
  io::TaskHandle task_;
};

// Reads one request head from a raw connection (and what followed it).
inline std::optional<RequestHead> read_request_head(io::Io& io, io::Socket& s, std::string& leftover) {
  RequestHeadReader r;
  std::vector<std::byte> buf(4096);
  for (int reads = 0; reads < 10000 && r.status() == HeadStatus::need_more; ++reads) {
    auto n = io.recv(s, buf, kWait);
    if (!n || n.value == 0) return std::nullopt;
    r.feed(as_view(buf, n.value));
  }
  if (r.status() != HeadStatus::done) return std::nullopt;
  leftover = r.take_leftover();
  return r.take_head();
}

}  // namespace faultline::relay::net::testing
