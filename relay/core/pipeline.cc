// The sequencer and the ordered broadcast stage.
//
// Sequencer: one task drains the channel the subscribers feed, in batches of
// up to kMaxBatch, at most one batch per --batch-window (BatchPacer), so one
// bridge hand-off, one write(2) (and, by policy, one fdatasync) and one send
// per consumer carry many events. It assigns relay seqs itself — the log's
// next seq, checked against what the log returns — and rewrites each frame's
// seq on the bridge worker with the append, keeping that CPU work off the
// scheduler threads. Only after the append returns does anything leave for
// consumers: what a consumer has seen is always in the log. Each record
// carries its host's log tag (flags) and upstream seq (uid) for recovery;
// after the append the batch's account effects and host cursors are applied.
//
// Broadcast stage: W tasks, each sequencer batch going whole to the next task
// in turn, each publishing through the OrderedGate. Per-event hand-offs (and a
// gate turn per event) cost more than the publishing itself. The parking gate
// keeps strict seq order; the spinning gate (--inject spin-wait) is the
// production defect, and with it event seq s goes alone to task s % W.
#include <algorithm>
#include <cstdio>

#include "relay/core/batch_pacer.h"
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
  std::size_t next_stage = 0;
  BatchPacer pacer(*io_, options_.batch_window);
  for (;;) {
    auto first = sequencer_in_->recv();
    if (!first) break;  // closed and drained: shutdown
    batch.push_back(std::move(*first));
    pacer.pace();
    sequencer_batches_.fetch_add(1, std::memory_order_relaxed);
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
    auto dispatch = [&](std::size_t stage, OutgoingBatch&& b) {
      auto& ch = *stage_in_[stage];
      ch.send(std::move(b));
      auto depth = ch.size();
      if (depth > stage_high_water_.load(std::memory_order_relaxed))
        stage_high_water_.store(depth, std::memory_order_relaxed);
    };
    if (options_.inject.spin_wait) {
      // The injected defect needs its shape: every event its own hand-off,
      // seq s to stage s % W, so that gate waits pile up as in production.
      for (auto& o : out) dispatch(static_cast<std::size_t>(o.seq) % stage_in_.size(), OutgoingBatch{std::move(o)});
    } else if (!out.empty()) {
      // The whole batch to one stage task: one hand-off and one gate turn
      // per batch instead of per event.
      dispatch(next_stage % stage_in_.size(), std::move(out));
      ++next_stage;
      out = {};
      out.reserve(kMaxBatch);
    }
  }
  for (auto& ch : stage_in_) ch->close();
}

void RelayImpl::broadcast_loop(unsigned index) {
  auto& ch = *stage_in_[index];
  for (;;) {
    auto b = ch.recv();
    if (!b) break;
    if (b->empty()) continue;
    // A batch holds consecutive seqs: its turn comes when its first seq's
    // does, and its last seq's done() lets the next batch through.
    if (gate_->wait_turn(b->front().seq)) {
      if (b->size() == 1)
        broadcaster_->publish(b->front());
      else
        broadcaster_->publish_batch(*b);
    } else {
      for (std::size_t i = 0; i < b->size(); ++i) dropped_.add("broadcast-spin-gave-up");
    }
    gate_->done(b->back().seq);
  }
}

}  // namespace faultline::relay
