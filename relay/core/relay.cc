// Relay start-up (with the replay of the log after the last state flush),
// shutdown, the state flusher and `faultline relay`.
#include "relay/core/relay.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "relay/core/relay_impl.h"

namespace faultline::relay {

using namespace std::chrono_literals;

void ReasonCounter::add(const std::string& reason) {
  total_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard g(mutex_);
  ++counts_[reason];
}

std::map<std::string, std::uint64_t> ReasonCounter::snapshot() const {
  std::lock_guard g(mutex_);
  return counts_;
}

RelayImpl::RelayImpl(const RelayOptions& options) : options_(options), hosts_(options.default_limits) {
  limits_.max_frame_bytes = options_.max_frame_bytes;
}

RelayImpl::~RelayImpl() { stop(); }

bool RelayImpl::open(std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) {
    error = "cannot create data directory " + options_.data_dir + ": " + ec.message();
    return false;
  }
  store::EventLogOptions lo;
  lo.events_per_segment = static_cast<std::int64_t>(options_.events_per_segment);
  lo.retention = options_.retention;
  lo.fsync = options_.fsync == FsyncPolicy::every_batch ? store::FsyncPolicy::every_batch
             : options_.fsync == FsyncPolicy::never     ? store::FsyncPolicy::never
                                                        : store::FsyncPolicy::interval;
  lo.fsync_interval = options_.fsync_interval;
  lo.max_event_bytes = static_cast<std::uint32_t>(options_.max_frame_bytes);
  auto log = store::EventLog::open(fs::path(options_.data_dir) / "events", lo);
  if (!log.ok()) {
    error = "event log in " + options_.data_dir + "/events: " + log.status().to_string();
    return false;
  }
  log_ = std::make_unique<store::EventLog>(std::move(log).value());
  if (auto& rec = log_->recovery(); rec.bytes_truncated > 0)
    std::fprintf(stderr, "relay: event log: truncated a torn tail of %llu bytes in %s (%s); resuming after seq %lld\n",
                 static_cast<unsigned long long>(rec.bytes_truncated), rec.segment.c_str(), rec.reason.c_str(),
                 static_cast<long long>(log_->last_seq()));
  auto db = store::StateDb::open(store::StateDb::default_path(options_.data_dir));
  if (!db.ok()) {
    error = "state database: " + db.status().to_string();
    return false;
  }
  db_ = std::make_unique<store::StateDb>(std::move(db).value());

  io::Options io_options;
  io_options.backend = options_.backend;
  io_options.scheduler_threads = options_.scheduler_threads;
  io_options.bridge_workers = std::max(1u, options_.validate_workers);
  io_options.thread_stack_size = 256 * 1024;
  io_ = io::Io::create(io_options);
  accounts_ = std::make_unique<AccountTable>(*io_);
  validator_ = std::make_unique<FrameValidator>(*io_, limits_, options_.batch_window);
  sequencer_in_ = io_->make_channel<Accepted>(8192, "sequencer.in");
  const unsigned w = std::max(1u, options_.broadcast_fibers);
  for (unsigned i = 0; i < w; ++i) stage_in_.push_back(io_->make_channel<OutgoingBatch>(8192, "broadcast.stage"));
  const std::int64_t next = log_->next_seq();
  gate_ = options_.inject.spin_wait ? OrderedGate::spinning(next, options_.spin_budget) : OrderedGate::parking(*io_, next);
  broadcaster_ = std::make_unique<Broadcaster>(*io_, options_.inject.consumer_uaf);
  broadcaster_->set_last_published(log_->last_seq());
  net::HttpServerOptions so;
  so.websocket.max_message_bytes = 64 * 1024;  // consumers send only control frames
  server_ = std::make_unique<net::HttpServer>(*io_, so);
  metrics_server_ = std::make_unique<net::HttpServer>(*io_);
  return true;
}

