// WebSocket client <-> server over loopback on every backend: echo of many
// messages both ways, a reader task and a writer task on each side, ping/pong,
// both close handshakes, refused upgrades, permessage-deflate declined,
// protocol errors on the wire, a split 101 response, the buggy reader.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "relay/net/http_response.h"
#include "relay/net/websocket_conn.h"
#include "repro/wssplit/handshake_reader.h"
#include "tests/test_util.h"

namespace faultline::relay::net {
namespace {

using namespace faultline::relay::net::testing;

std::string ascii(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i + seed) % 26);
  return s;
}

// Accepts `connections` WebSockets one after the other and runs `handler` on each.
class WsServer {
 public:
  WsServer(io::Io& io, std::function<void(WebSocket&)> handler, int connections = 1, AcceptOptions options = {})
      : raw_(io, connections, [&io, handler = std::move(handler), options](io::Socket& s) {
          std::string leftover;
          auto head = read_request_head(io, s, leftover);
          if (!head) return;
          auto ws = WebSocket::accept(io, std::move(s), *head, std::move(leftover), options);
          if (!ws) return;
          handler(ws.value);
        }) {}
  std::uint16_t port() const { return raw_.port(); }
  Url url(std::string path = "/") const { return *parse_url("ws://127.0.0.1:" + std::to_string(port()) + path); }
  void join() { raw_.join(); }

 private:
  RawServer raw_;
};

// The server's 101 answer to a valid upgrade request, for the raw servers
// that then write frames by hand.
std::string switching_protocols(const RequestHead& request) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
         wssplit::compute_accept(*request.header("Sec-WebSocket-Key")) + "\r\n\r\n";
}

// Echoes every data message until the peer closes or the connection fails.
void echo(WebSocket& ws) {
  for (int i = 0; i < 100000; ++i) {
    auto m = ws.recv(kWait);
    if (!m || m.value.opcode == Opcode::close) return;
    if (m.value.opcode == Opcode::text)
      ws.send_text(m.value.payload);
    else
      ws.send_binary(m.value.payload);
  }
}

using WebSocketTest = BackendTest;

TEST_P(WebSocketTest, EchoesManyMessagesOfEverySizeBothWays) {
  WsServer server(*io, echo);
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    EXPECT_EQ(ws.role(), Role::client);
    EXPECT_TRUE(ws.is_open());
    const std::size_t sizes[] = {0, 1, 125, 126, 1000, 65535, 65536, 300000};
    for (unsigned i = 0; i < 200; ++i) {
      const std::size_t n = sizes[i % std::size(sizes)];
      const bool text = i % 3 == 0;
      const std::string payload = text ? ascii(n, i) : pattern(n, i);
      auto s = text ? ws.send_text(payload) : ws.send_binary(payload);
      ASSERT_TRUE(s) << s.message();
      auto m = ws.recv(kWait);
      ASSERT_TRUE(m) << i << ": " << m.message();
      EXPECT_EQ(m.value.opcode, text ? Opcode::text : Opcode::binary);
      ASSERT_EQ(m.value.payload, payload) << "message " << i;
    }
    auto closed = ws.close(close_code::normal, "done");
    EXPECT_TRUE(closed) << closed.message();
    EXPECT_EQ(closed.value, close_code::normal);
    EXPECT_FALSE(ws.is_open());
    EXPECT_EQ(ws.recv(10ms).error, ENOTCONN);
  });
}

// The relay's consumer pattern: a reader task and a writer task per socket,
// on both ends at once.
TEST_P(WebSocketTest, ReaderAndWriterTasksShareOneSocketOnBothEnds) {
  constexpr int kMessages = 500;
  std::atomic<int> server_got{0};
  WsServer server(*io, [&](WebSocket& ws) {
    auto writer = io->spawn([&] {
      for (int i = 0; i < kMessages; ++i)
        if (!ws.send_binary("s-" + std::to_string(i) + pattern(static_cast<std::size_t>(i % 700), 3))) return;
    });
    for (int i = 0; i < kMessages; ++i) {
      auto m = ws.recv(kWait);
      if (!m) break;
      if (m.value.payload == "c-" + std::to_string(i)) ++server_got;
    }
    writer.join();
    auto m = ws.recv(kWait);  // the client's close
    EXPECT_TRUE(m && m.value.opcode == Opcode::close) << m.message();
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    std::atomic<int> client_got{0};
    auto reader = io->spawn([&] {
      for (int i = 0; i < kMessages; ++i) {
        auto m = ws.recv(kWait);
        if (!m) return;
        if (m.value.payload == "s-" + std::to_string(i) + pattern(static_cast<std::size_t>(i % 700), 3)) ++client_got;
      }
    });
    auto writer = io->spawn([&] {
      for (int i = 0; i < kMessages; ++i)
        if (!ws.send_text("c-" + std::to_string(i))) return;
    });
    writer.join();
    reader.join();
    EXPECT_EQ(client_got.load(), kMessages);
    EXPECT_EQ(ws.close().value, close_code::normal);
  });
  server.join();
  EXPECT_EQ(server_got.load(), kMessages);
}

