// parse_host_address: which scheme each way of naming a host gets, and the
// hostname key it is known by.
#include "relay/core/host_registry.h"

#include <gtest/gtest.h>

namespace faultline::relay {
namespace {

struct Case {
  const char* text;
  const char* scheme;
  const char* hostname;
  std::uint16_t port;
};

TEST(ParseHostAddress, SchemesAndHostnameKeys) {
  const Case cases[] = {
      // Bare names are real PDSes: TLS on 443.
      {"pds.example.com", "wss", "pds.example.com", 443},
      {"pds.example.com:8443", "wss", "pds.example.com:8443", 8443},
      {"PDS.Example.com/", "wss", "pds.example.com", 443},
      {"127.0.0.1.example.com", "wss", "127.0.0.1.example.com", 443},
      // Loopback names stay plaintext (local fleets, a PDS on this machine).
      {"127.0.0.1:2583", "ws", "127.0.0.1:2583", 2583},
      {"127.1.2.3:2583", "ws", "127.1.2.3:2583", 2583},
      {"localhost:2583", "ws", "localhost:2583", 2583},
      {"pds.localhost:2583", "ws", "pds.localhost:2583", 2583},
      {"[::1]:2583", "ws", "[::1]:2583", 2583},
      {"localhost", "ws", "localhost", 80},
      // An explicit scheme is kept; http/https map to ws/wss.
      {"wss://127.0.0.1:8443", "wss", "127.0.0.1:8443", 8443},
      {"wss://pds.example.com/", "wss", "pds.example.com", 443},
      {"ws://pds.example.com", "ws", "pds.example.com", 80},
      {"ws://127.0.0.1:2583/xrpc/whatever", "ws", "127.0.0.1:2583", 2583},
      {"https://pds.example.com", "wss", "pds.example.com", 443},
      {"http://10.0.0.5:2583", "ws", "10.0.0.5:2583", 2583},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::string error;
    auto a = parse_host_address(c.text, error);
    ASSERT_TRUE(a) << error;
    EXPECT_EQ(a->subscribe_url.scheme, c.scheme);
    EXPECT_EQ(a->hostname, c.hostname);
    EXPECT_EQ(a->subscribe_url.port, c.port);
    EXPECT_EQ(a->subscribe_url.path_and_query, "/xrpc/com.atproto.sync.subscribeRepos");
  }
}

// The key read back from the database gives the same URL for the usual
// cases (a name over TLS, a loopback host in plaintext).
TEST(ParseHostAddress, HostnameKeyRoundTrips) {
  for (const char* text : {"wss://pds.example.com", "ws://127.0.0.1:2583", "pds.example.com:8443", "[::1]:9"}) {
    SCOPED_TRACE(text);
    std::string error;
    auto a = parse_host_address(text, error);
    ASSERT_TRUE(a) << error;
    auto b = parse_host_address(a->hostname, error);
    ASSERT_TRUE(b) << error;
    EXPECT_EQ(b->hostname, a->hostname);
    EXPECT_EQ(b->subscribe_url, a->subscribe_url);
  }
}

TEST(ParseHostAddress, RejectsWhatIsNotAHost) {
  for (const char* text :
       {"", "ftp://pds.example.com", "wss://:443", "pds example.com", "wss://user@pds.example.com"}) {
    SCOPED_TRACE(text);
    std::string error;
    EXPECT_FALSE(parse_host_address(text, error));
    EXPECT_FALSE(error.empty());
  }
}

}  // namespace
}  // namespace faultline::relay