bool RelayImpl::start(std::string& error) {
  if (started_.exchange(true)) {
    error = "already started";
    return false;
  }
  // The hosts asked for on the command line and in the hosts file.
  std::vector<std::string> wanted = options_.hosts;
  if (!options_.hosts_file.empty()) {
    std::ifstream in(options_.hosts_file);
    if (!in) {
      error = "cannot read hosts file " + options_.hosts_file;
      return false;
    }
    std::string line;
    while (std::getline(in, line)) {
      auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      std::size_t b = 0;
      while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
      if (b < line.size()) wanted.push_back(line.substr(b));
    }
  }
  // The database keeps hostnames, not schemes: a host given here as
  // wss://127.0.0.1:P (or ws://pds.example) would come back from it with the
  // default scheme for its name, so the address given wins.
  std::map<std::string, HostAddress> given;
  for (auto& w : wanted) {
    std::string e;
    auto a = parse_host_address(w, e);
    if (!a) {
      error = e;
      return false;
    }
    given.insert_or_assign(a->hostname, *a);
  }
  // Known hosts and accounts from the database.
  bool loaded = io_->block_on([&] {
    std::string after;
    for (int page = 0; page < 1'000'000; ++page) {
      auto rows = io_->offload([&] { return db_->list_hosts(after, 1000); });
      if (!rows.ok()) {
        error = "reading hosts: " + rows.status().to_string();
        return false;
      }
      for (auto& row : *rows) {
        std::string e;
        auto addr = parse_host_address(row.hostname, e);
        if (!addr) continue;
        if (auto g = given.find(addr->hostname); g != given.end()) addr = g->second;
        bool inserted = false;
        auto* h = hosts_.add(*addr, inserted);
        h->status.store(row.status);
        h->cursor.store(row.cursor);
        h->last_seq.store(row.cursor);
        auto l = hosts_.default_limits();
        if (row.limits.per_second) l.per_second = *row.limits.per_second;
        if (row.limits.per_hour) l.per_hour = *row.limits.per_hour;
        if (row.limits.per_day) l.per_day = *row.limits.per_day;
        h->limiter.set_limits(l);
      }
      if (rows->size() < 1000) break;
      after = rows->back().hostname;
    }
    after.clear();
    std::vector<store::Account> all;
    for (int page = 0; page < 1'000'000; ++page) {
      auto rows = io_->offload([&] { return db_->list_accounts(after, 5000); });
      if (!rows.ok()) {
        error = "reading accounts: " + rows.status().to_string();
        return false;
      }
      all.insert(all.end(), rows->begin(), rows->end());
      if (rows->size() < 5000) break;
      after = rows->back().did;
    }
    accounts_->load(all);
    return recover_from_log(error);
  });
  if (!loaded) return false;

  sequencer_task_ = io_->spawn([this] { sequencer_loop(); }, "sequencer");
  // Two batches in flight keep both cores busy at most; the other bridge
  // workers stay free for the log and the state database.
  validator_->start(std::max(1u, options_.validate_workers / 2));
  for (unsigned i = 0; i < stage_in_.size(); ++i)
    stage_tasks_.push_back(io_->spawn([this, i] { broadcast_loop(i); }, "broadcast-stage"));
  flusher_task_ = io_->spawn([this] { flusher_loop(); }, "state-flusher");

  install_routes();
  auto at = io::Endpoint::parse(options_.listen_address + ":" + std::to_string(options_.port));
  if (!at) at = io::Endpoint::parse("[" + options_.listen_address + "]:" + std::to_string(options_.port));
  auto mat = io::Endpoint::parse(options_.listen_address + ":" + std::to_string(options_.metrics_port));
  if (!mat) mat = io::Endpoint::parse("[" + options_.listen_address + "]:" + std::to_string(options_.metrics_port));
  if (!at || !mat) {
    error = "--listen " + options_.listen_address + " is not an IP address";
    return false;
  }
  auto p = server_->listen(*at);
  if (!p) {
    error = "cannot listen on " + at->to_string() + ": " + p.message();
    return false;
  }
  port_ = p.value;
  auto mp = metrics_server_->listen(*mat);
  if (!mp) {
    error = "cannot listen on " + mat->to_string() + " (metrics): " + mp.message();
    return false;
  }
  metrics_port_ = mp.value;

  // Upstreams: what the database knew, then the command line, the hosts
  // file and the bootstrap relays (`wanted`, read before the database).
  io_->block_on([&] {
    for (auto* h : hosts_.all())
      if (h->status.load() != store::HostStatus::banned) start_subscriber(h);
    for (auto& w : wanted) {
      std::string e;
      add_host(w, e);
    }
    for (auto& b : options_.bootstrap) bootstrap_from(b);
  });
  return true;
}