TEST_P(WebSocketTest, PingsAreAnsweredInsideRecvOnBothSides) {
  std::atomic<std::uint64_t> server_pongs{99};
  WsServer server(*io, [&](WebSocket& ws) {
    for (int i = 0; i < 100; ++i) {
      auto m = ws.recv(kWait);
      if (!m || m.value.opcode == Opcode::close) return;
      if (m.value.payload == "ping-me") {
        ws.ping("s-ping");
        ws.send_text("pinged");
      } else if (m.value.payload == "report") {
        server_pongs = ws.pongs_received();
        ws.send_text("reported");
      } else {
        ws.send_text(m.value.payload);
      }
    }
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    // Client ping: the server's recv() answers it before echoing "after".
    ASSERT_TRUE(ws.ping("c-ping"));
    ASSERT_TRUE(ws.send_text("after"));
    auto m = ws.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, "after");
    EXPECT_EQ(ws.pongs_received(), 1u);
    // Server ping: our recv() answers it on the way to "pinged".
    ASSERT_TRUE(ws.send_text("ping-me"));
    m = ws.recv(kWait);
    ASSERT_TRUE(m);
    EXPECT_EQ(m.value.payload, "pinged");
    ASSERT_TRUE(ws.send_text("report"));
    m = ws.recv(kWait);
    ASSERT_TRUE(m);
    EXPECT_EQ(m.value.payload, "reported");
    EXPECT_EQ(ws.ping(std::string(126, 'x')).error, EINVAL);
    ws.close();
  });
  server.join();
  EXPECT_EQ(server_pongs.load(), 1u);
}

TEST_P(WebSocketTest, ClientInitiatedCloseHandshake) {
  std::atomic<int> seen_code{0};
  std::atomic<int> recv_after{0};
  std::string reason;
  WsServer server(*io, [&](WebSocket& ws) {
    auto m = ws.recv(kWait);
    if (m && m.value.opcode == Opcode::close) {
      seen_code = m.value.close_code();
      reason = std::string(m.value.close_reason());
    }
    recv_after = ws.recv(kWait).error;
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    auto r = c.value.close(4000, "bye");
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r.value, 4000) << "the server echoes the code";
    EXPECT_EQ(c.value.send_text("late").error, ENOTCONN);
    EXPECT_EQ(c.value.close().value, 4000) << "a second close() only reports";
  });
  server.join();
  EXPECT_EQ(seen_code.load(), 4000);
  EXPECT_EQ(reason, "bye");
  EXPECT_EQ(recv_after.load(), ENOTCONN);
}

TEST_P(WebSocketTest, ServerInitiatedCloseHandshake) {
  std::atomic<int> close_result{0};
  WsServer server(*io, [&](WebSocket& ws) {
    auto r = ws.close(close_code::going_away, "going away");
    close_result = r ? r.value : -r.error;
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    auto m = c.value.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.opcode, Opcode::close);
    EXPECT_EQ(m.value.close_code(), close_code::going_away);
    EXPECT_EQ(m.value.close_reason(), "going away");
    ASSERT_TRUE(c.value.peer_close());
    EXPECT_EQ(c.value.peer_close()->first, close_code::going_away);
    EXPECT_EQ(c.value.recv(kWait).error, ENOTCONN);
  });
  server.join();
  EXPECT_EQ(close_result.load(), close_code::going_away);
}

