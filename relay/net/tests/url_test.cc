// parse_url, default ports, percent-decoding and query parameters.
#include <gtest/gtest.h>

#include "relay/net/url.h"

namespace faultline::relay::net {
namespace {

TEST(Url, ParsesEverySchemeWithDefaultPorts) {
  auto a = parse_url("ws://example.com/xrpc/com.atproto.sync.subscribeRepos?cursor=5");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->scheme, "ws");
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 80);
  EXPECT_EQ(a->path_and_query, "/xrpc/com.atproto.sync.subscribeRepos?cursor=5");
  EXPECT_FALSE(a->tls());
  EXPECT_EQ(parse_url("wss://h")->port, 443);
  EXPECT_TRUE(parse_url("wss://h")->tls());
  EXPECT_EQ(parse_url("http://h")->port, 80);
  EXPECT_EQ(parse_url("https://h")->port, 443);
  EXPECT_TRUE(parse_url("HTTPS://H")->tls());
}

TEST(Url, PortsPathsAndHosts) {
  auto u = parse_url("http://127.0.0.1:2470");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 2470);
  EXPECT_EQ(u->path_and_query, "/");
  EXPECT_EQ(u->authority(), "127.0.0.1:2470");
  auto v6 = parse_url("ws://[::1]:3000/x#frag");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3000);
  EXPECT_EQ(v6->path_and_query, "/x");
  EXPECT_EQ(v6->authority(), "[::1]:3000");
  auto q = parse_url("http://Bsky.Network?limit=10");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->host, "bsky.network");
  EXPECT_EQ(q->path_and_query, "/?limit=10");
  EXPECT_EQ(q->authority(), "bsky.network");
  EXPECT_EQ(parse_url("http://h:/p")->port, 80) << "an empty port means the default";
  EXPECT_EQ(parse_url("http://pds_1.test:8080/")->host, "pds_1.test");
}

TEST(Url, RejectsMalformed) {
  for (const char* bad :
       {"", "example.com", "ftp://h/", "http:/h", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
        "http://h:12a/", "http://user@h/", "http://h/a b", "http://[::1/", "http://[fe80::1%25eth0]/", "http://h\x01/",
        "ws://h:123456/", "http://[]:80/", "http://[::1]x/"})
    EXPECT_FALSE(parse_url(bad)) << bad;
}

TEST(Url, PercentDecodeAndEncode) {
  EXPECT_EQ(percent_decode("a%20b+c"), "a b c");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("%3a%3A"), "::");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%G1"));
  EXPECT_EQ(percent_encode("did:plc:abc 1/é"), "did%3Aplc%3Aabc%201%2F%C3%A9");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

TEST(Url, QueryParams) {
  const char* t = "/xrpc/com.atproto.sync.listHosts?limit=10&cursor=did%3Aplc%3Ax&empty=&flag&sp=a+b&limit=20";
  EXPECT_EQ(query_param(t, "limit"), "10") << "the first value wins";
  EXPECT_EQ(query_param(t, "cursor"), "did:plc:x");
  EXPECT_EQ(query_param(t, "empty"), "");
  EXPECT_EQ(query_param(t, "flag"), "");
  EXPECT_EQ(query_param(t, "sp"), "a b");
  EXPECT_FALSE(query_param(t, "missing"));
  EXPECT_FALSE(query_param("/no-query", "limit"));
  EXPECT_FALSE(query_param("/p?x=%zz", "x")) << "a malformed value";
  EXPECT_EQ(query_param("/p?bad=%zz&x=1", "x"), "1") << "other malformed pairs do not matter";
  EXPECT_EQ(query_param("/p?x=1#frag", "x"), "1");
  auto all = parse_query("a=1&&b=2&c");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_FALSE(parse_query("a=%"));
}

}  // namespace
}  // namespace faultline::relay::net
