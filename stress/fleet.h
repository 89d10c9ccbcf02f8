// Fleet: N fake upstream hosts (PDSes) for the stress suite, each serving
// com.atproto.sync.subscribeRepos on its own loopback port, plus one control
// port with com.atproto.sync.listHosts, per-host statistics and the
// misbehaviour switches. Runs on an Evented io::Io (see stress/README.md for
// why a raw accept loop per host instead of an HttpServer per host).
//
// Emission model (per host):
//  - Host i of N gets rate_i = rate · w_i / Σw with Zipf weights
//    w_i = 1/(i+1)^s (host 0 the hottest); arrivals are Poisson. An event's
//    `time` is its *scheduled* emit time, so a host that cannot write (the
//    relay is not reading, the host is stalled) still stamps events on
//    schedule and the measured latency includes the queueing.
//  - Events are generated lazily ("catch-up": every event whose scheduled
//    time has passed) by whoever looks at the host — its connection, the
//    stats endpoint, pause — under the host's lock, so quiet hosts cost
//    nothing between events and no fiber is needed per host to emit.
//  - Each event gets the host's next seq (from 1), a strictly increasing
//    emit time (µs), a DID from make_did(host, account) and a rev TID from
//    its emit time (so revs keep increasing across a seq reset).
//    Kinds: #commit (one create op, real CAR, correct CIDs), #identity,
//    #account, mixed by FleetOptions shares.
//  - The host keeps a bounded ring of event *specs* (24 bytes each); frames
//    are built from the spec when written, so a replay rebuilds exactly the
//    same bytes (the builders are deterministic).
//
// Connections: GET /xrpc/com.atproto.sync.subscribeRepos[?cursor=N] on the
// host's port. No cursor: live from the next event. cursor > current seq:
// error frame FutureCursor, close. cursor older than the ring: #info
// OutdatedCursor, then from the oldest kept event (the skipped valid events
// are counted as `lost`). Else replay seq > cursor, then live. A newer
// connection to the same host replaces the older one (shut down).
//
// Accounting per host (what a correct relay must deliver):
//   expected = valid − lost − regressed
//   valid      events emitted without a defect
//   lost       valid events the relay could never get: evicted from the ring
//              before it asked for them (a stall longer than the ring), or
//              never written because the relay resubscribed without a cursor
//              (live) after a drop — what a relay does before it has a
//              durable cursor for the host
//   regressed  valid events after a seq reset whose seq is not above the
//              highest seq of the previous numbering (a relay drops those)
// Hosts whose seq was reset are flagged: after a reset a relay may also
// refuse the host (FutureCursor on reconnect), so they are not held to the
// per-host invariant (see README).
//
// Misbehaviours (Command, for a HostSet): drop the connection (once, or
// every N s), stall writing for S s, split the 101 response into pieces with
// pauses (cuts land between '\r' and '\n' with probability `crlf_bias`),
// send the next K events as invalid frames (a builder Defect, or random),
// reset the seq to 1, clear everything.
//
// Threads: every public method may be called from any thread; host state is
// guarded by a per-host mutex that is never held across a park.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/io.h"
#include "relay/net/result.h"
#include "relay/proto/frame_builder.h"

namespace faultline::relay::net {
class HttpServer;
}