// close() from one task while another is blocked in recv(): the reader sees
// the peer's close frame and close() returns through the event.
TEST_P(WebSocketTest, CloseWhileAnotherTaskIsReading) {
  WsServer server(*io, echo);
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    std::atomic<int> reader_saw{0};
    auto reader = io->spawn([&] {
      for (int i = 0; i < 100; ++i) {
        auto m = ws.recv(kWait);
        if (!m) return;
        if (m.value.opcode == Opcode::close) {
          reader_saw = m.value.close_code();
          return;
        }
      }
    });
    // Wait (bounded) until the reader is parked inside recv(), so close()
    // must take the path that leaves reading to it.
    for (int i = 0; i < 5000 && !ws.in_recv(); ++i) io->sleep_for(1ms);
    ASSERT_TRUE(ws.in_recv());
    auto r = ws.close(close_code::normal, "");
    reader.join();
    EXPECT_TRUE(r) << r.message();
    EXPECT_EQ(reader_saw.load(), close_code::normal);
  });
}

TEST_P(WebSocketTest, DeclinesPermessageDeflateAndSpeaksUncompressed) {
  WsServer server(*io, echo);
  io->block_on([&] {
    io::Socket s = raw_connect(*io, server.port());
    wssplit::ClientRequest req;
    req.host = "127.0.0.1:" + std::to_string(server.port());
    req.key = wssplit::generate_key();
    req.extensions = {"permessage-deflate; client_max_window_bits"};
    ASSERT_TRUE(io->send_all(s, wssplit::write_request(req)));
    wssplit::HandshakeReader reader(req);
    std::string got = read_until(*io, s, [&](const std::string& g) {
      reader = wssplit::HandshakeReader(req);
      return reader.feed(g) != wssplit::HandshakeReader::Status::need_more;
    });
    ASSERT_EQ(reader.status(), wssplit::HandshakeReader::Status::done) << reader.error();
    EXPECT_FALSE(reader.header("Sec-WebSocket-Extensions")) << "permessage-deflate must be declined";
    ASSERT_TRUE(io->send_all(s, encode_frame(Opcode::text, "plain", true, MaskKey{1, 2, 3, 4})));
    FrameParser p(Role::client);
    p.feed(reader.take_leftover());
    Message m;
    std::string more = read_until(*io, s, [&](const std::string& g) {
      p.feed(g);
      return p.next(m) != FrameParser::Status::need_more;
    });
    EXPECT_FALSE(p.failed()) << p.error().reason << " (RSV1 would mean compression)";
    EXPECT_EQ(m, (Message{Opcode::text, "plain"}));
  });
}

TEST_P(WebSocketTest, RefusesInvalidUpgradesWith400Or426) {
  struct Case {
    std::string request;
    int status;
  };
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 8\r\n\r\n",
       426},
      {"GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 426},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
       "dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},  // decodes to 16 bytes only with non-zero padding bits
      {"POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"GET / HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
  };
  std::atomic<int> accepted{0};
  WsServer server(
      *io, [&](WebSocket&) { ++accepted; }, static_cast<int>(cases.size()));
  io->block_on([&] {
    for (const auto& c : cases) {
      io::Socket s = raw_connect(*io, server.port());
      ASSERT_TRUE(io->send_all(s, c.request));
      std::string pending;
      auto r = read_response(*io, s, pending);
      ASSERT_TRUE(r.ok) << c.request;
      EXPECT_EQ(r.head.status, c.status) << c.request << r.body;
      EXPECT_NE(r.body.find("\"error\""), std::string::npos);
      if (c.status == 426 && c.request.find("Version: 8") != std::string::npos) {
        EXPECT_EQ(r.head.header("Sec-WebSocket-Version"), "13");
      }
    }
  });
  server.join();
  EXPECT_EQ(accepted.load(), 0);
}

// The server fails the connection with 1002 on an unmasked client frame.
TEST_P(WebSocketTest, ProtocolErrorOnTheWireClosesWith1002) {
  std::atomic<int> server_error{0};
  std::atomic<int> server_code{0};
  WsServer server(*io, [&](WebSocket& ws) {
    auto m = ws.recv(kWait);
    server_error = m.error;
    if (auto e = ws.protocol_error()) server_code = e->code;
  });
  io->block_on([&] {
    io::Socket s = raw_connect(*io, server.port());
    wssplit::ClientRequest req;
    req.host = "h";
    req.key = wssplit::generate_key();
    ASSERT_TRUE(io->send_all(s, wssplit::write_request(req)));
    wssplit::HandshakeReader reader(req);
    read_until(*io, s, [&](const std::string& g) {
      reader = wssplit::HandshakeReader(req);
      return reader.feed(g) != wssplit::HandshakeReader::Status::need_more;
    });
    ASSERT_EQ(reader.status(), wssplit::HandshakeReader::Status::done) << reader.error();
    ASSERT_TRUE(io->send_all(s, encode_frame(Opcode::text, "unmasked")));
    FrameParser p(Role::client);
    p.feed(reader.take_leftover());
    Message m;
    read_until(*io, s, [&](const std::string& g) {
      p.feed(g);
      return p.next(m) != FrameParser::Status::need_more;
    });
    EXPECT_EQ(m.opcode, Opcode::close);
    EXPECT_EQ(m.close_code(), close_code::protocol_error);
    // Then the server shuts the connection down.
    EXPECT_EQ(read_until(*io, s, [](const std::string&) { return false; }), "");
  });
  server.join();
  EXPECT_EQ(server_error.load(), EPROTO);
  EXPECT_EQ(server_code.load(), close_code::protocol_error);
}

