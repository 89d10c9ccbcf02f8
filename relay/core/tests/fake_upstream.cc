#include "relay/core/tests/fake_upstream.h"

#include <charconv>
#include <span>
#include <map>
#include <thread>

#include "relay/proto/frame.h"

namespace faultline::relay::testing {

using namespace std::chrono_literals;

namespace {
constexpr auto kRecheck = std::chrono::milliseconds(50);
}

FakeUpstream::FakeUpstream(io::Io& io)
    : io_(io), mutex_(io.make_mutex("fake-upstream")), changed_(io.make_condition("fake-upstream.changed")) {
  server_ = std::make_unique<net::HttpServer>(io_);
  server_->route_websocket("/xrpc/com.atproto.sync.subscribeRepos",
                           [this](net::WebSocket& ws, const net::Request& r) { serve(ws, r); });
  auto p = server_->listen(io::Endpoint::loopback_v4(0));
  if (p) port_ = p.value;
}

FakeUpstream::~FakeUpstream() {
  stop();
}

std::string FakeUpstream::url() const {
  return "ws://127.0.0.1:" + std::to_string(port_);
}
std::string FakeUpstream::hostname() const {
  return "127.0.0.1:" + std::to_string(port_);
}

template <class F>
auto FakeUpstream::locked(F&& fn) const {
  auto body = [&] {
    io::LockGuard g(*mutex_);
    return fn();
  };
  if (io::Io::current_task() != 0) return body();
  return io_.block_on(body);
}

void FakeUpstream::append_locked(std::vector<std::uint8_t> frame, std::int64_t seq) {
  entries_.push_back(Entry{seq, std::make_shared<const std::vector<std::uint8_t>>(std::move(frame))});
  if (seq >= next_seq_) next_seq_ = seq + 1;
}

std::int64_t FakeUpstream::add_commit(proto::CommitSpec spec) {
  return locked([&] {
    spec.seq = next_seq_;
    append_locked(proto::make_commit_frame(spec), spec.seq);
    changed_->notify_all();
    return spec.seq;
  });
}

std::int64_t FakeUpstream::add_sync(proto::SyncSpec spec) {
  return locked([&] {
    spec.seq = next_seq_;
    append_locked(proto::make_sync_frame(spec), spec.seq);
    changed_->notify_all();
    return spec.seq;
  });
}

std::int64_t FakeUpstream::add_account(proto::AccountSpec spec) {
  return locked([&] {
    spec.seq = next_seq_;
    append_locked(proto::make_account_frame(spec), spec.seq);
    changed_->notify_all();
    return spec.seq;
  });
}

std::int64_t FakeUpstream::add_identity(proto::IdentitySpec spec) {
  return locked([&] {
    spec.seq = next_seq_;
    append_locked(proto::make_identity_frame(spec), spec.seq);
    changed_->notify_all();
    return spec.seq;
  });
}

std::vector<std::int64_t> FakeUpstream::add_commits(std::size_t n, const std::string& did) {
  return locked([&] {
    std::vector<std::int64_t> seqs;
    for (std::size_t i = 0; i < n; ++i) {
      proto::CommitSpec spec;
      spec.seq = next_seq_;
      spec.did = did;
      spec.ops.push_back(proto::OpSpec{});
      append_locked(proto::make_commit_frame(spec), spec.seq);
      seqs.push_back(spec.seq);
    }
    changed_->notify_all();
    return seqs;
  });
}

void FakeUpstream::add_raw(std::vector<std::uint8_t> frame, std::optional<std::int64_t> seq) {
  std::int64_t s = seq ? *seq : proto::peek_header(frame).seq;
  locked([&] {
    append_locked(std::move(frame), s);
    changed_->notify_all();
    return 0;
  });
}

void FakeUpstream::add_raw_batch(std::vector<std::vector<std::uint8_t>> frames) {
  locked([&] {
    for (auto& f : frames) {
      auto s = proto::peek_header(f).seq;
      append_locked(std::move(f), s);
    }
    changed_->notify_all();
    return 0;
  });
}

std::int64_t FakeUpstream::next_seq() const {
  return locked([&] { return next_seq_; });
}

std::vector<std::vector<std::uint8_t>> FakeUpstream::frames() const {
  return locked([&] {
    std::vector<std::vector<std::uint8_t>> out;
    for (auto& e : entries_) out.push_back(*e.frame);
    return out;
  });
}

void FakeUpstream::drop_connections() {
  locked([&] {
    ++generation_;
    for (auto& [_, ws] : sockets_) ws->abort();
    changed_->notify_all();
    return 0;
  });
}

void FakeUpstream::fail_next_with_future_cursor() {
  locked([&] {
    future_cursor_next_ = true;
    return 0;
  });
}

std::vector<std::optional<std::int64_t>> FakeUpstream::cursors_requested() const {
  return locked([&] { return cursors_; });
}

bool FakeUpstream::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (accepted_.load() < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling a counter from the test thread
  }
  return true;
}

