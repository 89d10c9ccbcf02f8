// RelayImpl: the parts of the relay and how they are wired (see relay.h for
// the pipeline). Private to relay/core; split over files by stage:
//   relay.cc     create / start / stop, the flusher, run_relay
//   upstream.cc  subscriber tasks: connect, reconnect, per-host checks
//   pipeline.cc  sequencer and ordered broadcast stage
//   firehose.cc  downstream consumers: replay, hand-over, live, too slow
//   xrpc.cc      XRPC, admin and /metrics endpoints
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/core/account_table.h"
#include "relay/core/broadcaster.h"
#include "relay/core/frame_validator.h"
#include "relay/core/host_registry.h"
#include "relay/core/ordered_gate.h"
#include "relay/core/relay.h"
#include "relay/net/http_server.h"
#include "relay/net/websocket_conn.h"
#include "relay/proto/frame.h"
#include "relay/store/event_log.h"
#include "relay/store/state_db.h"

namespace faultline::relay {

// Log record kinds (the `kind` field of the 28-byte record header). The
// record's `flags` hold the host's log tag (host_log_tag) and `uid` the
// event's upstream seq, for recovery.
enum class LogKind : std::uint32_t { commit = 1, sync = 2, identity = 3, account = 4 };

// Counts by reason (invalid frames, dropped events) for /metrics.
class ReasonCounter {
 public:
  void add(const std::string& reason);
  std::map<std::string, std::uint64_t> snapshot() const;
  std::uint64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mutex_;  // a map update; never held across a park
  std::map<std::string, std::uint64_t> counts_;
  std::atomic<std::uint64_t> total_{0};
};

// Parses one com.atproto.sync.listHosts answer: the hostnames of hosts that
// are not banned, and the next page's cursor ("" on the last page).
bool parse_list_hosts_page(const std::string& json, std::vector<std::string>& hostnames, std::string& cursor);

class RelayImpl final : public Relay {
 public:
  explicit RelayImpl(const RelayOptions& options);
  ~RelayImpl() override;

  bool open(std::string& error);
  bool start(std::string& error) override;
  void stop() override;
  std::uint16_t port() const override { return port_; }
  std::uint16_t metrics_port() const override { return metrics_port_; }
  bool add_host(const std::string& address, std::string& error) override;
  RelayCounters counters() const override;
  // Runs render_metrics() in a task of the relay: the consumer queues and
  // the account table are guarded by the backend's primitives, which a
  // plain thread must not take.
  std::string metrics_text() const override;
  bool failed() const override { return log_failed_.load(); }

 private:
  // An event that passed every check, on its way to the sequencer; or, with
  // no frame, only a cursor advance for its host (an event dropped or found
  // invalid still moves the host's cursor, in order with the others).
  struct Accepted {
    HostState* host = nullptr;
    std::int64_t upstream_seq = -1;
    std::shared_ptr<std::string> frame;
    LogKind kind = LogKind::commit;
    AccountEffect effect;  // applied to the durable account view once logged
  };

  // ---- upstream.cc ----
  void start_subscriber(HostState* host);
  void subscriber_loop(HostState* host);
  enum class ConnectionEnd { closed, failed, future_cursor, stopping, banned };
  ConnectionEnd read_upstream(HostState* host, net::WebSocket& ws, bool& progressed);
  // A subscriber reads its host's messages in runs: the first waited for,
  // then every one already read (at most kMaxUpstreamRun), validated as one
  // request. take_upstream_message does the cheap checks and queues a frame
  // on the run; nullopt while the connection goes on.
  static constexpr std::size_t kMaxUpstreamRun = 32;
  std::optional<ConnectionEnd> take_upstream_message(HostState* host, net::Message&& m,
                                                     const std::shared_ptr<FrameValidator::Request>& run,
                                                     std::int64_t& run_seq, bool& progressed);
  // Validates the run and passes each frame, in order, to accept_checked_frame.
  void finish_upstream_run(HostState* host, const std::shared_ptr<FrameValidator::Request>& run);
  // Account checks, then on to the sequencer (or only the cursor moves).
  // `injected_verdict`: the account verdict --inject crossio-mutex already got.
  void accept_checked_frame(HostState* host, std::string&& frame, const proto::FrameCheck& check,
                            const AccountVerdict* injected_verdict);
  void submit_cursor_only(HostState* host, std::int64_t upstream_seq);
  // True when this call changed the status (one caller wins a race, e.g.
  // two requestCrawls waking the same idle host). A banned host stays
  // banned unless lift_ban (the admin API's unban).
  bool set_host_status(HostState* host, store::HostStatus status, bool lift_ban = false);
  void persist_host(HostState* host);
  void bootstrap_from(const std::string& url);

