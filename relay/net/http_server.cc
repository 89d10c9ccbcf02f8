#include "relay/net/http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <thread>
#include <vector>

#include "relay/net/chunked.h"
#include "relay/net/deadline.h"

namespace faultline::relay::net {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

std::string_view error_name(int status) {
  switch (status) {
    case 400:
      return "InvalidRequest";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 408:
      return "RequestTimeout";
    case 413:
      return "PayloadTooLarge";
    case 426:
      return "UpgradeRequired";
    case 431:
      return "RequestHeaderFieldsTooLarge";
    case 500:
      return "InternalServerError";
    case 501:
      return "NotImplemented";
    case 503:
      return "ServiceUnavailable";
    case 505:
      return "HTTPVersionNotSupported";
    default:
      return "Error";
  }
}

io::Endpoint peer_of(const io::Socket& s) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(s.fd(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return io::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string_view as_text(const std::vector<std::byte>& buf, std::size_t n) {
  return std::string_view(reinterpret_cast<const char*>(buf.data()), n);
}

// Keeps open_connections() exact whatever way a connection task ends.
struct Counted {
  explicit Counted(std::atomic<std::size_t>& c) : c_(c) { c_.fetch_add(1, std::memory_order_relaxed); }
  ~Counted() { c_.fetch_sub(1, std::memory_order_relaxed); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  std::atomic<std::size_t>& c_;
};

}  // namespace

std::optional<std::string_view> Request::param(std::string_view name) const {
  for (const auto& [n, v] : query)
    if (n == name) return std::string_view(v);
  return std::nullopt;
}

HttpServer::HttpServer(io::Io& io, Options options) : io_(io), options_(std::move(options)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)].by_method[std::move(method)] = std::move(handler);
}

void HttpServer::route_websocket(std::string path, WsHandler handler) {
  routes_[std::move(path)].websocket = std::move(handler);
}

Result<std::uint16_t> HttpServer::listen(const io::Endpoint& at) {
  if (listener_.valid() || stopping_) return failure<std::uint16_t>(EINVAL, "listen() once per server");
  auto l = io_.listen(at);
  if (!l) return failure<std::uint16_t>(l.error, "listening on " + at.to_string());
  listener_ = std::move(l.value);
  port_ = listener_.local_endpoint().port();
  accept_task_ = io_.spawn([this] { accept_loop(); }, "http.accept");
  return success(port_);
}

void HttpServer::accept_loop() {
  while (!stopping_) {
    auto c = io_.accept(listener_);  // a cancellation point: stop() ends it here
    if (!c) {
      // EMFILE and friends: back off instead of spinning; stop() cancels the sleep.
      io_.sleep_for(std::chrono::milliseconds(c.error == EMFILE || c.error == ENFILE ? 100 : 5));
      continue;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    auto sock = std::make_shared<io::Socket>(std::move(c.value));
    io::Endpoint peer = peer_of(*sock);
    std::uint64_t id;
    {
      std::lock_guard lk(conns_mu_);
      id = next_conn_++;
      conns_.emplace(id, io::TaskHandle());
    }
    auto h = io_.spawn(
        [this, id, sock, peer] {
          struct Forget {
            HttpServer* s;
            std::uint64_t id;
            ~Forget() {
              std::lock_guard lk(s->conns_mu_);
              s->conns_.erase(id);
            }
          } forget{this, id};
          try {
            serve(sock, peer);
          } catch (const io::Cancelled&) {
            throw;
          } catch (const std::exception&) {
            handler_errors_.fetch_add(1, std::memory_order_relaxed);
          }
        },
        "http.conn");
    std::lock_guard lk(conns_mu_);
    if (auto it = conns_.find(id); it != conns_.end()) it->second = std::move(h);
  }
}

void HttpServer::stop() {
  stopping_ = true;
  if (accept_task_.valid()) {
    accept_task_.cancel();
    try {
      accept_task_.join();
    } catch (...) {
    }
    accept_task_ = io::TaskHandle();
  }
  if (listener_.valid()) io_.close(listener_);
  // No new connections now; end the ones there are. A task may still be
  // between spawn and its entry: it finds stopping_ set or is cancelled.
  for (int round = 0; round < 1000; ++round) {
    std::vector<io::TaskHandle> live;
    {
      std::lock_guard lk(conns_mu_);
      for (auto& [id, h] : conns_)
        if (h.valid()) live.push_back(h);
      if (live.empty() && conns_.empty()) break;
    }
    for (auto& h : live) h.cancel();
    for (auto& h : live) {
      try {
        h.join();
      } catch (...) {
      }
    }
    if (live.empty()) std::this_thread::yield();
  }
}

void HttpServer::send_error(io::Socket& sock, int status, std::string_view message, bool close, bool head_only) {
  Headers extra;
  if (close) extra.emplace_back("Connection", "close");
  std::string body = xrpc_error_body(error_name(status), message);
  std::string resp = write_response(status, "application/json", head_only ? std::string_view() : body, extra);
  io_.send_all(sock, resp, options_.send_timeout);
  if (close) io_.shutdown(sock, SHUT_RDWR);
}

void HttpServer::serve(std::shared_ptr<io::Socket> sock_ptr, io::Endpoint peer) {
  Counted counted(open_);
  io::Socket& sock = *sock_ptr;
  if (stopping_) return;
  if (open_connections() > options_.max_connections) {
    send_error(sock, 503, "too many connections", true);
    return;
  }
  std::vector<std::byte> buf(kReadChunk);
  std::string pending;  // bytes after the last request
  for (std::size_t served = 0; served < options_.max_requests_per_connection && !stopping_; ++served) {
    // ---- the head ----
    RequestHeadReader reader(options_.max_head_bytes);
    bool started = !pending.empty();
    Deadline request_deadline(started ? options_.request_timeout : io::kForever);
    if (started) reader.feed(std::exchange(pending, {}));
    while (reader.status() == RequestHeadReader::Status::need_more) {
      auto r = io_.recv(sock, buf, started ? request_deadline.left() : options_.idle_timeout);
      if (!r) {
        if (r.error == ETIMEDOUT && started) send_error(sock, 408, "the request did not arrive in time", true);
        return;
      }
      if (r.value == 0) return;  // the client closed
      if (!started) {
        started = true;
        request_deadline = Deadline(options_.request_timeout);
      }
      reader.feed(as_text(buf, r.value));
    }
    if (reader.status() == RequestHeadReader::Status::error) {
      send_error(sock, reader.error_status(), reader.error(), true);
      return;
    }
    RequestHead head = reader.take_head();
    pending = reader.take_leftover();

    // ---- the body ----
    Request req;
    // A client that waits for permission to send its body (curl does above
    // 1 KiB) gets it, unless the body is already refused or on its way.
    if ((head.content_length || head.chunked) && pending.empty() && head.version != "HTTP/1.0") {
      auto expect = head.header("Expect");
      if (expect && iequals(*expect, "100-continue") &&
          !(head.content_length && *head.content_length > options_.max_body_bytes)) {
        if (!io_.send_all(sock, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"), options_.send_timeout)) return;
      }
    }
    if (head.content_length) {
      if (*head.content_length > options_.max_body_bytes) {
        send_error(sock, 413, "body above " + std::to_string(options_.max_body_bytes) + " bytes", true);
        return;
      }
      const auto want = static_cast<std::size_t>(*head.content_length);
      while (pending.size() < want) {
        auto r = io_.recv(sock, buf, request_deadline.left());
        if (!r) {
          if (r.error == ETIMEDOUT) send_error(sock, 408, "the request body did not arrive in time", true);
          return;
        }
        if (r.value == 0) return;
        pending.append(as_text(buf, r.value));
      }
      req.body = pending.substr(0, want);
      pending.erase(0, want);
    } else if (head.chunked) {
      ChunkedDecoder dec(options_.max_body_bytes);
      std::size_t used = 0;
      dec.feed(pending, used, req.body);
      pending.erase(0, used);
      while (dec.status() == ChunkedDecoder::Status::need_more) {
        auto r = io_.recv(sock, buf, request_deadline.left());
        if (!r) {
          if (r.error == ETIMEDOUT) send_error(sock, 408, "the request body did not arrive in time", true);
          return;
        }
        if (r.value == 0) return;
        std::string_view in = as_text(buf, r.value);
        dec.feed(in, used, req.body);
        pending.assign(in.substr(used));
      }
      if (dec.status() == ChunkedDecoder::Status::error) {
        send_error(sock, dec.too_large() ? 413 : 400, "chunked body: " + dec.error(), true);
        return;
      }
    }

    // ---- routing ----
    req.method = head.method;
    req.target = head.target;
    req.path = std::string(head.path());
    req.peer = peer;
    auto query = parse_query(head.query());
    const bool keep_alive = head.keep_alive();
    req.headers = head.headers;
    auto route = routes_.find(req.path);
    if (!query) {
      send_error(sock, 400, "malformed query string", !keep_alive);
      if (!keep_alive) return;
      continue;
    }
    req.query = std::move(*query);
    if (route == routes_.end()) {
      send_error(sock, 404, "no route for " + req.path.substr(0, 200), !keep_alive);
      if (!keep_alive) return;
      continue;
    }
    const Routes& routes = route->second;
    if (routes.websocket && (routes.by_method.empty() || head.header("Upgrade"))) {
      auto ws = WebSocket::accept(io_, std::move(sock), head, std::move(pending), options_.websocket);
      if (!ws) return;  // refused with 400/426 by accept()
      try {
        routes.websocket(ws.value, req);
      } catch (const io::Cancelled&) {
        throw;
      } catch (const std::exception&) {
        handler_errors_.fetch_add(1, std::memory_order_relaxed);
        ws.value.abort();
      }
      return;
    }
    auto handler = routes.by_method.find(req.method);
    const bool head_request = req.method == "HEAD";
    if (handler == routes.by_method.end() && head_request) handler = routes.by_method.find("GET");
    if (handler == routes.by_method.end()) {
      std::string allow;
      for (const auto& [m, h] : routes.by_method) allow += (allow.empty() ? "" : ", ") + m;
      Headers extra{{"Allow", allow}};
      if (!keep_alive) extra.emplace_back("Connection", "close");
      std::string resp =
          write_response(405, "application/json",
                         xrpc_error_body("MethodNotAllowed", req.method + " is not allowed on " + req.path), extra);
      if (!io_.send_all(sock, resp, options_.send_timeout) || !keep_alive) return;
      continue;
    }
    Response resp;
    try {
      resp = handler->second(req);
    } catch (const io::Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      handler_errors_.fetch_add(1, std::memory_order_relaxed);
      resp = Response::error(500, "InternalServerError", e.what());
    }
    const bool keep = keep_alive && !stopping_;
    if (!keep)
      resp.headers.emplace_back("Connection", "close");
    else if (head.version == "HTTP/1.0")
      resp.headers.emplace_back("Connection", "keep-alive");
    std::string wire = write_response(resp);
    if (head_request) {
      // HEAD: the head of the GET response, without its body.
      wire.resize(wire.find("\r\n\r\n") + 4);
    }
    if (!io_.send_all(sock, wire, options_.send_timeout)) return;
    if (!keep) {
      io_.shutdown(sock, SHUT_WR);
      return;
    }
  }
}

}  // namespace faultline::relay::net