bool RelayImpl::add_host(const std::string& address, std::string& error) {
  auto addr = parse_host_address(address, error);
  if (!addr) return false;
  bool inserted = false;
  auto* h = hosts_.add(*addr, inserted);
  if (!inserted) {
    if (h->status.load() == store::HostStatus::banned) {
      error = "host " + h->hostname + " is banned";
      return false;
    }
    // requestCrawl for a known host: wake an idle or offline one now.
    if (h->status.load() != store::HostStatus::active && set_host_status(h, store::HostStatus::active)) {
      h->task.cancel();
      h->task.join();
      start_subscriber(h);
    }
    return true;
  }
  if (stopping_.load()) {
    error = "relay is shutting down";
    return false;
  }
  persist_host(h);
  start_subscriber(h);
  return true;
}

namespace {
constexpr const char* kStateSeqFile = "state-seq";
constexpr std::size_t kRecoveryChunk = 1000;
}  // namespace

bool RelayImpl::recover_from_log(std::string& error) {
  namespace fs = std::filesystem;
  const fs::path marker = fs::path(options_.data_dir) / kStateSeqFile;
  // The relay seq the database is complete through; none yet: the whole log.
  const std::int64_t flushed = blocking([&] {
    std::ifstream in(marker);
    long long v = 0;
    return in >> v && v > 0 ? static_cast<std::int64_t>(v) : std::int64_t{0};
  });
  std::map<std::uint32_t, HostState*> by_tag;
  std::set<std::uint32_t> shared;
  for (auto* h : hosts_.all())
    if (!by_tag.emplace(h->log_tag, h).second) shared.insert(h->log_tag);
  for (auto t : shared) by_tag.erase(t);

  proto::Limits limits = limits_;
  limits.verify_block_cids = false;  // logged frames were checked on the way in
  std::vector<store::StoredEvent> chunk;
  std::vector<AccountEffect> effects;
  std::int64_t from = flushed;
  std::size_t replayed = 0;
  for (;;) {
    chunk.clear();
    effects.clear();
    auto n = io_->offload([&] {
      auto r = log_->read_after(from, kRecoveryChunk, chunk);
      if (!r.ok()) return r;
      for (auto& e : chunk) {
        auto c = proto::check_frame(std::span(reinterpret_cast<const std::uint8_t*>(e.frame.data()), e.frame.size()),
                                    limits);
        AccountEffect a;
        a.did = c.did;
        if (auto it = by_tag.find(e.flags); it != by_tag.end()) a.host = it->second->hostname;
        if (c.ok && (c.kind == proto::Kind::kCommit || c.kind == proto::Kind::kSync)) {
          a.kind = AccountEffect::Kind::commit;
          a.rev = c.rev;
          a.commit_cid = c.commit ? c.commit->to_string() : "";
        } else if (c.ok && c.kind == proto::Kind::kAccount) {
          a.kind = AccountEffect::Kind::account;
          a.active = c.account_active;
          a.status = c.account_status;
        } else if (c.ok && c.kind == proto::Kind::kIdentity) {
          a.kind = AccountEffect::Kind::identity;
        }
        effects.push_back(std::move(a));
      }
      return r;
    });
    if (!n.ok()) {
      error = "replaying the event log after seq " + std::to_string(from) + ": " + n.status().to_string();
      return false;
    }
    for (auto& e : chunk) {
      auto it = by_tag.find(e.flags);
      if (it == by_tag.end()) continue;
      auto* h = it->second;
      const auto upstream_seq = static_cast<std::int64_t>(e.uid);
      if (upstream_seq > h->cursor.load()) {
        h->cursor.store(upstream_seq);
        h->last_seq.store(upstream_seq);
        h->cursor_dirty.store(true);
      }
    }
    accounts_->recover(effects);
    replayed += chunk.size();
    if (!chunk.empty()) from = chunk.back().seq;
    if (chunk.size() < kRecoveryChunk) break;
  }
  applied_seq_.store(log_->last_seq());
  flushed_seq_ = flushed;
  if (replayed > 0)
    std::fprintf(stderr,
                 "relay: replayed %zu events logged after the last state flush (seq %lld) into host cursors "
                 "and accounts%s\n",
                 replayed, static_cast<long long>(flushed),
                 shared.empty() ? "" : " (hosts with a shared log tag resume from their saved cursors)");
  return true;
}