namespace faultline::stress {

struct FleetOptions {
  std::uint32_t hosts = 2800;
  double rate = 2000;    // total events/s over all hosts
  double zipf_s = 1.0;   // skew of the per-host rates
  std::uint64_t seed = 1;
  double ring_seconds = 30;  // per-host replay ring: rate_i × this events ...
  std::size_t ring_min = 1024;        // ... at least this many
  std::size_t ring_max = 1u << 20;    // ... at most this many
  std::uint32_t accounts = 20'000;    // spread over hosts by rate share, ≥ 1 each
  double identity_share = 0.02;
  double account_share = 0.02;
  bool start_paused = true;           // emission starts with set_emitting(true)
  std::uint16_t control_port = 0;     // 0: ephemeral
  unsigned scheduler_threads = 0;     // 0: one per core
  std::chrono::microseconds min_tick{1000};  // shortest writer sleep (batches hot hosts)
  std::size_t batch_frames = 256;     // frames per socket write at most
  std::size_t list_hosts_max = 1000;  // listHosts page limit cap (lexicon max)
};

// Which hosts a command applies to: "all", "7", "0-99", "hot:10" (the 10
// hottest), "random:50[:seed]", or a comma-separated list of these.
std::optional<std::vector<std::uint32_t>> parse_host_set(std::string_view spec, std::uint32_t hosts,
                                                         std::string& error);

struct Command {
  enum class Action { drop, stall, split, invalid, reset_seq, clear };
  Action action = Action::drop;
  double every_s = 0;         // drop: repeat every N s (0: once)
  double seconds = 0;         // stall duration
  bool on = true;             // split: on/off
  int pieces = 3;             // split: pieces of the 101 response (2..16)
  int pause_ms = 5;           // split: pause between pieces
  double crlf_bias = 0.5;     // split: probability a cut lands between CR and LF
  std::uint32_t count = 1;    // invalid: how many of the next events
  std::optional<relay::proto::Defect> defect;  // invalid: nullopt = random (never too-large unless named)
};
std::optional<Command> parse_command(std::string_view action, const std::vector<std::pair<std::string, std::string>>& params,
                                     std::string& error);
std::optional<relay::proto::Defect> defect_from_name(std::string_view name);

struct FleetTotals {
  std::uint64_t emitted = 0, valid = 0, invalid = 0, lost = 0, regressed = 0, expected = 0;
  std::uint64_t frames_sent = 0, bytes_sent = 0, connections = 0, connected_hosts = 0;
  // Hosts with events no connection has written yet (the drain waits for 0).
  std::uint64_t unsent_hosts = 0;
  std::uint64_t outdated_cursors = 0, future_cursors = 0, split_handshakes = 0, drops = 0, reset_hosts = 0;
  std::uint64_t live_skips = 0;
};

class Fleet {
 public:
  Fleet(io::Io& io, FleetOptions options);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Binds every host's listener and the control server (127.0.0.1), starts
  // the accept tasks. Returns the control port.
  relay::net::Result<std::uint16_t> start();
  // Stops accepting, ends every connection and waits for the tasks. Call it
  // from outside the fleet's tasks. Idempotent.
  void stop();

  std::uint32_t hosts() const { return static_cast<std::uint32_t>(hosts_.size()); }
  std::uint16_t control_port() const { return control_port_; }
  std::uint16_t host_port(std::uint32_t i) const;
  double host_rate(std::uint32_t i) const;

  // Scheduled emission on/off (pausing first emits everything due). Starting
  // with a delay ≥ 1 s lets every writer (asleep for up to 1 s while paused)
  // wake before the first event is due, so no event waits for a writer.
  void set_emitting(bool on, double delay_s = 0);
  bool emitting() const;
  // Changes the total rate (shares unchanged) from now on.
  void set_rate(double total);
  double rate() const;
  // Emits `n` events on host `i` now, off-schedule (tests).
  void emit(std::uint32_t i, std::size_t n);

  void apply(const std::vector<std::uint32_t>& hosts, const Command& cmd);

  FleetTotals totals();
  // {"totals": {...}, "hosts": [{...}, ...]} (hosts only when per_host).
  nlohmann::json stats(bool per_host);
  // listHosts page: hosts [cursor, cursor + limit).
  nlohmann::json list_hosts(std::size_t cursor, std::size_t limit) const;

  struct Host;

 private:
  struct Spec;
  void accept_loop(Host& h);
  void serve(Host& h, io::Socket sock);
  void catch_up(Host& h, std::int64_t now_us);  // h.mu held
  void generate(Host& h, std::int64_t time_us);  // h.mu held
  std::vector<std::uint8_t> build_frame(const Host& h, const Spec& s) const;
  void route_control();
  nlohmann::json host_json(Host& h);
  std::uint64_t valid_between(Host& h, std::int64_t from_seq, std::int64_t to_seq);  // h.mu held; [from, to)

  io::Io& io_;
  FleetOptions opt_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::unique_ptr<relay::net::HttpServer> control_;
  std::uint16_t control_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  // Emission clock: events are generated with emit_from ≤ time ≤ emit_until.
  std::atomic<std::int64_t> emit_from_us_{0};
  std::atomic<std::int64_t> emit_until_us_{0};
  std::atomic<std::uint64_t> schedule_epoch_{0};  // bumped by start/rate changes
  std::atomic<double> rate_scale_{1.0};
  std::atomic<std::size_t> live_conns_{0};
  std::mutex tasks_mu_;
  std::vector<io::TaskHandle> acceptors_;
  std::uint64_t next_conn_id_ = 0;
  std::vector<std::pair<std::uint64_t, io::TaskHandle>> conns_;
};

// `faultline stress fleet`: runs a Fleet in this process until SIGTERM/SIGINT
// or until stdin reaches EOF (the parent died), after printing one JSON line
// {"control_port": P, "hosts": N, "first_port": .., "last_port": ..} on stdout.
int run_fleet_process(const FleetOptions& options);

}  // namespace faultline::stress