  // ---- pipeline.cc ----
  void sequencer_loop();
  void broadcast_loop(unsigned index);

  // ---- firehose.cc ----
  void serve_consumer(net::WebSocket& ws, const net::Request& request);

  // ---- xrpc.cc ----
  void install_routes();
  // The /metrics text; from a task of this relay only.
  std::string render_metrics() const;
  net::Response handle_list_hosts(const net::Request& r);
  net::Response handle_get_host_status(const net::Request& r);
  net::Response handle_request_crawl(const net::Request& r);
  net::Response handle_list_repos(const net::Request& r);
  net::Response handle_get_repo_status(const net::Request& r);
  net::Response handle_get_latest_commit(const net::Request& r);
  net::Response handle_admin(const net::Request& r, const std::string& action);

  // ---- relay.cc ----
  // Start-up: replays the log records after the last state flush into host
  // cursors and accounts (see "Durability" in relay.h).
  bool recover_from_log(std::string& error);
  void flusher_loop();
  void flush_state();
  // Runs blocking work the way this relay is configured to: on the bridge,
  // or (--inject blocking-in-fiber) right on the calling scheduler thread.
  template <class F>
  auto blocking(F&& fn) {
    if (options_.inject.blocking_in_fiber) return fn();
    return io_->offload(std::forward<F>(fn));
  }

  RelayOptions options_;
  proto::Limits limits_;
  std::unique_ptr<io::Io> io_;
  std::unique_ptr<store::EventLog> log_;
  std::unique_ptr<store::StateDb> db_;
  HostRegistry hosts_;
  std::unique_ptr<AccountTable> accounts_;
  std::unique_ptr<FrameValidator> validator_;
  std::unique_ptr<io::Channel<Accepted>> sequencer_in_;
  std::vector<std::unique_ptr<io::Channel<OutgoingBatch>>> stage_in_;
  std::unique_ptr<OrderedGate> gate_;
  std::unique_ptr<Broadcaster> broadcaster_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpServer> metrics_server_;
  io::TaskHandle sequencer_task_, flusher_task_;
  std::vector<io::TaskHandle> stage_tasks_;
  std::uint16_t port_ = 0, metrics_port_ = 0;

  std::atomic<bool> started_{false}, stopping_{false}, stopped_{false};
  std::atomic<std::uint64_t> received_{0}, accepted_{0}, sent_{0}, reconnects_{0};
  std::atomic<std::uint64_t> upstream_runs_{0}, sequencer_batches_{0};
  std::atomic<std::size_t> stage_high_water_{0};
  std::atomic<std::size_t> consumers_served_{0};
  ReasonCounter invalid_, dropped_;
  std::atomic<bool> log_failed_{false};
  // Relay seq through which every logged event has been applied to host
  // cursors and durable account state (the sequencer advances it).
  std::atomic<std::int64_t> applied_seq_{0};
  // applied_seq_ as of the last successful state flush (the flusher's own).
  std::int64_t flushed_seq_ = 0;
  bool state_save_failed_ = false;  // a flush failed: the marker no longer moves
};

}  // namespace faultline::relay