void RelayImpl::flush_state() {
  // Everything logged through `applied` is reflected in the snapshot below
  // (which may include later events too: replaying those is harmless).
  const std::int64_t applied = applied_seq_.load(std::memory_order_acquire);
  std::vector<store::HostCursor> cursors;
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  for (auto* h : hosts_.all())
    if (h->cursor_dirty.exchange(false)) cursors.push_back({h->hostname, h->cursor.load(), now});
  auto accounts = accounts_->take_dirty();
  if (cursors.empty() && accounts.empty() && applied == flushed_seq_) return;
  bool saved = blocking([&] {
    // The log first: the state saved must never be ahead of what of the log
    // survives a power failure (with --fsync never, by decree it all does).
    if (options_.fsync != FsyncPolicy::never)
      if (auto s = log_->sync(); !s.ok()) {
        std::fprintf(stderr, "relay: syncing the event log before saving state: %s\n", s.to_string().c_str());
        return false;
      }
    bool ok = true;
    // Accounts first: a cursor saved ahead of its accounts would skip
    // their updates after a crash; the other way round only replays them.
    if (!accounts.empty())
      if (auto s = db_->upsert_accounts(accounts); !s.ok()) {
        std::fprintf(stderr, "relay: saving %zu accounts: %s\n", accounts.size(), s.to_string().c_str());
        ok = false;
      }
    if (!cursors.empty())
      if (auto r = db_->save_cursors(cursors); !r.ok()) {
        std::fprintf(stderr, "relay: saving cursors: %s\n", r.status().to_string().c_str());
        ok = false;
      }
    if (!ok) {
      // What was not saved stays in the log: from now on the marker stays
      // where it is, so the next start-up replays it.
      state_save_failed_ = true;
      return false;
    }
    if (state_save_failed_) return false;
    // Then the seq the database is now complete through (write + rename:
    // a crash leaves the old or the new value, and an old one only makes the
    // next start-up replay more).
    namespace fs = std::filesystem;
    const fs::path marker = fs::path(options_.data_dir) / kStateSeqFile;
    const fs::path tmp = marker.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << applied << '\n';
      if (!out.flush()) {
        std::fprintf(stderr, "relay: writing %s failed\n", tmp.c_str());
        return false;
      }
    }
    std::error_code ec;
    fs::rename(tmp, marker, ec);
    if (ec) {
      std::fprintf(stderr, "relay: renaming %s: %s\n", tmp.c_str(), ec.message().c_str());
      return false;
    }
    return true;
  });
  if (saved) flushed_seq_ = applied;
}

void RelayImpl::flusher_loop() {
  auto last_flush = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    io_->sleep_for(1s);
    broadcaster_->sweep();
    if (std::chrono::steady_clock::now() - last_flush >= options_.cursor_flush_interval) {
      flush_state();
      last_flush = std::chrono::steady_clock::now();
    }
  }
}

