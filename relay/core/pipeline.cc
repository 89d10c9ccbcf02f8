// The sequencer and the ordered broadcast stage.
//
// Sequencer: one task drains the channel the subscribers feed, in batches of
// up to kMaxBatch, so one bridge hand-off and one write(2) (and, by policy,
// one fdatasync) carry many events. It assigns relay seqs itself — the log's
// next seq, checked against what the log returns — and rewrites each frame's
// seq on the bridge worker with the append, keeping that CPU work off the
// scheduler threads. Only after the append returns does anything leave for
// consumers: what a consumer has seen is always in the log. Each record
// carries its host's log tag (flags) and upstream seq (uid) for recovery;
// after the append the batch's account effects and host cursors are applied.
//
// Broadcast stage: W tasks, event seq s going to task s % W, each publishing
// through the OrderedGate. The parking gate keeps strict seq order; the
// spinning gate (--inject spin-wait) is the production defect.
#include <algorithm>
#include <cstdio>

#include "relay/core/relay_impl.h"

namespace faultline::relay {

namespace {
constexpr std::size_t kMaxBatch = 512;
}

void RelayImpl::sequencer_loop() {
  std::vector<Accepted> batch;
  batch.reserve(kMaxBatch);
  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<store::PendingEvent> pending;
  std::vector<Outgoing> out;
  std::vector<AccountEffect> effects;
  for (;;) {
    auto first = sequencer_in_->recv();
    if (!first) break;  // closed and drained: shutdown
    batch.push_back(std::move(*first));
    while (batch.size() < kMaxBatch) {
      auto more = sequencer_in_->try_recv();
      if (!more) break;
      batch.push_back(std::move(*more));
    }

    const std::int64_t next = log_->next_seq();
    frames.clear();
    pending.clear();
    out.clear();
    bool ok = blocking([&] {
      std::int64_t seq = next;
      for (auto& a : batch) {
        if (!a.frame) continue;
        auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(a.frame->data()), a.frame->size());
        auto rewritten = proto::rewrite_seq(bytes, seq);
        if (rewritten.empty()) {
          // Validation passed, so this cannot happen; refuse rather than log
          // a frame whose seq is not ours.
          a.frame.reset();
          continue;
        }
        frames.push_back(std::move(rewritten));
        ++seq;
      }
      std::size_t i = 0;
      for (auto& a : batch) {
        if (!a.frame) continue;
        pending.push_back(store::PendingEvent{static_cast<std::uint32_t>(a.kind), a.host->log_tag,
                                              static_cast<std::uint64_t>(a.upstream_seq),
                                              std::as_bytes(std::span(frames[i]))});
        ++i;
      }
      if (pending.empty()) return true;
      auto range = log_->append(pending);
      if (!range.ok()) {
        std::fprintf(stderr, "relay: event log append failed: %s — stopping: no event may be broadcast that is not "
                     "in the log\n", range.status().to_string().c_str());
        return false;
      }
      if (range->first != next) {
        std::fprintf(stderr, "relay: event log assigned seq %lld, expected %lld — stopping\n",
                     static_cast<long long>(range->first), static_cast<long long>(next));
        return false;
      }
      return true;
    });
    if (!ok) {
      // run_relay notices and exits non-zero; subscribers block on the full
      // channel meanwhile, so nothing is acknowledged that was not logged.
      log_failed_.store(true);
      break;
    }
    std::int64_t seq = next;
    for (auto& f : frames) {
      out.push_back(Outgoing{seq++, std::make_shared<const std::vector<std::uint8_t>>(std::move(f))});
    }
    // Logged: now (and only now) the durable account view and the host
    // cursors move, before anything is broadcast — XRPC never shows, and
    // the flusher never saves, state the log does not have.
    effects.clear();
    for (auto& a : batch)
      if (a.frame) effects.push_back(std::move(a.effect));
    if (!effects.empty()) accounts_->apply(effects);
    for (auto& a : batch) {
      if (a.upstream_seq > a.host->cursor.load(std::memory_order_relaxed)) {
        a.host->cursor.store(a.upstream_seq, std::memory_order_relaxed);
        a.host->cursor_dirty.store(true, std::memory_order_relaxed);
      }
    }
    applied_seq_.store(seq - 1, std::memory_order_release);
    batch.clear();
    for (auto& o : out) {
      auto& ch = *stage_in_[static_cast<std::size_t>(o.seq) % stage_in_.size()];
      ch.send(o);
      auto depth = ch.size();
      if (depth > stage_high_water_.load(std::memory_order_relaxed))
        stage_high_water_.store(depth, std::memory_order_relaxed);
    }
  }
  for (auto& ch : stage_in_) ch->close();
}

void RelayImpl::broadcast_loop(unsigned index) {
  auto& ch = *stage_in_[index];
  for (;;) {
    auto ev = ch.recv();
    if (!ev) break;
    if (gate_->wait_turn(ev->seq)) {
      broadcaster_->publish(*ev);
    } else {
      dropped_.add("broadcast-spin-gave-up");
    }
    gate_->done(ev->seq);
  }
}

}  // namespace faultline::relay
