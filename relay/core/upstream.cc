// Subscriber tasks: one per upstream host, for the life of the relay.
//
// Each runs connect → read frames → reconnect. Why each step is as it is:
//  - Backoff is exponential with full jitter (uniform in [0, min(max, base *
//    2^attempt)]): 2,800 hosts that dropped at once (a relay restart, a
//    network blip) must not all redial in the same millisecond.
//  - The subscription resumes from the host's cursor, which only advances
//    once the event is durable in the log: a reconnect or a relay crash can
//    make the host resend events, never lose them, and resent events are
//    dropped by the per-host seq check.
//  - After `offline_after_failures` consecutive failed dials the host is
//    marked offline, and keeps being retried at the maximum backoff (it comes
//    back by itself; indigo gives up and waits for a requestCrawl instead).
//  - `FutureCursor` from a host means it lost events we already have (its
//    seq went backwards): the host is marked idle, its cursor reset to 0, and
//    it is retried at the maximum backoff or at once on requestCrawl.
//  - Rate limits delay reading (TCP back-pressure), they never drop.
#include <chrono>
#include <cstdio>
#include <random>

#include "relay/core/relay_impl.h"
#include "relay/net/http_client.h"

namespace faultline::relay {

using namespace std::chrono_literals;

void RelayImpl::start_subscriber(HostState* host) {
  host->task = io_->spawn([this, host] { subscriber_loop(host); }, "subscriber:" + host->hostname);
}

void RelayImpl::persist_host(HostState* host) {
  store::Host row;
  row.hostname = host->hostname;
  row.status = host->status.load();
  row.cursor = host->cursor.load();
  auto limits = host->limiter.limits();
  row.limits = {limits.per_second, limits.per_hour, limits.per_day};
  auto status = blocking([&] { return db_->upsert_host(row); });
  if (!status.ok()) std::fprintf(stderr, "relay: saving host %s: %s\n", host->hostname.c_str(), status.to_string().c_str());
}

bool RelayImpl::set_host_status(HostState* host, store::HostStatus status, bool lift_ban) {
  auto current = host->status.load();
  do {
    if (current == status) return false;
    // A subscriber racing with the admin API must not un-ban its host.
    if (current == store::HostStatus::banned && !lift_ban) return false;
  } while (!host->status.compare_exchange_weak(current, status));
  if (!options_.quiet)
    std::fprintf(stderr, "relay: host %s is now %s\n", host->hostname.c_str(), std::string(store::to_string(status)).c_str());
  persist_host(host);
  return true;
}

void RelayImpl::subscriber_loop(HostState* host) {
  std::mt19937_64 rng(std::hash<std::string>{}(host->hostname) ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  unsigned attempt = 0;
  bool connected_before = false;
  auto backoff = [&](unsigned n) {
    auto cap = std::min<std::int64_t>(options_.backoff_max.count(),
                                      options_.backoff_initial.count() << std::min(n, 20u));
    std::uniform_int_distribution<std::int64_t> d(cap / 2, std::max<std::int64_t>(cap, 1));
    return std::chrono::milliseconds(d(rng));
  };
  while (!stopping_.load()) {
    if (host->status.load() == store::HostStatus::banned) return;
    net::Url url = host->url;
    // Resume after the newest event already in the pipeline (it reaches the
    // log even if the connection is gone). A host first met with no cursor
    // is subscribed live, as the reference relays do; once this process has
    // been connected to it, a reconnect always sends a cursor (0 included),
    // or events emitted while it was away would be skipped.
    const auto c = std::max(host->cursor.load(), host->last_seq.load());
    if (c > 0 || connected_before) url.path_and_query += "?cursor=" + std::to_string(c);
    net::ConnectOptions co;
    co.handshake_reader = options_.inject.ws_split_bug ? net::HandshakeReaderKind::buggy : net::HandshakeReaderKind::fixed;
    // Twice the frame limit: a frame somewhat over the limit is read whole,
    // counted as too-large and dropped — its seq moves the cursor past it.
    // Were the WebSocket limit the frame limit, the connection would fail
    // on it (1009), the host would resend it on reconnect, and the host
    // would be stuck on that frame for ever. Beyond twice the limit the
    // framing itself counts as broken.
    co.max_message_bytes = 2 * options_.max_frame_bytes;
    co.connect_timeout = 10s;
    co.handshake_timeout = 10s;
    co.tls_ca_file = options_.tls_ca_file;
    auto ws = net::WebSocket::connect(*io_, url, co);
    if (!ws) {
      auto failures = host->consecutive_failures.fetch_add(1) + 1;
      // Why a host cannot be reached (a TLS verification failure above all)
      // is the operator's to see; for a host that stays down, on attempts
      // 1, 2, 4, 8, ... only.
      if (!options_.quiet && (failures & (failures - 1)) == 0)
        std::fprintf(stderr, "relay: host %s: %s (attempt %u)\n", host->hostname.c_str(), ws.message().c_str(),
                     static_cast<unsigned>(failures));
      if (failures >= options_.offline_after_failures && host->status.load() == store::HostStatus::active)
        set_host_status(host, store::HostStatus::offline);
      io_->sleep_for(host->status.load() == store::HostStatus::offline ? options_.backoff_max : backoff(attempt++));
      continue;
    }
    if (connected_before) {
      host->reconnects.fetch_add(1);
      reconnects_.fetch_add(1);
    }
    connected_before = true;
    host->connected.store(true);
    bool progressed = false;
    auto end = read_upstream(host, ws.value, progressed);
    host->connected.store(false);
    if (end == ConnectionEnd::stopping || end == ConnectionEnd::banned) {
      ws.value.close(net::close_code::going_away, "relay shutting down");
      return;
    }
    ws.value.abort();
    if (progressed) {
      attempt = 0;
      host->consecutive_failures.store(0);
      if (host->status.load() != store::HostStatus::active && end != ConnectionEnd::future_cursor)
        set_host_status(host, store::HostStatus::active);
    }
    if (end == ConnectionEnd::future_cursor) {
      host->cursor.store(0);
      host->last_seq.store(0);
      host->cursor_dirty.store(true);
      set_host_status(host, store::HostStatus::idle);
      io_->sleep_for(options_.backoff_max);
      continue;
    }
    io_->sleep_for(backoff(attempt++));
  }
}

RelayImpl::ConnectionEnd RelayImpl::read_upstream(HostState* host, net::WebSocket& ws, bool& progressed) {
  auto run = std::make_shared<FrameValidator::Request>(*io_);
  // The injected cross-backend defect checks each frame on its own.
  const std::size_t max_run = options_.inject.crossio_mutex ? 1 : kMaxUpstreamRun;
  for (;;) {
    if (stopping_.load()) return ConnectionEnd::stopping;
    if (host->status.load() == store::HostStatus::banned) return ConnectionEnd::banned;
    // One message, waiting for it; then every further one already read,
    // without waiting: a busy host's burst is validated as one run.
    auto m = ws.recv(options_.upstream_idle_timeout);
    std::optional<ConnectionEnd> end;
    std::int64_t run_seq = -1;
    for (;;) {
      if (!m) {
        end = ConnectionEnd::failed;
        break;
      }
      end = take_upstream_message(host, std::move(m.value), run, run_seq, progressed);
      if (end || run->frames.size() >= max_run) break;
      m = ws.try_recv();
      if (!m && m.error == EWOULDBLOCK) break;
    }
    // What came before a failure, a close or an error frame is still the
    // host's, in order.
    finish_upstream_run(host, run);
    if (end) return *end;
  }
}

std::optional<RelayImpl::ConnectionEnd> RelayImpl::take_upstream_message(HostState* host, net::Message&& m,
                                                                         const std::shared_ptr<FrameValidator::Request>& run,
                                                                         std::int64_t& run_seq, bool& progressed) {
  if (m.opcode == net::Opcode::close) return ConnectionEnd::closed;
  if (m.opcode != net::Opcode::binary) {
    invalid_.add("text-message");
    host->invalid.fetch_add(1);
    return std::nullopt;
  }
  progressed = true;
  std::string& frame = m.payload;
  received_.fetch_add(1, std::memory_order_relaxed);
  host->received.fetch_add(1, std::memory_order_relaxed);
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());

  // Cheap ordering check first: a resent or regressed event is not worth
  // validating. Frames of this run are not in host->last_seq yet.
  auto peek = proto::peek_header(bytes);
  if (peek.ok && peek.op == 1 && peek.seq >= 0 && peek.seq <= std::max(host->last_seq.load(), run_seq)) {
    dropped_.add("seq-not-newer");
    host->dropped.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (peek.ok && peek.op == -1) {
    auto check = proto::check_frame(bytes, limits_);
    if (check.error_name == proto::kErrorFutureCursor) {
      std::fprintf(stderr, "relay: host %s answered FutureCursor to cursor %lld\n", host->hostname.c_str(),
                   static_cast<long long>(host->cursor.load()));
      return ConnectionEnd::future_cursor;
    }
    std::fprintf(stderr, "relay: host %s sent error frame %s: %s\n", host->hostname.c_str(),
                 check.error_name.c_str(), check.error_message.c_str());
    return ConnectionEnd::failed;
  }
  if (peek.ok && peek.type == "#info") {
    auto check = proto::check_frame(bytes, limits_);
    if (!options_.quiet)
      std::fprintf(stderr, "relay: host %s: #info %s %s\n", host->hostname.c_str(), check.info_name.c_str(),
                   check.info_message.c_str());
    return std::nullopt;  // informational, not relayed
  }

  auto wait = host->limiter.admit();
  if (wait != Clock::duration::zero()) {
    // Over its limit: what this run holds goes on now, then the host waits
    // (TCP back-pressure slows it down).
    finish_upstream_run(host, run);
    do {
      io_->sleep_for(std::chrono::duration_cast<io::Duration>(wait));
      wait = host->limiter.admit();
    } while (wait != Clock::duration::zero());
  }
  if (peek.ok && peek.op == 1 && peek.seq >= 0) run_seq = std::max(run_seq, peek.seq);
  run->frames.push_back(std::move(frame));
  return std::nullopt;
}

void RelayImpl::submit_cursor_only(HostState* host, std::int64_t upstream_seq) {
  if (upstream_seq <= host->last_seq.load()) return;
  host->last_seq.store(upstream_seq);
  sequencer_in_->send(Accepted{host, upstream_seq, nullptr, LogKind::commit, {}});
}

void RelayImpl::finish_upstream_run(HostState* host, const std::shared_ptr<FrameValidator::Request>& run) {
  if (run->frames.empty()) return;
  upstream_runs_.fetch_add(1, std::memory_order_relaxed);
  // Validation is CPU work (CAR parse, a SHA-256 per block): a bridge worker
  // does it while this fiber's thread serves other hosts, batched with other
  // hosts' frames (frame_validator.h).
  if (options_.inject.crossio_mutex) {
    // A run of one frame (read_upstream).
    AccountVerdict injected_verdict = AccountVerdict::pass;
    const std::string& frame = run->frames.front();
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());
    auto check = io_->offload([&] {
      auto c = proto::check_frame(bytes, limits_);
      if (c.ok && (c.kind == proto::Kind::kCommit || c.kind == proto::Kind::kSync)) {
        // The injected defect: the account check, with its Evented mutex,
        // from this bridge worker thread.
        injected_verdict = accounts_->on_commit(c.did, host->hostname, c.rev, c.commit ? c.commit->to_string() : "");
      }
      return c;
    });
    accept_checked_frame(host, std::move(run->frames.front()), check, &injected_verdict);
  } else {
    validator_->check(run);
    for (std::size_t i = 0; i < run->frames.size(); ++i)
      accept_checked_frame(host, std::move(run->frames[i]), run->results[i], nullptr);
  }
  run->frames.clear();
}

void RelayImpl::accept_checked_frame(HostState* host, std::string&& frame, const proto::FrameCheck& check,
                                     const AccountVerdict* injected_verdict) {
  if (!check.ok) {
    invalid_.add(check.reason);
    host->invalid.fetch_add(1, std::memory_order_relaxed);
    if (check.seq >= 0) submit_cursor_only(host, check.seq);
    return;
  }

  AccountVerdict verdict = AccountVerdict::pass;
  LogKind kind = LogKind::commit;
  AccountEffect effect;
  effect.did = check.did;
  effect.host = host->hostname;
  switch (check.kind) {
    case proto::Kind::kCommit:
    case proto::Kind::kSync:
      kind = check.kind == proto::Kind::kCommit ? LogKind::commit : LogKind::sync;
      effect.kind = AccountEffect::Kind::commit;
      effect.rev = check.rev;
      effect.commit_cid = check.commit ? check.commit->to_string() : "";
      verdict = injected_verdict ? *injected_verdict
                                 : accounts_->on_commit(check.did, host->hostname, check.rev, effect.commit_cid);
      break;
    case proto::Kind::kAccount:
      kind = LogKind::account;
      effect.kind = AccountEffect::Kind::account;
      effect.active = check.account_active;
      effect.status = check.account_status;
      accounts_->on_account(check.did, host->hostname, check.account_active, check.account_status);
      break;
    case proto::Kind::kIdentity:
      kind = LogKind::identity;
      effect.kind = AccountEffect::Kind::identity;
      accounts_->on_identity(check.did, host->hostname);
      break;
    default:
      invalid_.add("unexpected-kind");
      host->invalid.fetch_add(1, std::memory_order_relaxed);
      return;
  }
  if (verdict != AccountVerdict::pass) {
    dropped_.add(std::string(to_string(verdict)));
    host->dropped.fetch_add(1, std::memory_order_relaxed);
    submit_cursor_only(host, check.seq);
    return;
  }
  host->last_seq.store(check.seq);
  host->accepted.fetch_add(1, std::memory_order_relaxed);
  accepted_.fetch_add(1, std::memory_order_relaxed);
  sequencer_in_->send(
      Accepted{host, check.seq, std::make_shared<std::string>(std::move(frame)), kind, std::move(effect)});
}

void RelayImpl::bootstrap_from(const std::string& base) {
  auto url = net::parse_url(base);
  if (!url) {
    std::fprintf(stderr, "relay: --bootstrap %s: not a URL\n", base.c_str());
    return;
  }
  std::string cursor;
  std::size_t added = 0;
  for (int page = 0; page < 10'000; ++page) {
    net::Url u = *url;
    u.path_and_query = "/xrpc/com.atproto.sync.listHosts?limit=1000";
    if (!cursor.empty()) u.path_and_query += "&cursor=" + net::percent_encode(cursor);
    net::HttpGetOptions get_options;
    get_options.tls_ca_file = options_.tls_ca_file;
    auto r = net::http_get(*io_, u, 30s, get_options);
    if (!r || r.value.status != 200) {
      std::fprintf(stderr, "relay: bootstrap from %s failed: %s\n", base.c_str(),
                   r ? ("HTTP " + std::to_string(r.value.status)).c_str() : r.message().c_str());
      break;
    }
    std::vector<std::string> names;
    std::string next;
    if (!parse_list_hosts_page(r.value.body, names, next)) {
      std::fprintf(stderr, "relay: bootstrap from %s: listHosts answer is not the expected JSON\n", base.c_str());
      break;
    }
    for (auto& n : names) {
      std::string error;
      if (add_host(n, error)) ++added;
      else std::fprintf(stderr, "relay: bootstrap host %s: %s\n", n.c_str(), error.c_str());
    }
    if (next.empty() || names.empty()) break;
    cursor = next;
  }
  std::fprintf(stderr, "relay: bootstrap from %s: %zu hosts\n", base.c_str(), added);
}

}  // namespace faultline::relay