void RelayImpl::stop() {
  if (!started_.load() || stopped_.exchange(true)) return;
  stopping_.store(true);
  // 1. No new consumers or requests; consumer tasks are cancelled.
  if (server_) server_->stop();
  if (metrics_server_) metrics_server_->stop();
  // 2. Subscribers: cancel (they may be parked in recv or a backoff sleep).
  for (auto* h : hosts_.all()) h->task.cancel();
  for (auto* h : hosts_.all())
    if (h->task.valid()) h->task.join();
  if (validator_) validator_->stop();
  // 3. Drain the pipeline: everything accepted gets into the log. (The
  // channel's primitives are the backend's: closed from a task, not from
  // this thread.)
  io_->block_on([&] { sequencer_in_->close(); });
  sequencer_task_.join();
  for (auto& t : stage_tasks_) t.join();
  flusher_task_.cancel();
  flusher_task_.join();
  // 4. Persist cursors and accounts, then sync the log.
  io_->block_on([&] { flush_state(); });
  if (log_) {
    auto s = log_->sync();
    if (!s.ok()) std::fprintf(stderr, "relay: final log sync: %s\n", s.to_string().c_str());
  }
}

RelayCounters RelayImpl::counters() const {
  RelayCounters c;
  c.received = received_.load();
  c.accepted = accepted_.load();
  c.invalid = invalid_.total();
  c.dropped = dropped_.total();
  c.sent = sent_.load();
  c.log_seq = log_ ? log_->last_seq() : 0;
  c.consumers = broadcaster_ ? broadcaster_->consumers() : 0;
  for (auto* h : hosts_.all()) {
    ++c.hosts;
    if (h->connected.load()) ++c.hosts_connected;
  }
  return c;
}

std::unique_ptr<Relay> Relay::create(const RelayOptions& options, std::string& error) {
  auto relay = std::make_unique<RelayImpl>(options);
  if (!relay->open(error)) return nullptr;
  return relay;
}

int run_relay(const RelayOptions& options) {
  // Block the shutdown signals before any thread exists, so every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::string error;
  auto relay = Relay::create(options, error);
  if (!relay) {
    std::fprintf(stderr, "faultline relay: %s\n", error.c_str());
    return 1;
  }
  if (!relay->start(error)) {
    std::fprintf(stderr, "faultline relay: %s\n", error.c_str());
    relay->stop();
    return 1;
  }
  std::fprintf(stderr,
               "relay: firehose ws://%s:%u/xrpc/com.atproto.sync.subscribeRepos, XRPC http://%s:%u/xrpc/, metrics "
               "http://%s:%u/metrics; backend %s; data %s; inject %s\n",
               options.listen_address.c_str(), relay->port(), options.listen_address.c_str(), relay->port(),
               options.listen_address.c_str(), relay->metrics_port(), std::string(io::to_string(options.backend)).c_str(),
               options.data_dir.c_str(), options.inject.to_string().c_str());

  // A progress line every 10 s; sigwait with a timeout between them.
  auto last = relay->counters();
  auto last_t = std::chrono::steady_clock::now();
  int sig = 0;
  for (;;) {
    timespec ts{1, 0};
    siginfo_t info;
    sig = sigtimedwait(&set, &info, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (relay->failed()) break;
    if (options.quiet || std::chrono::steady_clock::now() - last_t < 10s) continue;
    auto now = relay->counters();
    auto t = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(t - last_t).count();
    std::fprintf(stderr, "relay: %zu/%zu hosts connected, %zu consumers, in %.0f ev/s, out %.0f ev/s, seq %lld, "
                 "invalid %llu, dropped %llu\n",
                 now.hosts_connected, now.hosts, now.consumers, (now.received - last.received) / dt,
                 (now.sent - last.sent) / dt, static_cast<long long>(now.log_seq),
                 static_cast<unsigned long long>(now.invalid), static_cast<unsigned long long>(now.dropped));
    last = now;
    last_t = t;
  }
  const bool failed = relay->failed();
  if (failed)
    std::fprintf(stderr, "relay: the event log failed; shutting down\n");
  else
    std::fprintf(stderr, "relay: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  relay->stop();
  if (failed) return 2;
  auto c = relay->counters();
  std::fprintf(stderr, "relay: stopped cleanly at seq %lld (%llu received, %llu accepted, %llu sent)\n",
               static_cast<long long>(c.log_seq), static_cast<unsigned long long>(c.received),
               static_cast<unsigned long long>(c.accepted), static_cast<unsigned long long>(c.sent));
  return 0;
}

}  // namespace faultline::relay
