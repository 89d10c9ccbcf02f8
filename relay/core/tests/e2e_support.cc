#include "relay/core/tests/e2e_support.h"

#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

#include "relay/net/http_client.h"
#include "relay/net/http_response.h"
#include "relay/net/url.h"

namespace faultline::relay::testing {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  fs::path base = tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = base / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(p, ec)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory under " + base.string());
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// ---- Consumer ----

Consumer::Consumer(io::Io& io, std::uint16_t port, std::optional<std::int64_t> cursor, bool read, std::string raw_query)
    : io_(io) {
  std::string target = "ws://127.0.0.1:" + std::to_string(port) + "/xrpc/com.atproto.sync.subscribeRepos";
  if (cursor)
    target += "?cursor=" + std::to_string(*cursor);
  else if (!raw_query.empty())
    target += "?" + raw_query;
  auto url = net::parse_url(target);
  io_.block_on([&] {
    go_ = io_.make_event("consumer.go");
    if (read) go_->set();
    net::ConnectOptions co;
    co.connect_timeout = kWait;
    co.handshake_timeout = kWait;
    co.send_timeout = kWait;
    co.close_timeout = 2s;
    auto ws = net::WebSocket::connect(io_, *url, co);
    if (!ws) {
      connect_error_ = ws.message();
      return;
    }
    ws_ = std::make_unique<net::WebSocket>(std::move(ws.value));
    connected_ = true;
  });
  if (!connected_) {
    closed_ = true;
    return;
  }
  reader_ = io_.spawn(
      [this] {
        std::uint16_t code = net::close_code::abnormal;
        try {
          go_->wait();
          for (;;) {
            auto m = ws_->recv();
            if (!m) break;
            if (m.value.opcode == net::Opcode::close) {
              code = m.value.close_code();
              break;
            }
            if (m.value.opcode != net::Opcode::binary) continue;
            Received r;
            r.bytes.assign(m.value.payload.begin(), m.value.payload.end());
            r.check = proto::check_frame(r.bytes);
            std::lock_guard g(mu_);
            frames_.push_back(std::move(r));
            cv_.notify_all();
          }
        } catch (const io::Cancelled&) {
        }
        std::lock_guard g(mu_);
        closed_ = true;
        close_code_ = code;
        cv_.notify_all();
      },
      "test-consumer");
}

Consumer::~Consumer() {
  if (!connected_) return;
  io_.block_on([&] {
    ws_->abort();
    go_->set();
  });
  reader_.cancel();
  try {
    reader_.join();
  } catch (...) {
  }
  io_.block_on([&] { ws_.reset(); });
}

void Consumer::start_reading() {
  if (connected_) io_.block_on([&] { go_->set(); });
}

void Consumer::close() {
  if (!connected_) return;
  io_.block_on([&] {
    go_->set();
    ws_->close(net::close_code::normal, "bye");
  });
  wait_closed(kWait);
}

bool Consumer::wait(const std::function<bool(const std::vector<Received>&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock g(mu_);
  cv_.wait_for(g, timeout, [&] { return pred(frames_) || closed_; });
  return pred(frames_);
}

bool Consumer::wait_events(std::size_t n, std::chrono::milliseconds timeout) {
  return wait(
      [n](const std::vector<Received>& f) {
        std::size_t k = 0;
        for (auto& r : f) k += r.is_event();
        return k >= n;
      },
      timeout);
}

bool Consumer::wait_seq(std::int64_t seq, std::chrono::milliseconds timeout) {
  return wait(
      [seq](const std::vector<Received>& f) {
        for (auto it = f.rbegin(); it != f.rend(); ++it)
          if (it->is_event()) return it->seq() >= seq;
        return false;
      },
      timeout);
}

bool Consumer::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock g(mu_);
  return cv_.wait_for(g, timeout, [&] { return closed_; });
}

std::vector<Received> Consumer::frames() const {
  std::lock_guard g(mu_);
  return frames_;
}

std::vector<Received> Consumer::events() const {
  std::lock_guard g(mu_);
  std::vector<Received> out;
  for (auto& r : frames_)
    if (r.is_event()) out.push_back(r);
  return out;
}

std::int64_t Consumer::last_seq() const {
  std::lock_guard g(mu_);
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
    if (it->is_event()) return it->seq();
  return 0;
}

bool Consumer::closed() const {
  std::lock_guard g(mu_);
  return closed_;
}

std::uint16_t Consumer::close_code() const {
  std::lock_guard g(mu_);
  return close_code_;
}

// ---- HTTP ----

HttpResult http_get(io::Io& io, std::uint16_t port, const std::string& target, const net::Headers& headers) {
  HttpResult out;
  auto url = net::parse_url("http://127.0.0.1:" + std::to_string(port) + target);
  if (!url) {
    out.error = "bad target " + target;
    return out;
  }
  io.block_on([&] {
    net::HttpGetOptions o;
    o.headers = headers;
    auto r = net::http_get(io, *url, kWait, o);
    if (!r) {
      out.error = r.message();
      return;
    }
    out.status = r.value.status;
    out.body = r.value.body;
    out.headers = r.value.headers;
  });
  return out;
}

HttpResult http_post(io::Io& io, std::uint16_t port, const std::string& target, const std::string& body,
                     const net::Headers& headers) {
  HttpResult out;
  io.block_on([&] {
    auto s = io.connect(io::Endpoint::loopback_v4(port), kWait);
    if (!s) {
      out.error = "connect: " + s.message();
      return;
    }
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n";
    for (auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n" + body;
    if (!io.send_all(s.value, req, kWait)) {
      out.error = "send failed";
      return;
    }
    net::ResponseHeadReader reader;
    std::vector<std::byte> buf(16 * 1024);
    std::string pending;
    for (int reads = 0; reads < 10'000 && reader.status() == net::HeadStatus::need_more; ++reads) {
      auto n = io.recv(s.value, buf, kWait);
      if (!n || n.value == 0) break;
      reader.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), n.value));
    }
    if (reader.status() != net::HeadStatus::done) {
      out.error = "no response head: " + reader.error();
      return;
    }
    auto head = reader.take_head();
    pending = reader.take_leftover();
    std::size_t want = head.content_length.value_or(0);
    for (int reads = 0; reads < 10'000 && pending.size() < want; ++reads) {
      auto n = io.recv(s.value, buf, kWait);
      if (!n || n.value == 0) break;
      pending.append(reinterpret_cast<const char*>(buf.data()), n.value);
    }
    if (pending.size() < want) {
      out.error = "short body";
      return;
    }
    out.status = head.status;
    out.headers = head.headers;
    out.body = pending.substr(0, want);
    io.close(s.value);
  });
  return out;
}

std::optional<double> metric(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string prefix = labels.empty() ? name + " " : name + "{" + labels + "} ";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtod(line.c_str() + prefix.size(), nullptr);
  }
  return std::nullopt;
}

std::vector<std::int64_t> seqs_of(const std::vector<Received>& frames) {
  std::vector<std::int64_t> out;
  for (auto& r : frames)
    if (r.is_event()) out.push_back(r.seq());
  return out;
}

}  // namespace faultline::relay::testing
