// Unit tests of the client handshake (repro/wssplit/handshake_reader.h): the
// RFC 6455 accept computation, the request writer, header parsing and
// validation, leftover bytes, the head-size bound, and that the result never
// depends on how the response was segmented.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "repro/wssplit/handshake_reader.h"

namespace ws = faultline::wssplit;
using Status = ws::HandshakeReader::Status;

namespace {

constexpr const char* kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";

ws::ClientRequest sample_request() {
  ws::ClientRequest r;
  r.host = "127.0.0.1:9";
  r.key = kSampleKey;
  return r;
}

std::string head_with(const std::string& headers) {
  return "HTTP/1.1 101 Switching Protocols\r\n" + headers + "\r\n";
}

std::string good_head() {
  return head_with(
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
}

ws::HandshakeReader feed_all(const std::string& bytes, ws::ClientRequest req = sample_request()) {
  ws::HandshakeReader r(std::move(req));
  r.feed(bytes);
  return r;
}

}  // namespace

TEST(WsHandshake, AcceptMatchesRfc6455Sample) {
  EXPECT_EQ(ws::compute_accept(kSampleKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, Base64KnownVectors) {
  auto b64 = [](std::string s) { return ws::base64_encode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("the sample nonce"), kSampleKey);
}

TEST(WsHandshake, GeneratedKeysAre16RandomBytes) {
  std::string a = ws::generate_key();
  std::string b = ws::generate_key();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_TRUE(a.ends_with("=="));
  EXPECT_NE(a, b);
  std::mt19937_64 r1(7), r2(7);
  EXPECT_EQ(ws::generate_key(r1), ws::generate_key(r2));
}

TEST(WsHandshake, RequestCarriesTheUpgradeHeaders) {
  ws::ClientRequest req = sample_request();
  req.path = "/xrpc/com.atproto.sync.subscribeRepos";
  req.protocols = {"chat", "superchat"};
  std::string r = ws::write_request(req);
  EXPECT_TRUE(r.starts_with("GET /xrpc/com.atproto.sync.subscribeRepos HTTP/1.1\r\n"));
  EXPECT_NE(r.find("\r\nHost: 127.0.0.1:9\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(r.find(std::string("\r\nSec-WebSocket-Key: ") + kSampleKey + "\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Protocol: chat, superchat\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
  EXPECT_EQ(r.find("\r\n\r\n"), r.size() - 4);
}

TEST(WsHandshake, TokenListsAreCaseInsensitive) {
  EXPECT_TRUE(ws::header_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(ws::header_has_token("  UPGRADE  ", "Upgrade"));
  EXPECT_FALSE(ws::header_has_token("Upgraded", "upgrade"));
  EXPECT_FALSE(ws::header_has_token("", "upgrade"));
}

TEST(WsHandshake, ParsesHeadersAndReturnsLeftover) {
  std::string frame = "\x81\x02hi";
  auto r = feed_all(head_with("Upgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\nX-Extra:  a b \r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") +
                    frame);
  ASSERT_EQ(r.status(), Status::done) << r.error();
  EXPECT_EQ(r.status_code(), 101);
  EXPECT_EQ(r.headers().size(), 4u);
  EXPECT_EQ(r.header("x-extra").value_or(""), "a b");
  EXPECT_FALSE(r.header("Missing").has_value());
  EXPECT_EQ(r.take_leftover(), frame);
  EXPECT_EQ(r.take_leftover(), "");
}

TEST(WsHandshake, BytesAfterDoneJoinTheLeftover) {
  ws::HandshakeReader r(sample_request());
  EXPECT_EQ(r.feed(good_head() + "ab"), Status::done);
  EXPECT_EQ(r.feed("cd"), Status::done);
  EXPECT_EQ(r.take_leftover(), "abcd");
}

TEST(WsHandshake, NeedsMoreUntilTheBlankLine) {
  ws::HandshakeReader r(sample_request());
  std::string head = good_head();
  EXPECT_EQ(r.feed(head.substr(0, head.size() - 1)), Status::need_more);
  EXPECT_EQ(r.feed(head.substr(head.size() - 1)), Status::done);
}

TEST(WsHandshake, EverySegmentationGivesTheSameResult) {
  std::string bytes = good_head() + "\x81\x05hello";
  for (std::size_t a = 0; a <= bytes.size(); ++a) {
    for (std::size_t b = a; b <= bytes.size(); ++b) {
      ws::HandshakeReader r(sample_request());
      r.feed(bytes.substr(0, a));
      r.feed(bytes.substr(a, b - a));
      r.feed(bytes.substr(b));
      ASSERT_EQ(r.status(), Status::done) << "split at " << a << "," << b << ": " << r.error();
      ASSERT_EQ(r.take_leftover(), "\x81\x05hello") << "split at " << a << "," << b;
    }
  }
}

TEST(WsHandshake, RejectsWrongAccept) {
  auto r = feed_all(head_with("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n"));
  EXPECT_EQ(r.status(), Status::error);
  EXPECT_NE(r.error().find("mismatch"), std::string::npos) << r.error();
}

TEST(WsHandshake, RejectsMissingOrDuplicateAccept) {
  auto missing = feed_all(head_with("Upgrade: websocket\r\nConnection: Upgrade\r\n"));
  EXPECT_EQ(missing.status(), Status::error);
  EXPECT_NE(missing.error().find("missing Sec-WebSocket-Accept"), std::string::npos);
  auto twice =
      feed_all(head_with("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_EQ(twice.status(), Status::error);
}

TEST(WsHandshake, RejectsBadUpgradeOrConnection) {
  auto up =
      feed_all(head_with("Upgrade: h2c\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_EQ(up.status(), Status::error);
  auto conn =
      feed_all(head_with("Upgrade: websocket\r\nConnection: keep-alive\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_EQ(conn.status(), Status::error);
}

TEST(WsHandshake, RejectsNon101AndMalformedStatus) {
  auto r = feed_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status(), Status::error);
  EXPECT_EQ(r.status_code(), 400);
  EXPECT_EQ(feed_all("HTTP/1.0 101 x\r\n\r\n").status(), Status::error);
  EXPECT_EQ(feed_all("HTTP/1.1 1O1 x\r\n\r\n").status(), Status::error);
}

TEST(WsHandshake, RejectsMalformedLines) {
  EXPECT_EQ(feed_all(head_with("Upgrade websocket\r\n")).status(), Status::error);
  EXPECT_EQ(feed_all(head_with("Upgrade: websocket\r\n folded\r\n")).status(), Status::error);
  EXPECT_EQ(feed_all(head_with("Upgrade: web\nsocket\r\n")).status(), Status::error);
  EXPECT_EQ(feed_all(head_with("Bad Name: x\r\n")).status(), Status::error);
}

TEST(WsHandshake, RejectsUnofferedExtensionOrProtocol) {
  std::string base =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  EXPECT_EQ(feed_all(head_with(base + "Sec-WebSocket-Extensions: permessage-deflate\r\n")).status(), Status::error);
  EXPECT_EQ(feed_all(head_with(base + "Sec-WebSocket-Protocol: chat\r\n")).status(), Status::error);
  ws::ClientRequest offered = sample_request();
  offered.protocols = {"chat"};
  offered.extensions = {"permessage-deflate; client_max_window_bits"};
  auto ok = feed_all(
      head_with(base + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), offered);
  EXPECT_EQ(ok.status(), Status::done) << ok.error();
}

TEST(WsHandshake, RejectsOversizedHead) {
  ws::HandshakeReader unterminated(sample_request(), 256);
  Status s = unterminated.feed("HTTP/1.1 101 Switching Protocols\r\n");
  for (int i = 0; i < 100 && s == Status::need_more; ++i) s = unterminated.feed("X-Pad: 0123456789\r\n");
  EXPECT_EQ(s, Status::error);
  EXPECT_NE(unterminated.error().find("exceeds 256"), std::string::npos) << unterminated.error();

  std::string big = head_with(
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
      std::string("X-Pad: ") + std::string(300, 'a') + "\r\n");
  EXPECT_EQ(feed_all(big, sample_request()).status(), Status::done);
  ws::HandshakeReader bounded(sample_request(), 256);
  EXPECT_EQ(bounded.feed(big), Status::error);
  // State is final after an error.
  EXPECT_EQ(bounded.feed(good_head()), Status::error);
  EXPECT_EQ(bounded.take_leftover(), "");
}