TEST_P(WebSocketTest, OversizedMessageClosesWith1009) {
  std::atomic<int> server_error{0};
  AcceptOptions small;
  small.max_message_bytes = 1000;
  WsServer server(
      *io, [&](WebSocket& ws) { server_error = ws.recv(kWait).error; }, 1, small);
  io->block_on([&] {
    auto c = WebSocket::connect(*io, server.url());
    ASSERT_TRUE(c) << c.message();
    ASSERT_TRUE(c.value.send_binary(pattern(2000, 1)));
    auto m = c.value.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.opcode, Opcode::close);
    EXPECT_EQ(m.value.close_code(), close_code::message_too_big);
  });
  server.join();
  EXPECT_EQ(server_error.load(), EMSGSIZE);
}

// The server's 101 response and first frame written in two pieces cut at
// every offset — including between each '\r' and its '\n' — over real TCP.
TEST_P(WebSocketTest, FixedReaderHandlesTheHandshakeSplitAtEveryOffset) {
  const std::string greeting_frame = encode_frame(Opcode::text, "greeting");
  const std::size_t total =
      switching_protocols(RequestHead{.headers = {{"Sec-WebSocket-Key", "x"}}}).size() + greeting_frame.size();
  std::atomic<int> cut{1};
  RawServer server(*io, static_cast<int>(total) - 1, [&](io::Socket& s) {
    std::string leftover;
    auto head = read_request_head(*io, s, leftover);
    if (!head) return;
    std::string wire = switching_protocols(*head) + greeting_frame;
    std::size_t at = static_cast<std::size_t>(cut.load());
    io->send_all(s, std::string_view(wire).substr(0, at));
    io->sleep_for(1ms);  // let the first piece arrive alone (not required for correctness)
    io->send_all(s, std::string_view(wire).substr(at));
    read_until(*io, s, [](const std::string&) { return false; });  // until the client hangs up
  });
  io->block_on([&] {
    Url url = *parse_url("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
    for (std::size_t k = 1; k < total; ++k) {
      cut = static_cast<int>(k);
      auto c = WebSocket::connect(*io, url);
      ASSERT_TRUE(c) << "cut at " << k << ": " << c.message();
      auto m = c.value.recv(kWait);
      ASSERT_TRUE(m) << "cut at " << k << ": " << m.message();
      ASSERT_EQ(m.value.payload, "greeting") << "cut at " << k;
    }
  });
}

TEST_P(WebSocketTest, RecvTimeoutLosesNothing) {
  auto go_on = io->make_event();
  const std::string frame = encode_frame(Opcode::binary, pattern(5000, 9));
  RawServer server(*io, 1, [&](io::Socket& s) {
    std::string leftover;
    auto head = read_request_head(*io, s, leftover);
    if (!head) return;
    io->send_all(s, switching_protocols(*head) + frame.substr(0, 2501));
    go_on->wait_for(kWait);
    io->send_all(s, std::string_view(frame).substr(2501));
    read_until(*io, s, [](const std::string&) { return false; });
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, *parse_url("ws://127.0.0.1:" + std::to_string(server.port())));
    ASSERT_TRUE(c) << c.message();
    auto before = c.value.last_activity();
    auto m = c.value.recv(50ms);
    EXPECT_EQ(m.error, ETIMEDOUT);
    go_on->set();
    m = c.value.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, pattern(5000, 9));
    EXPECT_GE(c.value.last_activity(), before);
  });
}

