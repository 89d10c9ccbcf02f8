// HttpServer over loopback on every backend: routes, query parameters,
// keep-alive and pipelining, bodies, every error status with the XRPC error
// shape, WebSocket routes, stop(); and http_get against it and against raw
// servers (chunked, Content-Length, until-close, 1xx, bounds).
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relay/net/http_client.h"
#include "relay/net/http_server.h"
#include "tests/test_util.h"

namespace faultline::relay::net {
namespace {

using namespace faultline::relay::net::testing;

class HttpServerTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    HttpServer::Options o;
    o.max_body_bytes = 1000;
    o.max_head_bytes = 2048;
    server = std::make_unique<HttpServer>(*io, o);
    server->route("GET", "/xrpc/com.atproto.sync.listHosts", [](const Request& r) {
      nlohmann::json j;
      j["limit"] = std::string(r.param("limit").value_or("none"));
      j["cursor"] = std::string(r.param("cursor").value_or("none"));
      j["path"] = r.path;
      return Response::json(200, j.dump());
    });
    server->route("POST", "/echo", [](const Request& r) { return Response::text(200, r.body); });
    server->route("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("handler broke"); });
    server->route_websocket("/xrpc/com.atproto.sync.subscribeRepos", [this](WebSocket& ws, const Request& r) {
      ws.send_text(std::string(r.param("cursor").value_or("live")));
      for (int i = 0; i < 1000; ++i) {
        try {
          auto m = ws.recv(kWait);
          if (!m || m.value.opcode == Opcode::close) return;
          ws.send_binary(m.value.payload);
        } catch (const io::Cancelled&) {
          ++ws_cancelled;
          throw;
        }
      }
    });
    auto p = server->listen(io::Endpoint::loopback_v4(0));
    ASSERT_TRUE(p) << p.message();
    port = p.value;
  }
  void TearDown() override {
    server.reset();
    BackendTest::TearDown();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }

  // Sends `request` on a fresh connection and reads one response.
  RawResponse exchange(const std::string& request) {
    return io->block_on([&] {
      io::Socket s = raw_connect(*io, port);
      io->send_all(s, request);
      std::string pending;
      return read_response(*io, s, pending);
    });
  }

  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
  std::atomic<int> ws_cancelled{0};
};

void expect_xrpc_error(const RawResponse& r, int status, std::string_view name) {
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.head.status, status);
  EXPECT_EQ(r.head.header("Content-Type"), "application/json");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j.value("error", ""), name) << r.body;
  EXPECT_FALSE(j.value("message", "").empty()) << r.body;
}

TEST_P(HttpServerTest, RoutesWithDecodedQueryParameters) {
  io->block_on([&] {
    auto r =
        http_get(*io, *parse_url(base() + "/xrpc/com.atproto.sync.listHosts?limit=5&cursor=did%3Aplc%3Aa+b"), kWait);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r.value.status, 200);
    EXPECT_EQ(r.value.content_type, "application/json");
    auto j = nlohmann::json::parse(r.value.body);
    EXPECT_EQ(j["limit"], "5");
    EXPECT_EQ(j["cursor"], "did:plc:a b");
    EXPECT_EQ(j["path"], "/xrpc/com.atproto.sync.listHosts");
  });
}

