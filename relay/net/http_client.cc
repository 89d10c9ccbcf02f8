#include "relay/net/http_client.h"

#include <cerrno>
#include <vector>

#include "relay/net/chunked.h"
#include "relay/net/deadline.h"
#include "relay/net/dial.h"

namespace faultline::relay::net {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

// Reads more bytes into `out`; 0 bytes means the peer closed.
Result<std::size_t> read_some(io::Io& io, Connection& c, std::vector<std::byte>& buf, const Deadline& d) {
  if (d.expired()) return failure<std::size_t>(ETIMEDOUT, "waiting for the response");
  auto r = c.recv(io, buf, d.left());
  if (!r) return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "waiting for the response" : r.detail);
  return success(r.value);
}

std::string_view as_text(const std::vector<std::byte>& buf, std::size_t n) {
  return std::string_view(reinterpret_cast<const char*>(buf.data()), n);
}

}  // namespace

Result<Response> http_get(io::Io& io, const Url& url, io::Duration timeout, const HttpGetOptions& options) {
  if (url.scheme != "http" && url.scheme != "https")
    return failure<Response>(EINVAL, "http_get needs an http:// URL, not " + url.scheme + "://");
  Deadline deadline(timeout);
  auto conn = dial(io, url, deadline.left(), options.tls_ca_file);
  if (!conn) return failure<Response>(conn.error, conn.detail);
  Connection& s = conn.value;

  std::string req = "GET " + url.path_and_query + " HTTP/1.1\r\nHost: " + url.authority() +
                    "\r\nUser-Agent: faultline-relay\r\nAccept: */*\r\nConnection: close\r\n";
  for (const auto& [n, v] : options.headers) {
    if (n.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      return failure<Response>(EINVAL, "request header with CR, LF or ':' in its name");
    req += n + ": " + v + "\r\n";
  }
  req += "\r\n";
  if (auto w = s.send_all(io, req, deadline.left()); !w)
    return failure<Response>(w.error, "sending the request: " + w.detail);

  std::vector<std::byte> buf(kReadChunk);
  ResponseHeadReader reader(options.max_head_bytes);
  std::string pending;  // bytes read but not yet consumed
  // The head (skipping interim 1xx responses, bounded in number).
  for (int interim = 0;; ++interim) {
    if (!pending.empty()) reader.feed(std::exchange(pending, {}));
    while (reader.status() == ResponseHeadReader::Status::need_more) {
      auto n = read_some(io, s, buf, deadline);
      if (!n) return failure<Response>(n.error, n.detail);
      if (n.value == 0) return failure<Response>(ECONNRESET, "connection closed before the end of the response head");
      reader.feed(as_text(buf, n.value));
    }
    if (reader.status() == ResponseHeadReader::Status::error) {
      return failure<Response>(reader.too_large() ? EMSGSIZE : EPROTO, "response head: " + reader.error());
    }
    int st = reader.head().status;
    if (st >= 200) break;
    if (st == 101 || interim >= 8)
      return failure<Response>(EPROTO, "unexpected interim response " + std::to_string(st));
    pending = reader.take_leftover();
    reader = ResponseHeadReader(options.max_head_bytes);
  }
  ResponseHead head = reader.take_head();
  pending = reader.take_leftover();

  Response resp;
  resp.status = head.status;
  resp.headers = std::move(head.headers);
  if (auto ct = find_header(resp.headers, "Content-Type")) resp.content_type = std::string(*ct);
  const bool bodyless = head.status == 204 || head.status == 304;
  if (bodyless) return success(std::move(resp));

  if (head.chunked) {
    ChunkedDecoder dec(options.max_body_bytes);
    std::size_t used = 0;
    dec.feed(pending, used, resp.body);
    while (dec.status() == ChunkedDecoder::Status::need_more) {
      auto n = read_some(io, s, buf, deadline);
      if (!n) return failure<Response>(n.error, n.detail);
      if (n.value == 0) return failure<Response>(ECONNRESET, "connection closed inside the chunked body");
      dec.feed(as_text(buf, n.value), used, resp.body);
    }
    if (dec.status() == ChunkedDecoder::Status::error)
      return failure<Response>(dec.too_large() ? EMSGSIZE : EPROTO, "chunked body: " + dec.error());
    return success(std::move(resp));
  }
  if (head.content_length) {
    std::uint64_t want = *head.content_length;
    if (want > options.max_body_bytes)
      return failure<Response>(EMSGSIZE, "Content-Length " + std::to_string(want) + " above the bound of " +
                                             std::to_string(options.max_body_bytes));
    resp.body = std::move(pending);
    if (resp.body.size() > want) resp.body.resize(static_cast<std::size_t>(want));
    while (resp.body.size() < want) {
      auto n = read_some(io, s, buf, deadline);
      if (!n) return failure<Response>(n.error, n.detail);
      if (n.value == 0) return failure<Response>(ECONNRESET, "connection closed inside the body");
      std::size_t take = std::min<std::size_t>(n.value, static_cast<std::size_t>(want - resp.body.size()));
      resp.body.append(as_text(buf, take));
    }
    return success(std::move(resp));
  }
  // No framing: the body runs until the server closes.
  resp.body = std::move(pending);
  for (;;) {
    if (resp.body.size() > options.max_body_bytes)
      return failure<Response>(EMSGSIZE, "body above the bound of " + std::to_string(options.max_body_bytes));
    auto n = read_some(io, s, buf, deadline);
    if (!n) return failure<Response>(n.error, n.detail);
    if (n.value == 0) break;
    resp.body.append(as_text(buf, n.value));
  }
  if (resp.body.size() > options.max_body_bytes)
    return failure<Response>(EMSGSIZE, "body above the bound of " + std::to_string(options.max_body_bytes));
  return success(std::move(resp));
}

}  // namespace faultline::relay::net
