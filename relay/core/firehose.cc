// Downstream consumers of GET /xrpc/com.atproto.sync.subscribeRepos.
//
// Cursor handling follows the reference relays:
//   none                → live from now
//   cursor > newest seq → error frame FutureCursor, then close
//   cursor inside log   → replay events with seq > cursor, then live
//   cursor older than the log's oldest event → #info OutdatedCursor, then
//                         replay from the oldest event
// Replay reads the log through the bridge in chunks until it is near the
// head, then subscribes to the broadcaster, which returns the last seq
// published before the subscription (S); events up to S come from the log,
// events after S from the consumer's queue, and the sender skips anything at
// or below what it already sent. Hence no gap and no duplicate at the hand-over.
//
// Two tasks per consumer: this one sends; a reader task answers the client's
// pings and notices its close (closing the queue so the sender stops). A
// consumer that lets its queue fill (16,384 frames by default) gets
// ConsumerTooSlow and is closed; nobody else waits for it.
#include <charconv>
#include <cstdio>

#include "relay/core/relay_impl.h"

namespace faultline::relay {

using namespace std::chrono_literals;

namespace {
constexpr std::size_t kReplayChunk = 1000;
// Replay from the log until this close to the head, then switch to live.
constexpr std::int64_t kHandOverDistance = 1000;
// Bytes of frames per write to a consumer: big enough to carry a burst in one
// syscall, small enough that one write does not hold the socket for long.
constexpr std::size_t kSendBatchBytes = 256 * 1024;

bool send_frame(net::WebSocket& ws, std::span<const std::uint8_t> bytes) { return ws.send_binary(bytes).ok(); }
}  // namespace

void RelayImpl::serve_consumer(net::WebSocket& ws, const net::Request& request) {
  const std::string name = request.peer.to_string() + "#" + std::to_string(consumers_served_.fetch_add(1) + 1);
  std::optional<std::int64_t> cursor;
  if (auto c = request.param("cursor"); c && !c->empty()) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(c->data(), c->data() + c->size(), v);
    if (ec != std::errc{} || p != c->data() + c->size() || v < 0) {
      auto frame = proto::encode_error_frame("InvalidRequest", "cursor must be a non-negative integer");
      send_frame(ws, frame);
      ws.close(net::close_code::policy_violation, "bad cursor");
      return;
    }
    cursor = v;
  }