TEST_P(HttpServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  io->block_on([&] {
    io::Socket s = raw_connect(*io, port);
    std::string two =
        "GET /xrpc/com.atproto.sync.listHosts?limit=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n";
    ASSERT_TRUE(io->send_all(s, two));
    std::string pending;
    auto a = read_response(*io, s, pending);
    ASSERT_TRUE(a.ok);
    EXPECT_EQ(nlohmann::json::parse(a.body)["limit"], "1");
    auto b = read_response(*io, s, pending);
    ASSERT_TRUE(b.ok);
    EXPECT_EQ(b.body, "hello");
    auto c = read_response(*io, s, pending);
    expect_xrpc_error(c, 404, "NotFound");
    // Still open: one more request on the same connection, then close.
    ASSERT_TRUE(io->send_all(s, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
    auto d = read_response(*io, s, pending);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.body, "ok");
    EXPECT_EQ(d.head.header("Connection"), "close");
    EXPECT_EQ(read_until(*io, s, [](const std::string&) { return false; }), "") << "then the server closes";
  });
}

TEST_P(HttpServerTest, ExpectContinueGets100BeforeTheBody) {
  io->block_on([&] {
    io::Socket s = raw_connect(*io, port);
    ASSERT_TRUE(io->send_all(s, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    std::string pending;
    auto interim = read_response(*io, s, pending);
    ASSERT_TRUE(interim.ok);
    EXPECT_EQ(interim.head.status, 100);
    ASSERT_TRUE(io->send_all(s, "body"));
    auto final_response = read_response(*io, s, pending);
    ASSERT_TRUE(final_response.ok);
    EXPECT_EQ(final_response.head.status, 200);
    EXPECT_EQ(final_response.body, "body");
  });
}

TEST_P(HttpServerTest, ChunkedRequestBody) {
  auto r = exchange(
      "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.body, "abcdefg");
}

TEST_P(HttpServerTest, ErrorsHaveTheXrpcShape) {
  expect_xrpc_error(exchange("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"), 404, "NotFound");
  auto m = exchange("DELETE /echo HTTP/1.1\r\nHost: h\r\n\r\n");
  expect_xrpc_error(m, 405, "MethodNotAllowed");
  EXPECT_EQ(m.head.header("Allow"), "POST");
  expect_xrpc_error(exchange("GET / HTTP/1.1\nHost: h\n\n"), 400, "InvalidRequest");
  expect_xrpc_error(exchange("GET /xrpc/com.atproto.sync.listHosts?x=%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
                    "InvalidRequest");
  expect_xrpc_error(exchange("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n"), 413, "PayloadTooLarge");
  expect_xrpc_error(
      exchange("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3E9\r\n" + std::string(1001, 'a')),
      413, "PayloadTooLarge");
  expect_xrpc_error(exchange("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(3000, 'a') + "\r\n\r\n"), 431,
                    "RequestHeaderFieldsTooLarge");
  expect_xrpc_error(exchange("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505, "HTTPVersionNotSupported");
  expect_xrpc_error(exchange("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), 501,
                    "NotImplemented");
  auto t = exchange("GET /throw HTTP/1.1\r\nHost: h\r\n\r\n");
  expect_xrpc_error(t, 500, "InternalServerError");
  EXPECT_NE(t.body.find("handler broke"), std::string::npos);
  EXPECT_EQ(server->handler_errors(), 1u);
  // A plain GET on a WebSocket route asks for the upgrade.
  expect_xrpc_error(exchange("GET /xrpc/com.atproto.sync.subscribeRepos HTTP/1.1\r\nHost: h\r\n\r\n"), 426,
                    "UpgradeRequired");
}

TEST_P(HttpServerTest, HeadRequestGetsTheHeadOnly) {
  io->block_on([&] {
    io::Socket s = raw_connect(*io, port);
    ASSERT_TRUE(
        io->send_all(s, "HEAD /xrpc/com.atproto.sync.listHosts HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    std::string all = read_until(*io, s, [](const std::string&) { return false; });
    ResponseHeadReader r;
    ASSERT_EQ(r.feed(all), HeadStatus::done);
    EXPECT_EQ(r.head().status, 200);
    EXPECT_GT(r.head().content_length.value_or(0), 0u);
    EXPECT_EQ(r.take_leftover(), "");
  });
}

TEST_P(HttpServerTest, WebSocketRouteSeesTheQueryAndEchoes) {
  io->block_on([&] {
    auto c = WebSocket::connect(
        *io, *parse_url("ws://127.0.0.1:" + std::to_string(port) + "/xrpc/com.atproto.sync.subscribeRepos?cursor=7"));
    ASSERT_TRUE(c) << c.message();
    auto m = c.value.recv(kWait);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m.value.payload, "7");
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(c.value.send_binary("frame-" + std::to_string(i)));
      m = c.value.recv(kWait);
      ASSERT_TRUE(m) << m.message();
      EXPECT_EQ(m.value.payload, "frame-" + std::to_string(i));
    }
    EXPECT_EQ(c.value.close().value, close_code::normal);
  });
}

// Bounded wait for a condition another task brings about (not a timing assertion).
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 1000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

TEST_P(HttpServerTest, CountsConnectionsAndStopCancelsThem) {
  io::TaskHandle clients = io->spawn([&] {
    std::vector<io::Socket> idle;
    for (int i = 0; i < 3; ++i) idle.push_back(raw_connect(*io, port));
    auto ws = WebSocket::connect(
        *io, *parse_url("ws://127.0.0.1:" + std::to_string(port) + "/xrpc/com.atproto.sync.subscribeRepos"));
    EXPECT_TRUE(ws) << ws.message();
    if (ws) ws.value.recv(kWait);  // the greeting; then the handler waits in recv()
    // Hold everything open until the server goes away.
    if (ws) ws.value.recv(kWait);
  });
  ASSERT_TRUE(eventually([&] { return server->open_connections() == 4; })) << server->open_connections();
  EXPECT_EQ(server->connections_accepted(), 4u);
  server->stop();
  EXPECT_EQ(server->open_connections(), 0u);
  EXPECT_EQ(ws_cancelled.load(), 1) << "the WebSocket handler was cancelled inside recv()";
  clients.join();
  server->stop();  // idempotent
}

// ---- http_get against raw servers ----

using HttpGetTest = BackendTest;

// Serves one connection: reads the request head, then writes `pieces` with a
// short pause between them, then closes.
RawServer serve_pieces(io::Io& io, std::vector<std::string> pieces) {
  return RawServer(io, 1, [&io, pieces](io::Socket& s) {
    std::string leftover;
    if (!read_request_head(io, s, leftover)) return;
    for (const auto& p : pieces) {
      io.send_all(s, p);
      io.sleep_for(1ms);
    }
  });
}

TEST_P(HttpGetTest, ChunkedBodySplitAnywhere) {
  std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "7\r\n{\"hosts\r\n"
      "A;ext\r\n\":[],\"x\":1\r\n"
      "1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (std::size_t cut : {std::size_t{5}, std::size_t{30}, std::size_t{101}, std::size_t{130}, wire.size() - 1}) {
    auto server = serve_pieces(*io, {wire.substr(0, cut), wire.substr(cut)});
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/x"), kWait);
      ASSERT_TRUE(r) << cut << ": " << r.message();
      EXPECT_EQ(r.value.status, 200);
      EXPECT_EQ(r.value.body, "{\"hosts\":[],\"x\":1}") << cut;
    });
  }
}

TEST_P(HttpGetTest, ContentLengthUntilCloseAndErrors) {
  {
    auto server = serve_pieces(*io, {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", "lo"});
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), kWait);
      ASSERT_TRUE(r) << r.message();
      EXPECT_EQ(r.value.body, "hello");
    });
  }
  {
    auto server = serve_pieces(*io, {"HTTP/1.0 200 OK\r\n\r\nuntil", " close"});
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), kWait);
      ASSERT_TRUE(r) << r.message();
      EXPECT_EQ(r.value.body, "until close");
    });
  }
  {
    auto server = serve_pieces(*io, {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"});
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), kWait);
      EXPECT_EQ(r.error, ECONNRESET) << r.message();
    });
  }
  {
    auto server = serve_pieces(*io, {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"});
    io->block_on([&] {
      HttpGetOptions o;
      o.max_body_bytes = 99;
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), kWait, o);
      EXPECT_EQ(r.error, EMSGSIZE) << r.message();
    });
  }
  {
    auto server = serve_pieces(*io, {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"});
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), kWait);
      EXPECT_EQ(r.error, EPROTO) << r.message();
    });
  }
  {
    // Nothing comes back: the overall timeout.
    RawServer server(*io, 1, [&](io::Socket& s) { read_until(*io, s, [](const std::string&) { return false; }); });
    io->block_on([&] {
      auto r = http_get(*io, *parse_url("http://127.0.0.1:" + std::to_string(server.port())), 50ms);
      EXPECT_EQ(r.error, ETIMEDOUT) << r.message();
    });
  }
  io->block_on([&] {
    // https:// dials too (tls_test.cc covers TLS itself); nothing listens on port 1.
    EXPECT_EQ(http_get(*io, *parse_url("https://127.0.0.1:1/"), kWait).error, ECONNREFUSED);
    EXPECT_EQ(http_get(*io, *parse_url("ws://127.0.0.1:1/"), kWait).error, EINVAL);
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpServerTest, ::testing::ValuesIn(all_backends()), config_name);
INSTANTIATE_TEST_SUITE_P(Backends, HttpGetTest, ::testing::ValuesIn(all_backends()), config_name);

}  // namespace
}  // namespace faultline::relay::net
