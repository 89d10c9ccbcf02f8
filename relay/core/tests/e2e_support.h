// Test support for the relay's end-to-end tests: a temporary data directory,
// a downstream consumer (a net::WebSocket client that records every frame),
// HTTP helpers for the XRPC/admin/metrics endpoints, and bounded waits.
//
// Threads: the test's main thread drives everything; Consumer and the HTTP
// helpers run their socket work in tasks of the test's own Io (entered with
// block_on), never in the relay's. Every wait takes a timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/io.h"
#include "relay/net/http_head.h"
#include "relay/net/websocket_conn.h"
#include "relay/proto/frame.h"

namespace faultline::relay::testing {

using namespace std::chrono_literals;

inline constexpr std::chrono::milliseconds kWait{10'000};

// A fresh directory under $TMPDIR (or /tmp), removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "relay-e2e");
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Polls `pred` every few milliseconds until it holds or `timeout` passes.
// For state that has no notification (relay counters, files on disk).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kWait);

// One frame as a consumer received it.
struct Received {
  std::vector<std::uint8_t> bytes;
  proto::FrameCheck check;  // check_frame() of the bytes
  std::int64_t seq() const { return check.seq; }
  bool is_event() const { return check.ok && check.op == 1 && check.kind != proto::Kind::kInfo; }
};

// A downstream consumer of the relay's firehose.
class Consumer {
 public:
  // Connects to ws://127.0.0.1:port/xrpc/com.atproto.sync.subscribeRepos
  // [?cursor=N]. With read = false the reader does not read until
  // start_reading() (a consumer that lets the relay's buffers fill).
  Consumer(io::Io& io, std::uint16_t port, std::optional<std::int64_t> cursor = std::nullopt, bool read = true,
           std::string raw_query = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  bool connected() const { return connected_; }
  const std::string& connect_error() const { return connect_error_; }
  void start_reading();

  // Waits until `pred(frames)` holds or the connection ended; returns pred's
  // last value.
  bool wait(const std::function<bool(const std::vector<Received>&)>& pred, std::chrono::milliseconds timeout = kWait);
  // At least n events (#commit/#sync/#identity/#account) received.
  bool wait_events(std::size_t n, std::chrono::milliseconds timeout = kWait);
  // An event with seq >= seq received.
  bool wait_seq(std::int64_t seq, std::chrono::milliseconds timeout = kWait);
  // The relay ended the connection (close frame or TCP close).
  bool wait_closed(std::chrono::milliseconds timeout = kWait);

  std::vector<Received> frames() const;
  std::vector<Received> events() const;
  std::int64_t last_seq() const;
  bool closed() const;
  // The relay's close code (1006: no close frame).
  std::uint16_t close_code() const;

  // Sends a close and waits for the reader to end.
  void close();

 private:
  io::Io& io_;
  std::unique_ptr<net::WebSocket> ws_;
  bool connected_ = false;
  std::string connect_error_;
  std::unique_ptr<io::Event> go_;
  io::TaskHandle reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> frames_;
  bool closed_ = false;
  std::uint16_t close_code_ = 0;
};

struct HttpResult {
  int status = 0;  // 0: the exchange failed (error says why)
  std::string body;
  std::string error;
  net::Headers headers;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

HttpResult http_get(io::Io& io, std::uint16_t port, const std::string& target, const net::Headers& headers = {});
HttpResult http_post(io::Io& io, std::uint16_t port, const std::string& target, const std::string& body,
                     const net::Headers& headers = {});

// The value of a Prometheus sample "name{labels} value" (labels as written,
// "" for none); nullopt when absent.
std::optional<double> metric(const std::string& text, const std::string& name, const std::string& labels = "");

// The seqs of events (in order), and their (did, rev) as sent.
std::vector<std::int64_t> seqs_of(const std::vector<Received>& frames);

}  // namespace faultline::relay::testing