  std::int64_t sent_upto = 0;
  std::uint64_t sent_here = 0;
  auto send_event = [&](std::int64_t seq, std::span<const std::uint8_t> bytes) {
    if (seq <= sent_upto) return true;  // already sent (hand-over overlap)
    if (!send_frame(ws, bytes)) return false;
    sent_upto = seq;
    ++sent_here;
    sent_.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  // Replays (from, until] (until < 0: to the log's end); false when the
  // consumer went away.
  auto replay = [&](std::int64_t from, std::int64_t until, bool& reached_end) {
    std::vector<store::StoredEvent> chunk;
    for (;;) {
      chunk.clear();
      auto n = io_->offload([&] { return log_->read_after(from, kReplayChunk, chunk); });
      if (!n.ok()) {
        std::fprintf(stderr, "relay: replay for %s: %s\n", name.c_str(), n.status().to_string().c_str());
        return false;
      }
      for (auto& e : chunk) {
        if (until >= 0 && e.seq > until) {
          reached_end = true;
          return true;
        }
        if (!send_event(e.seq, std::span(reinterpret_cast<const std::uint8_t*>(e.frame.data()), e.frame.size())))
          return false;
        from = e.seq;
      }
      if (chunk.size() < kReplayChunk) {
        reached_end = true;
        return true;
      }
      if (until < 0 && log_->last_seq() - from <= kHandOverDistance) return true;
    }
  };

  if (cursor) {
    const std::int64_t head = log_->last_seq();
    if (*cursor > head) {
      send_frame(ws, proto::encode_error_frame(proto::kErrorFutureCursor, "cursor is ahead of the relay's newest seq " +
                                                                          std::to_string(head)));
      ws.close(net::close_code::normal, "FutureCursor");
      return;
    }
    std::int64_t from = *cursor;
    if (const auto oldest = log_->oldest_seq(); *cursor + 1 < oldest) {
      send_frame(ws, proto::encode_info_frame(proto::kInfoOutdatedCursor,
                                              "cursor is older than the replay window; starting at seq " +
                                                  std::to_string(oldest)));
      from = oldest - 1;
    }
    sent_upto = from;
    bool end = false;
    if (!replay(from, -1, end)) {
      ws.abort();
      return;
    }
  }

  auto queue = std::make_shared<ConsumerQueue>(*io_, options_.consumer_buffer, name);
  io::TaskHandle reader;
  // Whatever ends this handler — a return, or io::Cancelled thrown at any
  // socket call when the server stops — the queue is unsubscribed and the
  // reader task, which uses `ws` and `queue`, is woken and joined before
  // either goes away.
  struct Cleanup {
    Broadcaster& broadcaster;
    net::WebSocket& ws;
    std::shared_ptr<ConsumerQueue>& queue;
    io::TaskHandle& reader;
    ~Cleanup() {
      broadcaster.unsubscribe(queue.get());  // idempotent
      if (!reader.valid()) return;
      ws.abort();
      queue->close();
      reader.cancel();
      try {
        reader.join();
      } catch (...) {
      }
    }
  } cleanup{*broadcaster_, ws, queue, reader};
  const std::int64_t hand_over = broadcaster_->subscribe(queue);
  if (cursor) {
    bool end = false;
    if (!replay(sent_upto, hand_over, end)) {
      ws.abort();
      return;
    }
  } else {
    sent_upto = hand_over;
  }
  queue->set_last_sent(sent_upto);

  reader = io_->spawn(
      [&ws, queue] {
        try {
          for (;;) {
            auto m = ws.recv();
            if (!m || m.value.opcode == net::Opcode::close) break;
          }
        } catch (const io::Cancelled&) {
        }
        queue->close();
      },
      "consumer-reader:" + name);

  std::vector<Outgoing> batch;
  std::vector<std::span<const std::uint8_t>> payloads;
  bool too_slow = false;
  for (;;) {
    batch.clear();
    auto st = queue->pop(batch, 256, options_.consumer_ping_interval);
    if (st == ConsumerQueue::Pop::timeout) {
      if (!ws.ping("relay").ok()) break;
      continue;
    }
    if (st == ConsumerQueue::Pop::too_slow) {
      too_slow = true;
      break;
    }
    if (st == ConsumerQueue::Pop::closed) break;
    // Everything queued goes out in as few writes as the byte cap allows:
    // one syscall per event (and one wake-up of the peer per event) was the
    // sender's main cost under load.
    bool ok = true;
    std::size_t i = 0;
    while (ok && i < batch.size()) {
      payloads.clear();
      std::size_t bytes = 0;
      std::int64_t last = sent_upto;
      for (; i < batch.size() && (payloads.empty() || bytes < kSendBatchBytes); ++i) {
        if (batch[i].seq <= last) continue;  // already sent (hand-over overlap)
        payloads.emplace_back(*batch[i].frame);
        bytes += batch[i].frame->size();
        last = batch[i].seq;
      }
      if (payloads.empty()) continue;
      if (!ws.send_binary_batch(payloads).ok()) {
        ok = false;
        break;
      }
      sent_upto = last;
      sent_here += payloads.size();
      sent_.fetch_add(payloads.size(), std::memory_order_relaxed);
    }
    queue->set_last_sent(sent_upto);
    if (!ok) break;
  }
  broadcaster_->unsubscribe(queue.get());
  if (too_slow) {
    std::fprintf(stderr, "relay: consumer %s too slow (%zu frames queued); closing\n", name.c_str(),
                 options_.consumer_buffer);
    send_frame(ws, proto::encode_error_frame(proto::kErrorConsumerTooSlow, "consumer fell too far behind"));
    ws.close(net::close_code::policy_violation, "ConsumerTooSlow");
  } else if (!stopping_.load()) {
    ws.close(net::close_code::normal);
  } else {
    ws.close(net::close_code::going_away, "relay shutting down");
  }
  ws.abort();
  (void)sent_here;
}  // `cleanup` joins the reader

}  // namespace faultline::relay
