// Response: an HTTP response as a value — what an HttpServer handler returns
// and what http_get hands back — and write_response(), its wire form.
//
// Contract of write_response:
//  - "HTTP/1.1 <status> <reason>", then Date, Content-Type (when not empty),
//    Content-Length (except for 1xx, 204 and 304, which have no body and get
//    none written), the extra headers in order, the blank line, the body.
//  - Extra headers must not contain CR or LF (they are dropped if they do:
//    no header injection); Content-Length / Transfer-Encoding in `extra` are
//    ignored, the writer owns the framing.
//
// XRPC errors (the AT Protocol shape): a JSON object
// {"error": "<Name>", "message": "<text>"} with the HTTP status.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "relay/net/http_head.h"

namespace faultline::relay::net {

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header
  std::string body;
  // Server: extra headers to send. Client: every header received.
  Headers headers;

  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  // {"error": error, "message": message}, application/json.
  static Response error(int status, std::string_view error, std::string_view message);
};

// "OK", "Not Found", ...; "Unknown" for codes without a standard phrase.
std::string_view reason_phrase(int status);

std::string write_response(int status, std::string_view content_type, std::string_view body, const Headers& extra = {});
std::string write_response(const Response& r);

// The XRPC error body, JSON-escaped.
std::string xrpc_error_body(std::string_view error, std::string_view message);

}  // namespace faultline::relay::net
