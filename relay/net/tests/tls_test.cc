// TLS client over loopback on every backend: wss:// echo both ways (with a
// reader and a writer task sharing the session), records and the 101
// response cut into tiny pieces, untrusted CA, name mismatch, https://
// http_get with a chunked body, a peer closing or stalling mid-handshake.
// Servers are plaintext loopback servers behind a TlsTerminator using a PKI
// generated at test time (tls_test_support.h).
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "relay/net/http_client.h"
#include "relay/net/http_response.h"
#include "relay/net/tls.h"
#include "relay/net/websocket_conn.h"
#include "tests/test_util.h"
#include "tests/tls_test_support.h"

namespace faultline::relay::net {
namespace {

using namespace faultline::relay::net::testing;

// One process-wide PKI: key generation is the slow part of these tests.
const TestPki& pki() {
  static const TestPki* p = new TestPki();
  return *p;
}

// A plaintext WebSocket echo server that greets each client first, so both
// directions start with a message of their own.
class EchoServer {
 public:
  EchoServer(io::Io& io, int connections = 1)
      : raw_(io, connections, [&io](io::Socket& s) {
          std::string leftover;
          auto head = read_request_head(io, s, leftover);
          if (!head) return;
          auto ws = WebSocket::accept(io, std::move(s), *head, std::move(leftover));
          if (!ws) return;
          if (!ws.value.send_text("hello from the server")) return;
          for (int i = 0; i < 100000; ++i) {
            auto m = ws.value.recv(kWait);
            if (!m || m.value.opcode == Opcode::close) return;
            if (m.value.opcode == Opcode::text)
              ws.value.send_text(m.value.payload);
            else
              ws.value.send_binary(m.value.payload);
          }
        }) {}
  std::uint16_t port() const { return raw_.port(); }