void FakeUpstream::stop() {
  if (!server_) return;
  locked([&] {
    stopping_ = true;
    changed_->notify_all();
    return 0;
  });
  server_->stop();
  server_.reset();
}

void FakeUpstream::serve(net::WebSocket& ws, const net::Request& request) {
  std::optional<std::int64_t> cursor;
  if (auto c = request.param("cursor"); c && !c->empty()) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(c->data(), c->data() + c->size(), v);
    if (ec == std::errc{} && p == c->data() + c->size()) cursor = v;
  }
  bool fail = false;
  std::uint64_t gen = 0;
  std::size_t live_from = 0;
  std::uint64_t id = 0;
  {
    io::LockGuard g(*mutex_);
    cursors_.push_back(cursor);
    fail = std::exchange(future_cursor_next_, false);
    gen = generation_;
    live_from = entries_.size();
    id = next_conn_++;
    if (!fail) sockets_[id] = &ws;
    // Counted once drop_connections() can reach it: a test that saw the
    // count go up may drop this connection at once.
    accepted_.fetch_add(1);
  }
  if (fail) {
    ws.send_binary(proto::encode_error_frame(proto::kErrorFutureCursor, "cursor is ahead of this host"));
    ws.close(net::close_code::normal, "FutureCursor");
    return;
  }
  open_.fetch_add(1);
  std::atomic<bool> closed{false};
  auto reader = io_.spawn(
      [&] {
        try {
          for (;;) {
            auto m = ws.recv();
            if (!m || m.value.opcode == net::Opcode::close) break;
          }
        } catch (const io::Cancelled&) {
        }
        closed.store(true);
        io::LockGuard g(*mutex_);
        changed_->notify_all();
      },
      "fake-upstream-reader");
  // Whatever ends this handler (drop, stop, a cancelled task), the reader
  // is woken and joined before `ws` goes away.
  struct Cleanup {
    FakeUpstream& self;
    std::uint64_t id;
    net::WebSocket& ws;
    io::TaskHandle& reader;
    std::atomic<std::size_t>& open;
    ~Cleanup() {
      {
        io::LockGuard g(*self.mutex_);
        self.sockets_.erase(id);
      }
      ws.abort();
      reader.cancel();
      try {
        reader.join();
      } catch (...) {
      }
      open.fetch_sub(1);
    }
  } cleanup{*this, id, ws, reader, open_};

  std::size_t i = 0;
  for (;;) {
    std::vector<Entry> batch;
    {
      io::LockGuard g(*mutex_);
      while (!stopping_ && gen == generation_ && !closed.load() && i >= entries_.size())
        changed_->wait_for(*mutex_, kRecheck);
      if (stopping_ || gen != generation_ || closed.load()) break;
      for (; i < entries_.size(); ++i) {
        if (i < live_from && cursor && entries_[i].seq <= *cursor) continue;
        batch.push_back(entries_[i]);
      }
    }
    // What was added together goes out in one write, so it reaches the
    // relay as one burst (the relay validates a burst as one run).
    std::vector<std::span<const std::uint8_t>> payloads;
    payloads.reserve(batch.size());
    for (auto& e : batch) payloads.emplace_back(*e.frame);
    if (!ws.send_binary_batch(payloads)) break;
    sent_.fetch_add(batch.size());
  }
}

}  // namespace faultline::relay::testing
