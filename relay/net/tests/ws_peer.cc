// relay_net_ws_peer: the C++ side of relay.net.interop.ws (npm `ws` as the
// independent peer; see interop_ws_net.mjs).
//
//   relay_net_ws_peer server BACKEND          HttpServer on 127.0.0.1:0 with a
//       WebSocket echo route at /echo; prints "listening on 127.0.0.1:PORT",
//       serves until stdin closes (at most 90 s).
//   relay_net_ws_peer client BACKEND URL      our WebSocket client against a
//       ws server that sends a fragmented text (with a ping between the
//       fragments) and a 3,000,000-byte binary in 64 KiB fragments, then
//       echoes: we check both, send 4,900,000 bytes and 200 KiB of UTF-8 text,
//       ping, and close with 1000.
// BACKEND is threaded or evented. Exit 0 on success, 1 with the reason.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "relay/net/http_server.h"
#include "relay/net/websocket_conn.h"

namespace net = faultline::relay::net;
namespace io = faultline::io;
using namespace std::chrono_literals;

namespace {

constexpr io::Duration kWait = 30s;

std::string pattern(std::size_t n, unsigned mul, unsigned add) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * mul + add) & 0xff);
  return s;
}

std::string utf8_text(std::size_t at_least) {
  std::string s;
  while (s.size() < at_least) s += "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 ";
  return s;
}

int run_server(io::Io& io) {
  net::HttpServer server(io);
  server.route_websocket("/echo", [](net::WebSocket& ws, const net::Request&) {
    for (int i = 0; i < 100000; ++i) {
      auto m = ws.recv(kWait);
      if (!m || m.value.opcode == net::Opcode::close) return;
      auto s = m.value.opcode == net::Opcode::text ? ws.send_text(m.value.payload) : ws.send_binary(m.value.payload);
      if (!s) return;
    }
  });
  auto port = server.listen(io::Endpoint::loopback_v4(0));
  if (!port) {
    std::fprintf(stderr, "ws_peer: listen: %s\n", port.message().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", port.value);
  std::fflush(stdout);
  // Serve until the driver closes our stdin (bounded).
  auto deadline = std::chrono::steady_clock::now() + 90s;
  char c;
  while (std::chrono::steady_clock::now() < deadline && ::read(0, &c, 1) > 0) {
  }
  server.stop();
  return 0;
}

bool fail(const std::string& why) {
  std::fprintf(stderr, "ws_peer client: %s\n", why.c_str());
  return false;
}

bool run_client(io::Io& io, const std::string& url_text) {
  auto url = net::parse_url(url_text);
  if (!url) return fail("bad URL " + url_text);
  return io.block_on([&] {
    auto c = net::WebSocket::connect(io, *url);
    if (!c) return fail("connect: " + c.message());
    net::WebSocket& ws = c.value;
    auto m = ws.recv(kWait);
    if (!m || m.value.opcode != net::Opcode::text || m.value.payload != "hello, fragmented world")
      return fail("fragmented text: " + (m ? m.value.payload.substr(0, 80) : m.message()));
    m = ws.recv(kWait);
    if (!m || m.value.opcode != net::Opcode::binary || m.value.payload != pattern(3'000'000, 31, 7))
      return fail("fragmented 3 MB binary: " + (m ? std::to_string(m.value.payload.size()) + " bytes" : m.message()));
    const std::string big = pattern(4'900'000, 131, 5);
    if (auto s = ws.send_binary(big); !s) return fail("send 4.9 MB: " + s.message());
    m = ws.recv(kWait);
    if (!m || m.value.opcode != net::Opcode::binary || m.value.payload != big)
      return fail("echo of 4.9 MB: " + (m ? std::to_string(m.value.payload.size()) + " bytes" : m.message()));
    const std::string text = utf8_text(200 * 1024);
    if (auto s = ws.send_text(text); !s) return fail("send text: " + s.message());
    m = ws.recv(kWait);
    if (!m || m.value.opcode != net::Opcode::text || m.value.payload != text) return fail("echo of UTF-8 text");
    if (auto p = ws.ping("are you there"); !p) return fail("ping: " + p.message());
    ws.send_text("after ping");
    m = ws.recv(kWait);
    if (!m || m.value.payload != "after ping") return fail("echo after ping");
    if (ws.pongs_received() < 1) return fail("no pong for our ping");
    auto closed = ws.close(net::close_code::normal, "bye");
    if (!closed || closed.value != net::close_code::normal) return fail("close: " + closed.message());
    std::fprintf(stderr, "ws_peer client: all exchanges passed\n");
    return true;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s server BACKEND | client BACKEND URL\n", argv[0]);
    return 2;
  }
  auto backend = io::backend_from_string(argv[2]);
  if (!backend) {
    std::fprintf(stderr, "unknown backend %s\n", argv[2]);
    return 2;
  }
  io::Options o;
  o.backend = *backend;
  o.scheduler_threads = 2;
  auto io = io::Io::create(o);
  if (std::strcmp(argv[1], "server") == 0) return run_server(*io);
  if (std::strcmp(argv[1], "client") == 0 && argc >= 4) return run_client(*io, argv[3]) ? 0 : 1;
  std::fprintf(stderr, "usage: %s server BACKEND | client BACKEND URL\n", argv[0]);
  return 2;
}