// try_recv() takes the messages the last read already brought, answering a
// ping among them, and never reads the socket itself: with only part of a
// message buffered it says EWOULDBLOCK, and recv() later completes it.
TEST_P(WebSocketTest, TryRecvTakesWhatIsBufferedWithoutReading) {
  auto go_on = io->make_event();
  const std::string fourth = encode_frame(Opcode::binary, pattern(3000, 4));
  std::atomic<int> first_byte_back{-1};
  RawServer server(*io, 1, [&](io::Socket& s) {
    std::string leftover;
    auto head = read_request_head(*io, s, leftover);
    if (!head) return;
    std::string burst = switching_protocols(*head);
    burst += encode_frame(Opcode::binary, pattern(100, 1)) + encode_frame(Opcode::binary, pattern(200, 2)) +
             encode_frame(Opcode::ping, "are you there") + encode_frame(Opcode::text, "third") + fourth.substr(0, 1000);
    io->send_all(s, burst);
    auto got = read_until(*io, s, [](const std::string& d) { return !d.empty(); });
    if (!got.empty()) first_byte_back = static_cast<unsigned char>(got[0]);
    go_on->wait_for(kWait);
    io->send_all(s, std::string_view(fourth).substr(1000));
    read_until(*io, s, [](const std::string&) { return false; });
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, *parse_url("ws://127.0.0.1:" + std::to_string(server.port())));
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    auto m = ws.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, pattern(100, 1));
    m = ws.try_recv();
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, pattern(200, 2));
    m = ws.try_recv();
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.opcode, Opcode::text);
    EXPECT_EQ(m.value.payload, "third");
    EXPECT_EQ(ws.try_recv().error, EWOULDBLOCK) << "only part of the fourth message is buffered";
    go_on->set();
    m = ws.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, pattern(3000, 4));
    ws.abort();
  });
  EXPECT_EQ(first_byte_back.load(), 0x8A) << "the ping among the buffered messages was answered with a pong";
}

TEST_P(WebSocketTest, BuggyReaderWorksWhenTheResponseIsNotSplit) {
  WsServer server(*io, echo);
  io->block_on([&] {
    ConnectOptions o;
    o.handshake_reader = HandshakeReaderKind::buggy;
    auto c = WebSocket::connect(*io, server.url("/xrpc/com.atproto.sync.subscribeRepos"), o);
    ASSERT_TRUE(c) << c.message();
    ASSERT_TRUE(c.value.send_binary(pattern(70000, 2)));
    auto m = c.value.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, pattern(70000, 2));
    EXPECT_EQ(c.value.close().value, close_code::normal);
  });
}

TEST_P(WebSocketTest, ConnectErrors) {
  io->block_on([&] {
    // A port nobody listens on: bind one, note it, close it.
    std::uint16_t dead_port;
    {
      auto l = io->listen(io::Endpoint::loopback_v4(0));
      dead_port = l.value.local_endpoint().port();
    }
    auto refused = WebSocket::connect(*io, *parse_url("ws://127.0.0.1:" + std::to_string(dead_port)));
    EXPECT_EQ(refused.error, ECONNREFUSED) << refused.message();
    // wss:// dials too (tls_test.cc covers TLS itself).
    EXPECT_EQ(WebSocket::connect(*io, *parse_url("wss://127.0.0.1:" + std::to_string(dead_port))).error, ECONNREFUSED);
    EXPECT_EQ(WebSocket::connect(*io, *parse_url("http://127.0.0.1:1/")).error, EINVAL);
    WebSocket none;
    EXPECT_EQ(none.recv(1ms).error, ENOTCONN);
    EXPECT_EQ(none.send_text("x").error, ENOTCONN);
  });
  // A server that answers the upgrade with a plain 404.
  RawServer server(*io, 1, [&](io::Socket& s) {
    std::string leftover;
    if (read_request_head(*io, s, leftover))
      io->send_all(s, write_response(404, "application/json", xrpc_error_body("NotFound", "nope")));
    read_until(*io, s, [](const std::string&) { return false; });
  });
  io->block_on([&] {
    auto c = WebSocket::connect(*io, *parse_url("ws://127.0.0.1:" + std::to_string(server.port())));
    EXPECT_EQ(c.error, EPROTO) << c.message();
    EXPECT_NE(c.detail.find("handshake"), std::string::npos) << c.detail;
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, WebSocketTest, ::testing::ValuesIn(all_backends()), config_name);

}  // namespace
}  // namespace faultline::relay::net
