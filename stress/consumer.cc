#include "stress/consumer.h"

#include <sys/socket.h>

#include <algorithm>
#include <cmath>

#include "relay/proto/frame.h"
#include "stress/event_id.h"
#include "stress/ws_client.h"

namespace faultline::stress {

namespace net = relay::net;
namespace proto = relay::proto;

namespace {
std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
constexpr auto kPoll = std::chrono::milliseconds(200);
constexpr std::size_t kMaxNotes = 50;
}  // namespace

bool SeqChecker::observe(std::int64_t seq) {
  if (seq == last_ + 1) {
    last_ = seq;
    return true;
  }
  if (seq <= last_) {
    ++dups_;
    return false;
  }
  gap_events_ += static_cast<std::uint64_t>(seq - last_ - 1);
  ++gap_runs_;
  last_ = seq;
  return true;
}

const char* to_string(ConsumerKind k) {
  switch (k) {
    case ConsumerKind::normal:
      return "normal";
    case ConsumerKind::slow:
      return "slow";
    case ConsumerKind::reconnect:
      return "reconnect";
  }
  return "?";
}

Consumer::Consumer(io::Io& io, ConsumerOptions options, Histogram* latency, const std::atomic<std::int64_t>* relay_seq)
    : io_(io), opt_(std::move(options)), latency_(latency), relay_seq_(relay_seq) {
  per_host_.assign(opt_.hosts, 0);
  host_last_time_.assign(opt_.hosts, 0);
  seq_.rebase(opt_.start_cursor);
  last_seq_ = opt_.start_cursor;
}

void Consumer::start() {
  task_ = io_.spawn([this] { run(); }, "stress.consumer." + opt_.name);
}

void Consumer::stop() {
  stop_ = true;
  if (task_.valid()) {
    try {
      task_.join();
    } catch (const std::exception& e) {
      note(std::string("consumer task ended with an exception: ") + e.what());
    }
    task_ = io::TaskHandle();
  }
}

void Consumer::note(std::string s) {
  std::lock_guard lk(notes_mu_);
  if (notes_.size() < kMaxNotes) notes_.push_back(std::move(s));
}

std::vector<std::string> Consumer::notes() const {
  std::lock_guard lk(notes_mu_);
  return notes_;
}

void Consumer::run() {
  struct Done {
    std::atomic<bool>& f;
    ~Done() { f = true; }
  } done{finished_};
  auto backoff = std::chrono::milliseconds(100);
  bool first = true;
  std::uint64_t failed_connects = 0;
  while (!stop_) {
    if (!first && opt_.kind == ConsumerKind::reconnect) reconnects_.fetch_add(1);
    const auto before = events_.load();
    bool again = session(seq_.last());
    first = false;
    if (!again || stop_) break;
    if (events_.load() == before) {
      if (++failed_connects == 1) note("reconnecting: the last session delivered nothing");
      io_.sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    } else {
      backoff = std::chrono::milliseconds(100);
    }
  }
}

bool Consumer::session(std::int64_t cursor) {
  WsClientOptions co;
  if (opt_.kind == ConsumerKind::slow) co.rcvbuf = opt_.slow_rcvbuf;
  const std::string target = "/xrpc/com.atproto.sync.subscribeRepos?cursor=" + std::to_string(cursor);
  auto c = WsClient::connect(io_, opt_.endpoint, target, co);
  if (!c) {
    note("connect " + opt_.endpoint + ": " + c.message());
    return opt_.kind != ConsumerKind::slow || !draining_;
  }
  WsClient ws = std::move(c.value);
  connected_ = true;
  std::uint16_t local_port = 0;
  {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(ws.fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      local_port = io::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
  }
  struct Disc {
    std::atomic<bool>& c;
    ~Disc() { c = false; }
  } disc{connected_};
  seq_.rebase(cursor);
  bool rebase_next = false;
  const std::int64_t session_start = mono_us();
  const std::int64_t gaps_before = static_cast<std::int64_t>(seq_.gaps());
  (void)gaps_before;
  for (;;) {
    if (stop_) {
      ws.close();
      return false;
    }
    if (opt_.kind == ConsumerKind::slow && !draining_) {
      const std::int64_t lag = relay_seq_ ? relay_seq_->load(std::memory_order_relaxed) - seq_.last() : 0;
      if (lag > max_lag_.load()) max_lag_ = lag;
      const double rlag = opt_.relay_lag ? opt_.relay_lag(local_port) : NAN;
      if (std::isfinite(rlag) && rlag > max_relay_lag_.load()) max_relay_lag_ = rlag;
      if (std::isfinite(rlag) && rlag > static_cast<double>(opt_.relay_buffer)) {
        exercised_ = true;  // the relay's queue for us overflowed: ConsumerTooSlow is due
        draining_ = true;
      } else if (lag >= opt_.slow_threshold) {
        exercised_ = true;
        draining_ = true;
      } else if (mono_us() - session_start >=
                 std::chrono::duration_cast<std::chrono::microseconds>(opt_.slow_deadline).count()) {
        draining_ = true;
      } else {
        io_.sleep_for(std::chrono::milliseconds(50));
        continue;
      }
    }
    if (opt_.kind == ConsumerKind::reconnect &&
        mono_us() - session_start >= std::chrono::duration_cast<std::chrono::microseconds>(opt_.reconnect_every).count()) {
      ws.close();
      return true;
    }
    auto r = ws.recv(kPoll);
    if (!r) {
      if (r.error == ETIMEDOUT) continue;
      if (opt_.kind == ConsumerKind::slow) {
        if (!too_slow_) note("the relay closed the slow consumer without ConsumerTooSlow: " + r.message());
        return false;
      }
      disconnects_.fetch_add(1);
      note("stream broke after seq " + std::to_string(seq_.last()) + ": " + r.message());
      return true;
    }
    net::Message& m = r.value;
    if (m.opcode == net::Opcode::close) {
      if (opt_.kind == ConsumerKind::slow) {
        if (!too_slow_)
          note("the relay closed the slow consumer (code " + std::to_string(m.close_code()) +
               ") without ConsumerTooSlow");
        return false;
      }
      if (!stop_) {
        disconnects_.fetch_add(1);
        note("the relay closed the stream after seq " + std::to_string(seq_.last()) + " (code " +
             std::to_string(m.close_code()) + " " + std::string(m.close_reason()) + ")");
      }
      return true;
    }
    if (m.opcode != net::Opcode::binary) {
      unreadable_.fetch_add(1);
      continue;
    }
    ScannedFrame f = scan_frame(m.bytes());
    if (!f.ok) {
      unreadable_.fetch_add(1);
      continue;
    }
    if (f.op == -1) {
      if (f.name == proto::kErrorConsumerTooSlow) {
        too_slow_ = true;
        if (opt_.kind != ConsumerKind::slow)
          note("ConsumerTooSlow on a " + std::string(to_string(opt_.kind)) + " consumer at seq " +
               std::to_string(seq_.last()));
      } else if (f.name == proto::kErrorFutureCursor) {
        future_.fetch_add(1);
        note("FutureCursor for cursor " + std::to_string(cursor));
      } else {
        note("error frame " + std::string(f.name));
      }
      continue;  // the relay closes the stream next
    }
    if (f.type == "#info") {
      if (f.name == proto::kInfoOutdatedCursor) {
        outdated_.fetch_add(1);
        rebase_next = true;
      }
      continue;
    }
    if (f.seq < 0) {
      unreadable_.fetch_add(1);
      continue;
    }
    if (rebase_next) {
      seq_.rebase(f.seq - 1);
      rebase_next = false;
    }
    const std::uint64_t gaps0 = seq_.gaps();
    const bool fresh = seq_.observe(f.seq);
    last_seq_.store(seq_.last(), std::memory_order_relaxed);
    if (seq_.gaps() != gaps0) {
      gaps_.store(seq_.gaps(), std::memory_order_relaxed);
      std::int64_t zero = 0;
      first_gap_us_.compare_exchange_strong(zero, mono_us());
      note("gap: seq " + std::to_string(f.seq) + " after " + std::to_string(f.seq - static_cast<std::int64_t>(seq_.gaps() - gaps0) - 1));
    }
    if (!fresh) {
      dups_.store(seq_.duplicates(), std::memory_order_relaxed);
      continue;
    }
    events_.fetch_add(1, std::memory_order_relaxed);
    auto h = host_of_did(f.did);
    if (!h || *h >= per_host_.size()) {
      unreadable_.fetch_add(1);
      continue;
    }
    ++per_host_[*h];
    auto t = parse_time_us(f.time);
    if (!t) {
      unreadable_.fetch_add(1);
      continue;
    }
    if (*t <= host_last_time_[*h])
      order_.fetch_add(1, std::memory_order_relaxed);
    else
      host_last_time_[*h] = *t;
    if (opt_.record_latency && latency_) latency_->record(now_unix_us() - *t);
  }
}

}  // namespace faultline::stress