 private:
  RawServer raw_;
};

Url wss(std::uint16_t port, const std::string& host = "127.0.0.1") {
  return *parse_url("wss://" + host + ":" + std::to_string(port) + "/xrpc/com.atproto.sync.subscribeRepos");
}

ConnectOptions trusting_test_ca() {
  ConnectOptions o;
  o.tls_ca_file = pki().ca_file();
  o.connect_timeout = kWait;
  o.handshake_timeout = kWait;
  return o;
}

// Connects, checks the greeting, echoes `sizes`, closes cleanly.
void echo_round_trip(io::Io& io, const Url& url, const std::vector<std::size_t>& sizes) {
  auto c = WebSocket::connect(io, url, trusting_test_ca());
  ASSERT_TRUE(c) << c.message();
  WebSocket& ws = c.value;
  auto hello = ws.recv(kWait);
  ASSERT_TRUE(hello) << hello.message();
  EXPECT_EQ(hello.value.payload, "hello from the server");
  for (unsigned i = 0; i < sizes.size(); ++i) {
    const std::string payload = pattern(sizes[i], i);
    auto s = ws.send_binary(payload);
    ASSERT_TRUE(s) << s.message();
    auto m = ws.recv(kWait);
    ASSERT_TRUE(m) << i << ": " << m.message();
    ASSERT_EQ(m.value.payload, payload) << "message " << i << " of " << sizes[i] << " bytes";
  }
  auto closed = ws.close(close_code::normal, "done");
  EXPECT_TRUE(closed) << closed.message();
  EXPECT_EQ(closed.value, close_code::normal);
}

using TlsTest = BackendTest;

TEST_P(TlsTest, WssEchoesBothWays) {
  EchoServer server(*io);
  TlsTerminator tls(*io, pki().leaf(), server.port());
  io->block_on([&] {
    // Across the session's 64 KiB write slices and the 16 KiB TLS records.
    echo_round_trip(*io, wss(tls.port()), {0, 1, 125, 126, 1000, 16384, 16385, 65536, 65537, 300000, 7});
  });
  EXPECT_EQ(tls.handshakes(), 1);
}

TEST_P(TlsTest, WssByNameSendsSniAndVerifiesTheName) {
  EchoServer server(*io);
  TlsTerminator tls(*io, pki().leaf(), server.port());
  io->block_on([&] { echo_round_trip(*io, wss(tls.port(), "localhost"), {1, 2000}); });
}

// The relay's pattern: one task reads while another writes, over one TLS
// session (OpenSSL's state is shared by both directions).
TEST_P(TlsTest, ReaderAndWriterTasksShareOneSession) {
  constexpr int kMessages = 300;
  EchoServer server(*io);
  TlsTerminator tls(*io, pki().leaf(), server.port());
  io->block_on([&] {
    auto c = WebSocket::connect(*io, wss(tls.port()), trusting_test_ca());
    ASSERT_TRUE(c) << c.message();
    WebSocket& ws = c.value;
    ASSERT_TRUE(ws.recv(kWait));  // the greeting
    std::atomic<int> sent{0};
    auto writer = io->spawn([&] {
      for (int i = 0; i < kMessages; ++i) {
        if (!ws.send_binary(pattern(1 + (i * 977) % 40000, static_cast<unsigned>(i)))) return;
        sent.fetch_add(1);
        if (i % 50 == 0) ws.ping("p");
      }
    });
    int got = 0;
    for (; got < kMessages; ++got) {
      auto m = ws.recv(kWait);
      ASSERT_TRUE(m) << got << ": " << m.message();
      ASSERT_EQ(m.value.payload, pattern(1 + (got * 977) % 40000, static_cast<unsigned>(got))) << got;
    }
    writer.join();
    EXPECT_EQ(sent.load(), kMessages);
    EXPECT_TRUE(ws.close(close_code::normal));
  });
}

// Every TLS record carries one byte of the plaintext (so the 101 response
// reaches the handshake reader one byte at a time: every CRLF split in the
// middle), and the ciphertext crosses TCP in pieces of 1..13 bytes both ways.
TEST_P(TlsTest, TinyRecordsAndSplitCiphertextStillWork) {
  EchoServer server(*io);
  TlsTerminator tls(*io, pki().leaf(), server.port(), /*plain_piece=*/1);
  Chopper chop(*io, tls.port(), 13);
  io->block_on([&] { echo_round_trip(*io, wss(chop.port()), {1, 2, 125, 126, 700}); });
  EXPECT_EQ(tls.handshakes(), 1);
}

TEST_P(TlsTest, UntrustedCaIsRejectedWithTheReason) {
  EchoServer server(*io);
  TlsTerminator untrusted(*io, pki().untrusted_leaf(), server.port());
  TlsTerminator trusted(*io, pki().leaf(), server.port());
  io->block_on([&] {
    auto c = WebSocket::connect(*io, wss(untrusted.port()), trusting_test_ca());
    EXPECT_EQ(c.error, EPROTO) << c.message();
    EXPECT_NE(c.detail.find("certificate verify failed: unable to get local issuer certificate"), std::string::npos)
        << c.detail;
    // The test CA is not in the system store: without --tls-ca-file the
    // proper leaf is refused too.
    ConnectOptions system_only;
    system_only.connect_timeout = kWait;
    auto d = WebSocket::connect(*io, wss(trusted.port()), system_only);
    EXPECT_EQ(d.error, EPROTO) << d.message();
    EXPECT_NE(d.detail.find("certificate verify failed"), std::string::npos) << d.detail;
  });
  EXPECT_EQ(untrusted.handshakes(), 0);
}

TEST_P(TlsTest, NameMismatchIsRejected) {
  EchoServer server(*io);
  TlsTerminator tls(*io, pki().other_name_leaf(), server.port());
  io->block_on([&] {
    auto ip = WebSocket::connect(*io, wss(tls.port()), trusting_test_ca());
    EXPECT_EQ(ip.error, EPROTO) << ip.message();
    EXPECT_NE(ip.detail.find("IP address mismatch"), std::string::npos) << ip.detail;
    auto name = WebSocket::connect(*io, wss(tls.port(), "localhost"), trusting_test_ca());
    EXPECT_EQ(name.error, EPROTO) << name.message();
    EXPECT_NE(name.detail.find("hostname mismatch"), std::string::npos) << name.detail;
  });
}

TEST_P(TlsTest, BadCaFileIsAnError) {
  io->block_on([&] {
    ConnectOptions o;
    o.tls_ca_file = "/nonexistent/faultline-ca.pem";
    auto c = WebSocket::connect(*io, wss(1), o);
    EXPECT_EQ(c.error, EINVAL) << c.message();
    EXPECT_NE(c.detail.find("/nonexistent/faultline-ca.pem"), std::string::npos) << c.detail;
  });
}

// https:// http_get of a chunked body, directly and with the ciphertext cut
// into pieces.
TEST_P(TlsTest, HttpsGetReadsAChunkedBody) {
  const std::string body = pattern(50'000, 3);
  RawServer server(*io, 2, [&](io::Socket& s) {
    std::string leftover;
    auto head = read_request_head(*io, s, leftover);
    if (!head || head->target != "/xrpc/com.atproto.sync.listHosts?limit=10") return;
    std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t off = 0; off < body.size(); off += 7000) {
      std::size_t n = std::min<std::size_t>(7000, body.size() - off);
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", n);
      resp += size + body.substr(off, n) + "\r\n";
    }
    resp += "0\r\n\r\n";
    io->send_all(s, resp, kWait);
    io->shutdown(s, SHUT_WR);
    read_until(
        *io, s, [](const std::string&) { return false; }, 2s);
  });
  TlsTerminator tls(*io, pki().leaf(), server.port(), /*plain_piece=*/3000);
  Chopper chop(*io, tls.port(), 512);
  io->block_on([&] {
    HttpGetOptions o;
    o.tls_ca_file = pki().ca_file();
    for (std::uint16_t port : {tls.port(), chop.port()}) {
      auto r = http_get(
          *io, *parse_url("https://127.0.0.1:" + std::to_string(port) + "/xrpc/com.atproto.sync.listHosts?limit=10"),
          kWait, o);
      ASSERT_TRUE(r) << port << ": " << r.message();
      EXPECT_EQ(r.value.status, 200);
      EXPECT_EQ(r.value.content_type, "application/json");
      EXPECT_EQ(r.value.body, body);
    }
    // And without the CA: refused, with the reason.
    auto refused =
        http_get(*io, *parse_url("https://127.0.0.1:" + std::to_string(tls.port()) + "/"), kWait, HttpGetOptions{});
    EXPECT_EQ(refused.error, EPROTO) << refused.message();
    EXPECT_NE(refused.detail.find("certificate verify failed"), std::string::npos) << refused.detail;
  });
}

// A peer that closes after the ClientHello gives an error at once; one that
// never answers gives ETIMEDOUT at the deadline — never a hang.
TEST_P(TlsTest, PeerClosingOrStallingMidHandshakeIsAnError) {
  RawServer closer(*io, 2, [&](io::Socket& s) {
    std::vector<std::byte> buf(64);
    io->recv(s, buf, kWait);
    io->shutdown(s, SHUT_RDWR);
  });
  RawServer staller(*io, 2, [&](io::Socket& s) {
    read_until(
        *io, s, [](const std::string&) { return false; }, 3s);
  });
  io->block_on([&] {
    auto t0 = std::chrono::steady_clock::now();
    auto c = WebSocket::connect(*io, wss(closer.port()), trusting_test_ca());
    EXPECT_EQ(c.error, ECONNRESET) << c.message();
    EXPECT_NE(c.detail.find("TLS handshake"), std::string::npos) << c.detail;
    HttpGetOptions ho;
    ho.tls_ca_file = pki().ca_file();
    auto h = http_get(*io, *parse_url("https://127.0.0.1:" + std::to_string(closer.port()) + "/"), kWait, ho);
    EXPECT_EQ(h.error, ECONNRESET) << h.message();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);

    ConnectOptions o = trusting_test_ca();
    o.connect_timeout = 300ms;
    t0 = std::chrono::steady_clock::now();
    auto s = WebSocket::connect(*io, wss(staller.port()), o);
    EXPECT_EQ(s.error, ETIMEDOUT) << s.message();
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 250ms);
    EXPECT_LT(waited, 3s);
    auto hs = http_get(*io, *parse_url("https://127.0.0.1:" + std::to_string(staller.port()) + "/"), 300ms, ho);
    EXPECT_EQ(hs.error, ETIMEDOUT) << hs.message();
  });
}

