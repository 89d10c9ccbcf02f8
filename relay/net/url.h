// URLs of the relay's peers (ws://, wss://, http://, https://) and the query
// strings of its XRPC endpoints.
//
// Contract of parse_url:
//  - Accepts `scheme://host[:port][/path][?query][#fragment]` with scheme one
//    of ws, wss, http, https (case-insensitive). The fragment is dropped.
//  - host is a DNS name (letters, digits, '-', '.', '_'), an IPv4 address or
//    a bracketed IPv6 literal ("[::1]"; stored without the brackets). It is
//    lower-cased. Userinfo ("user@host") and IPv6 zone ids are rejected.
//  - port: 1..65535 when given; an absent or empty port means the scheme's
//    default (80 for ws/http, 443 for wss/https).
//  - path_and_query always starts with '/' ("/" when the URL has no path);
//    it is kept exactly as written (no percent-decoding).
//  - wss/https: dial() speaks TLS to them (tls.h).
//  - Anything else (no "//", spaces, control bytes, bad port) → nullopt.
//
// Query helpers (application/x-www-form-urlencoded, as Go's url.ParseQuery):
// pairs separated by '&', name and value separated by the first '=', '+'
// decodes to a space, "%XX" to the byte XX. A malformed escape ("%G1", "%4")
// makes the pair — and parse_query as a whole — invalid (nullopt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::relay::net {

struct Url {
  std::string scheme;  // "ws", "wss", "http" or "https"
  std::string host;    // lower case; IPv6 without brackets
  std::uint16_t port = 0;
  std::string path_and_query = "/";

  // wss or https.
  bool tls() const { return scheme == "wss" || scheme == "https"; }
  // The Host header value: host (bracketed if IPv6), ":port" unless default.
  std::string authority() const;
  std::string to_string() const;
  bool operator==(const Url&) const = default;
};

std::optional<Url> parse_url(std::string_view text);
// 80 for ws/http, 443 for wss/https, 0 for anything else.
std::uint16_t default_port(std::string_view scheme);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// "%41+b" → "A b" when plus_as_space; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space = true);
// Escapes everything except unreserved characters (RFC 3986 §2.3).
std::string percent_encode(std::string_view s);
// "a=1&b=&c" → {a,1},{b,""},{c,""}; empty pairs ("a=1&&b=2") are skipped.
std::optional<QueryParams> parse_query(std::string_view query);
// The first value of `name` in the query of a request target
// ("/xrpc/m?cursor=5" → "5"). nullopt when the target has no such parameter
// or its name or value is malformed.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace faultline::relay::net
