// RequestHeadReader / ResponseHeadReader under every segmentation, their
// errors, ChunkedDecoder, and write_response.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "relay/net/chunked.h"
#include "relay/net/http_head.h"
#include "relay/net/http_response.h"

namespace faultline::relay::net {
namespace {

const std::string kRequest =
    "GET /xrpc/com.atproto.sync.subscribeRepos?cursor=42 HTTP/1.1\r\n"
    "Host: relay.test:2470\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version:13\r\n"
    "X-Empty:\r\n"
    "X-Spaces: \t padded value \t\r\n"
    "\r\n";
const std::string kAfter = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";  // a masked "Hello" frame

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n"
    "X-Trace: a, b\r\n"
    "\r\n";

void check_request(const RequestHeadReader& r) {
  ASSERT_EQ(r.status(), HeadStatus::done) << r.error();
  const RequestHead& h = r.head();
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/xrpc/com.atproto.sync.subscribeRepos?cursor=42");
  EXPECT_EQ(h.path(), "/xrpc/com.atproto.sync.subscribeRepos");
  EXPECT_EQ(h.query(), "cursor=42");
  EXPECT_EQ(h.version, "HTTP/1.1");
  ASSERT_EQ(h.headers.size(), 7u);
  EXPECT_EQ(h.header("host"), "relay.test:2470");
  EXPECT_EQ(h.header("SEC-WEBSOCKET-VERSION"), "13");
  EXPECT_EQ(h.header("X-Empty"), "");
  EXPECT_EQ(h.header("X-Spaces"), "padded value");
  EXPECT_TRUE(has_token(*h.header("Connection"), "upgrade"));
  EXPECT_TRUE(h.keep_alive());
  EXPECT_FALSE(h.content_length);
  EXPECT_FALSE(h.chunked);
}

// Feeds `wire` cut at the given offsets (sorted, inside the string).
template <class Reader>
Reader feed_split(const std::string& wire, const std::vector<std::size_t>& cuts) {
  Reader r;
  std::size_t at = 0;
  for (std::size_t c : cuts) {
    r.feed(std::string_view(wire).substr(at, c - at));
    at = c;
  }
  r.feed(std::string_view(wire).substr(at));
  return r;
}

TEST(RequestHeadReader, EveryTwoWaySplitGivesTheSameHeadAndLeftover) {
  const std::string wire = kRequest + kAfter;
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    auto r = feed_split<RequestHeadReader>(wire, {cut});
    check_request(r);
    EXPECT_EQ(r.take_leftover(), kAfter);
  }
}

TEST(RequestHeadReader, EveryThreeWaySplitAndOneByteAtATime) {
  const std::string wire = kRequest + kAfter;
  for (std::size_t a = 1; a < wire.size(); a += 1)
    for (std::size_t b = a; b < wire.size(); b += 3) {
      auto r = feed_split<RequestHeadReader>(wire, {a, b});
      ASSERT_EQ(r.status(), HeadStatus::done) << a << "," << b << ": " << r.error();
      ASSERT_EQ(r.take_leftover(), kAfter) << a << "," << b;
    }
  RequestHeadReader r;
  for (char c : wire) r.feed(std::string_view(&c, 1));
  check_request(r);
  EXPECT_EQ(r.take_leftover(), kAfter);
}

TEST(RequestHeadReader, BytesAfterDoneJoinTheLeftoverAndLeadingEmptyLinesAreSkipped) {
  RequestHeadReader r;
  EXPECT_EQ(r.feed("\r\n\r"), HeadStatus::need_more);
  EXPECT_EQ(r.feed("\nGET / HTTP/1.1\r\nHost: h\r\n\r\nab"), HeadStatus::done) << r.error();
  EXPECT_EQ(r.feed("cd"), HeadStatus::done);
  EXPECT_EQ(r.take_leftover(), "abcd");
  EXPECT_EQ(r.take_leftover(), "");
  EXPECT_EQ(r.head().target, "/");
}

TEST(RequestHeadReader, BodyFramingAndVersions) {
  auto parse = [](const std::string& s) {
    RequestHeadReader r;
    r.feed(s);
    return r;
  };
  auto a = parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n");
  ASSERT_EQ(a.status(), HeadStatus::done);
  EXPECT_EQ(a.head().content_length, 12u);
  auto b = parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(b.status(), HeadStatus::done) << b.error();
  EXPECT_EQ(b.head().content_length, 5u);
  auto c = parse("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_EQ(c.status(), HeadStatus::done);
  EXPECT_TRUE(c.head().chunked);
  auto d = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(d.status(), HeadStatus::done) << "HTTP/1.0 needs no Host";
  EXPECT_FALSE(d.head().keep_alive());
  auto e = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(e.head().keep_alive());
  auto f = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(f.head().keep_alive());
  auto g = parse("GET http://h:1/a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(g.status(), HeadStatus::done);
  EXPECT_EQ(g.head().path(), "/a/b");
  EXPECT_EQ(g.head().query(), "x=1");
}

struct BadRequest {
  std::string wire;
  int status;
  const char* why;
};

TEST(RequestHeadReader, RejectsMalformedHeadsWithTheRightStatus) {
  const std::vector<BadRequest> cases = {
      {"GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF"},
      {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, "bare CR"},
      {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "obs-fold"},
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "space before colon"},
      {"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "no colon"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01"
       "b\r\n\r\n",
       400, "control byte"},
      {"GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400, "double space"},
      {"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", 400, "extra field"},
      {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad method"},
      {"GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, "bad version"},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP/2"},
      {"GET / HTTP/1.1\r\n\r\n", 400, "no Host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts"},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "negative length"},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflicting"},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "overflow"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, "TE + CL"},
      {"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "DEL in target"},
  };
  for (const auto& c : cases) {
    RequestHeadReader r;
    EXPECT_EQ(r.feed(c.wire), HeadStatus::error) << c.why;
    EXPECT_EQ(r.error_status(), c.status) << c.why << ": " << r.error();
    EXPECT_FALSE(r.error().empty()) << c.why;
    EXPECT_EQ(r.feed("more"), HeadStatus::error) << "error is final";
  }
}

TEST(RequestHeadReader, HeadIsBounded) {
  RequestHeadReader r(256);
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(300, 'a');
  EXPECT_EQ(r.feed(big), HeadStatus::error);
  EXPECT_EQ(r.error_status(), 431);
  EXPECT_TRUE(r.too_large());
  RequestHeadReader crlfs(64);
  std::string many;
  for (int i = 0; i < 40; ++i) many += "\r\n";
  EXPECT_EQ(crlfs.feed(many), HeadStatus::error) << "leading empty lines count too";
  // Exactly at the bound is fine.
  std::string exact = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHeadReader e(exact.size());
  EXPECT_EQ(e.feed(exact + "tail"), HeadStatus::done) << e.error();
  RequestHeadReader e1(exact.size() - 1);
  EXPECT_EQ(e1.feed(exact), HeadStatus::error);
}

TEST(ResponseHeadReader, EverySplitGivesTheSameHead) {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  const std::string wire = kResponse + body;
  for (std::size_t a = 0; a <= wire.size(); ++a)
    for (std::size_t b = a; b <= wire.size(); b += 2) {
      auto r = feed_split<ResponseHeadReader>(wire, {a, b});
      ASSERT_EQ(r.status(), HeadStatus::done) << a << "," << b << ": " << r.error();
      EXPECT_EQ(r.head().status, 200);
      EXPECT_EQ(r.head().reason, "OK");
      EXPECT_TRUE(r.head().chunked);
      EXPECT_EQ(r.head().header("x-trace"), "a, b");
      ASSERT_EQ(r.take_leftover(), body);
    }
}

TEST(ResponseHeadReader, StatusLines) {
  auto parse = [](const std::string& s) {
    ResponseHeadReader r;
    r.feed(s);
    return r;
  };
  EXPECT_EQ(parse("HTTP/1.1 204\r\n\r\n").head().status, 204) << "no reason phrase";
  EXPECT_EQ(parse("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n").head().content_length, 3u);
  EXPECT_EQ(parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").head().status, 101);
  for (const char* bad : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
                          "HTTP/1.1200 OK\r\n\r\n", "\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n", "HTTP/1.1 200 OK\n\n",
                          "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n"})
    EXPECT_EQ(parse(bad).status(), HeadStatus::error) << bad;
}

// ---- chunked ----

std::string decode_split(const std::string& wire, std::size_t step, ChunkedDecoder::Status& st, std::string& rest,
                         std::size_t max = 1 << 20) {
  ChunkedDecoder d(max);
  std::string body;
  std::size_t at = 0;
  st = ChunkedDecoder::Status::need_more;
  while (at < wire.size() && st == ChunkedDecoder::Status::need_more) {
    std::string_view piece = std::string_view(wire).substr(at, step);
    std::size_t used = 0;
    st = d.feed(piece, used, body);
    at += used;
    if (used < piece.size()) break;
  }
  rest = wire.substr(at);
  return body;
}

TEST(ChunkedDecoder, DecodesAnySegmentationAndStopsAtTheEnd) {
  const std::string wire = "5;name=value\r\nhello\r\n1A\r\n" + std::string(26, 'x') + "\r\n0\r\nTrailer: t\r\n\r\nNEXT";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    ChunkedDecoder::Status st;
    std::string rest;
    std::string body = decode_split(wire, step, st, rest);
    ASSERT_EQ(st, ChunkedDecoder::Status::done) << step;
    EXPECT_EQ(body, "hello" + std::string(26, 'x')) << step;
    EXPECT_EQ(rest, "NEXT") << step;
  }
}

TEST(ChunkedDecoder, RejectsMalformedAndOversized) {
  for (const char* bad : {"x\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n", "12345678901234567\r\n", "5 x\r\nhello\r\n",
                          "0\r\nTrailer\rx\r\n\r\n"}) {
    ChunkedDecoder::Status st;
    std::string rest;
    decode_split(bad, 100, st, rest);
    EXPECT_EQ(st, ChunkedDecoder::Status::error) << bad;
  }
  ChunkedDecoder d(10);
  std::string body;
  std::size_t used;
  EXPECT_EQ(d.feed("6\r\nabcdef\r\n6\r\n", used, body), ChunkedDecoder::Status::error);
  EXPECT_TRUE(d.too_large());
  ChunkedDecoder lines(1 << 20);
  EXPECT_EQ(lines.feed(std::string(5000, '1'), used, body), ChunkedDecoder::Status::error);
}

// ---- write_response ----

TEST(WriteResponse, FramesTheBodyAndParsesBack) {
  std::string wire = write_response(404, "application/json", xrpc_error_body("NotFound", "no \"such\" route"),
                                    {{"X-A", "1"}, {"Bad\r\nInjected", "x"}, {"Content-Length", "999"}});
  ResponseHeadReader r;
  ASSERT_EQ(r.feed(wire), HeadStatus::done) << r.error();
  EXPECT_EQ(r.head().status, 404);
  EXPECT_EQ(r.head().reason, "Not Found");
  EXPECT_EQ(r.head().header("X-A"), "1");
  EXPECT_FALSE(r.head().header("Injected"));
  std::string body = r.take_leftover();
  EXPECT_EQ(r.head().content_length, body.size());
  EXPECT_EQ(body, R"({"error":"NotFound","message":"no \"such\" route"})");
  std::string nc = write_response(204, "", "ignored");
  EXPECT_EQ(nc.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(nc.ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace faultline::relay::net
