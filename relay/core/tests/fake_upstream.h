// FakeUpstream: a fake PDS for the relay's end-to-end tests. It serves
// GET /xrpc/com.atproto.sync.subscribeRepos[?cursor=N] over WebSocket
// (net::HttpServer::route_websocket) from a list of frames it holds.
//
// Contract:
//  - Frames are kept in the order they were added, each with its upstream
//    seq. add_commit / add_account / add_identity / add_sync build a valid
//    frame with the next per-host seq (1, 2, ...) and, unless the spec sets
//    one, the rev/rkeys the builder derives from that seq. add_raw appends
//    frame bytes as they are (any seq, invalid frames, recorded scenarios);
//    the seq used for cursors is the one in the frame (peek_header), or the
//    one given.
//  - A connection gets, in list order, the frames already held whose seq is
//    greater than its cursor (no cursor: every frame — a real PDS would send
//    only live events, but then a test could not add events before the relay
//    connects), then every frame added later, as it is added, whatever its
//    seq (so a live regression or duplicate reaches the relay). Frames a
//    serving task finds waiting together go out in one write (a burst).
//  - drop_connections() aborts every open connection (TCP shut down, no close
//    frame), as a crashing or restarting PDS does. fail_next_with_future_cursor()
//    answers the next connection with a FutureCursor error frame and a close.
//  - Each connection has a reader task that answers the peer's pings and close
//    (so the relay's close handshake never waits for a timeout).
//  - Thread-safety: every public method may be called from the test's main
//    thread or from a task of the Io given to the constructor; state is
//    guarded by that Io's primitives, entered through block_on when the
//    caller is not a task.
//  - Every wait is bounded: wait_for_connections() has a timeout; a serving
//    task re-checks its connection every 50 ms.
//  - A FakeUpstream must be destroyed (or stop()ped) before its Io.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/net/http_server.h"
#include "relay/proto/frame_builder.h"

namespace faultline::relay::testing {

class FakeUpstream {
 public:
  explicit FakeUpstream(io::Io& io);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const { return port_; }
  // "ws://127.0.0.1:PORT" (what --host takes) and "127.0.0.1:PORT" (the
  // relay's name for the host).
  std::string url() const;
  std::string hostname() const;

  // Builders of valid frames with the next seq; each returns the seq used.
  // A spec's seq is ignored; an empty rev (commit/sync) stays empty, so the
  // builder derives it from the seq.
  std::int64_t add_commit(proto::CommitSpec spec = {});
  std::int64_t add_sync(proto::SyncSpec spec = {});
  std::int64_t add_account(proto::AccountSpec spec = {});
  std::int64_t add_identity(proto::IdentitySpec spec = {});
  // `n` commits for `did` in one go (one wake-up of the serving tasks).
  std::vector<std::int64_t> add_commits(std::size_t n, const std::string& did = proto::kDefaultDid);
  // Frame bytes as they are. seq: the frame's own (peek_header) when absent;
  // the next per-host seq moves past it when it is larger.
  void add_raw(std::vector<std::uint8_t> frame, std::optional<std::int64_t> seq = std::nullopt);
  void add_raw_batch(std::vector<std::vector<std::uint8_t>> frames);

  // The next seq add_* will use.
  std::int64_t next_seq() const;
  // Frames held, in order (copies).
  std::vector<std::vector<std::uint8_t>> frames() const;

  void drop_connections();
  void fail_next_with_future_cursor();

  // Connections accepted so far and the cursor each asked for (nullopt: none).
  std::size_t connections() const { return accepted_.load(); }
  std::vector<std::optional<std::int64_t>> cursors_requested() const;
  std::size_t open_connections() const { return open_.load(); }
  // Frames written to connections so far (all connections).
  std::uint64_t frames_sent() const { return sent_.load(); }
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const;

  void stop();

 private:
  struct Entry {
    std::int64_t seq;
    std::shared_ptr<const std::vector<std::uint8_t>> frame;
  };
  template <class F>
  auto locked(F&& fn) const;
  void append_locked(std::vector<std::uint8_t> frame, std::int64_t seq);
  void serve(net::WebSocket& ws, const net::Request& request);

  io::Io& io_;
  std::unique_ptr<io::Mutex> mutex_;
  std::unique_ptr<io::Condition> changed_;
  std::vector<Entry> entries_;
  std::int64_t next_seq_ = 1;
  std::uint64_t generation_ = 0;  // bumped by drop_connections()
  bool future_cursor_next_ = false;
  bool stopping_ = false;
  std::vector<std::optional<std::int64_t>> cursors_;
  std::uint64_t next_conn_ = 0;
  std::map<std::uint64_t, net::WebSocket*> sockets_;  // open connections (drop_connections)
  std::atomic<std::size_t> accepted_{0}, open_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::unique_ptr<net::HttpServer> server_;
  std::uint16_t port_ = 0;
};

}  // namespace faultline::relay::testing