// TlsSession directly: a close_notify reads as the end of the stream (0), a
// TCP close without one as ECONNRESET — a cut-off stream is never mistaken
// for a complete one.
TEST_P(TlsTest, SessionTellsCloseNotifyFromTruncation) {
  auto server_ctx = TlsContext::server(pki().leaf().chain_pem, pki().leaf().key_pem);
  ASSERT_TRUE(server_ctx) << server_ctx.message();
  std::atomic<int> served{0};
  RawServer server(*io, 2, [&](io::Socket& s) {
    auto t = TlsSession::accept(*io, s, server_ctx.value, kWait);
    if (!t) return;
    const bool polite = served.fetch_add(1) == 0;
    t.value->write_all(s, "partial", kWait);
    if (polite) t.value->close_notify(s, kWait);
    io->shutdown(s, SHUT_RDWR);
  });
  auto ctx = TlsContext::client(pki().ca_file());
  ASSERT_TRUE(ctx) << ctx.message();
  io->block_on([&] {
    for (bool polite : {true, false}) {
      io::Socket s = raw_connect(*io, server.port());
      auto t = TlsSession::connect(*io, s, ctx.value, "127.0.0.1", kWait);
      ASSERT_TRUE(t) << t.message();
      EXPECT_FALSE(t.value->protocol().empty());
      std::string got;
      std::vector<std::byte> buf(64);
      Result<std::size_t> r;
      for (int i = 0; i < 100; ++i) {
        r = t.value->read(s, buf, kWait);
        if (!r || r.value == 0) break;
        got.append(as_view(buf, r.value));
      }
      EXPECT_EQ(got, "partial");
      if (polite) {
        EXPECT_TRUE(r) << r.message();
        EXPECT_EQ(r.value, 0u);
      } else {
        EXPECT_EQ(r.error, ECONNRESET) << r.message();
        EXPECT_NE(r.detail.find("close_notify"), std::string::npos) << r.detail;
      }
    }
  });
  // One context per CA file for the whole process.
  EXPECT_EQ(TlsContext::client(pki().ca_file()).value.get(), ctx.value.get());
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsTest, ::testing::ValuesIn(all_backends()), config_name);

}  // namespace
}  // namespace faultline::relay::net
