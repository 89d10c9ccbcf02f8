// HttpServer: the relay's HTTP/1.1 server — XRPC endpoints (plain routes)
// and the firehose (WebSocket routes) — on either io backend.
//
// Contract:
//  - Register every route before listen(); the table is read-only after.
//    route(method, path, handler): exact path match ("/xrpc/com.atproto.sync.
//    listHosts"); the handler gets the parsed Request (query decoded, body
//    read when there is one) and returns a Response. route_websocket(path,
//    handler): the upgrade is validated and answered by WebSocket::accept
//    (400/426 otherwise) and the handler then owns the connection's task for
//    as long as it runs; the connection closes when it returns.
//  - One task per connection (a fiber on Evented, a thread on Threaded).
//    Plain requests keep the connection alive (HTTP/1.1 unless
//    "Connection: close"; pipelined requests are answered in order).
//    "Expect: 100-continue" is answered with 100 before the body is read.
//  - Errors have the XRPC shape {"error": ..., "message": ...}:
//    400 InvalidRequest (malformed head, query or chunked body), 404 NotFound,
//    405 MethodNotAllowed (with Allow), 408 RequestTimeout, 413
//    PayloadTooLarge (body above max_body_bytes), 431 (head above
//    max_head_bytes), 500 InternalServerError (the handler threw), 501
//    (a Transfer-Encoding other than chunked), 503 (above max_connections),
//    505. After an error in the request itself the connection is closed.
//  - Timeouts: idle_timeout while waiting for a request to start,
//    request_timeout for the rest of it (head and body, against slow
//    senders), send_timeout per response.
//  - stop(): stops accepting, cancels every connection task (their socket
//    calls throw io::Cancelled, which handlers must let through) and waits
//    for them. Idempotent; the destructor calls it. Call it from outside the
//    server's tasks (a connection task would wait for itself).
//  - open_connections() may be read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "io/io.h"
#include "relay/net/http_head.h"
#include "relay/net/http_response.h"
#include "relay/net/result.h"
#include "relay/net/url.h"
#include "relay/net/websocket_conn.h"

namespace faultline::relay::net {

struct Request {
  std::string method;
  std::string target;  // as sent
  std::string path;    // target up to '?', not decoded
  QueryParams query;   // decoded
  Headers headers;
  std::string body;
  io::Endpoint peer;

  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
  // First value of a query parameter.
  std::optional<std::string_view> param(std::string_view name) const;
};

using Handler = std::function<Response(const Request&)>;
using WsHandler = std::function<void(WebSocket&, const Request&)>;

struct HttpServerOptions {
  std::size_t max_head_bytes = kDefaultMaxHttpHeadBytes;
  std::size_t max_body_bytes = 1 << 20;
  io::Duration idle_timeout = std::chrono::seconds(60);
  io::Duration request_timeout = std::chrono::seconds(30);
  io::Duration send_timeout = std::chrono::seconds(30);
  std::size_t max_connections = 10'000;
  std::size_t max_requests_per_connection = 100'000;
  AcceptOptions websocket;  // limits of accepted WebSockets
};

class HttpServer {
 public:
  using Options = HttpServerOptions;

  HttpServer(io::Io& io, Options options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void route(std::string method, std::string path, Handler handler);
  void route_websocket(std::string path, WsHandler handler);

  // Binds (port 0: an ephemeral port) and starts the accept task. Returns the
  // bound port. Once per server.
  Result<std::uint16_t> listen(const io::Endpoint& at);
  void stop();

  std::size_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  std::uint64_t connections_accepted() const { return accepted_.load(std::memory_order_relaxed); }
  // Handler exceptions caught (answered with 500, or ending a WebSocket).
  std::uint64_t handler_errors() const { return handler_errors_.load(std::memory_order_relaxed); }
  std::uint16_t port() const { return port_; }

 private:
  struct Routes {
    std::map<std::string, Handler> by_method;
    WsHandler websocket;
  };
  void accept_loop();
  void serve(std::shared_ptr<io::Socket> sock, io::Endpoint peer);
  void send_error(io::Socket& sock, int status, std::string_view message, bool close, bool head_only = false);

  io::Io& io_;
  Options options_;
  std::unordered_map<std::string, Routes> routes_;
  io::Socket listener_;
  std::uint16_t port_ = 0;
  io::TaskHandle accept_task_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> handler_errors_{0};
  // A plain mutex: held only to update the table, never across a park.
  std::mutex conns_mu_;
  std::uint64_t next_conn_ = 0;
  std::unordered_map<std::uint64_t, io::TaskHandle> conns_;
};

}  // namespace faultline::relay::net
