// Relay: an AT Protocol firehose relay (com.atproto.sync.subscribeRepos) on
// the dual-backend runtime.
//
// Pipeline (each arrow is a bounded queue or a park, never a spin):
//
//   upstream host ──ws──▶ subscriber task (one per host: a fiber, or a thread
//        with --backend threaded): framing, per-host seq order, rate limit;
//        the frames a read brought go on together as one run
//     ──▶ FrameValidator ──bridge──▶ validation on a worker thread (DAG-CBOR,
//     CAR, CIDs, lexicon), many hosts' runs per bridge job
//     ──▶ account checks (rev order, status) ──▶ sequencer channel
//   sequencer task: assigns the relay seq, rewrites the frame, appends the
//     batch to the event log through the bridge (written before broadcast).
//     Validation and the sequencer start at most one batch per
//     --batch-window-us under load (BatchPacer), none held when idle
//     ──▶ broadcast stage (W tasks, each logged batch whole to the next task;
//     with --inject spin-wait event seq → task seq % W), published in seq
//     order through an OrderedGate ──▶ Broadcaster ──▶ one bounded queue per
//     consumer ──▶ consumer sender task (all it finds queued in one write)
//     ──ws──▶ downstream
//
// Durability: a host's cursor and the durable account state advance only once
// the event is in the log, and the log is the source of truth: each record
// carries its host's tag and upstream seq, the flusher saves cursors and
// accounts to SQLite every few seconds (after syncing the log) and then the
// relay seq they are complete through (<data-dir>/state-seq), and start-up
// replays the records after that seq into host cursors and accounts. So after
// a crash the relay resumes each host where the log ends — no event is
// relayed twice or skipped — and, as the log truncates a torn tail on open
// and the relay seq resumes after the last whole event, nothing a consumer
// received is lost or renumbered.
//
// All SQLite and disk work runs on bridge workers (Io::offload), never on a
// scheduler thread — unless --inject blocking-in-fiber says otherwise.
//
// Lifetime: create() opens the data directory (event log + SQLite) and
// fails with a message when it cannot; start() binds the ports and starts
// every task; stop() (or the destructor) shuts down in order: stop accepting,
// cancel subscribers, drain the sequencer, flush cursors and accounts, sync
// the log. stop() must be called from outside the relay's tasks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relay/core/relay_options.h"

namespace faultline::relay {

struct RelayCounters {
  std::uint64_t received = 0;   // frames read from upstreams
  std::uint64_t accepted = 0;   // sequenced into the log
  std::uint64_t invalid = 0;    // rejected by validation
  std::uint64_t dropped = 0;    // valid but dropped (order, rev, inactive account, ...)
  std::uint64_t sent = 0;       // frames written to consumers, all consumers
  std::int64_t log_seq = 0;     // newest relay seq
  std::size_t consumers = 0;
  std::size_t hosts = 0;
  std::size_t hosts_connected = 0;
};

class Relay {
 public:
  static std::unique_ptr<Relay> create(const RelayOptions& options, std::string& error);
  virtual ~Relay() = default;

  // Binds the firehose/XRPC and metrics ports (0 picks a free port), runs the
  // bootstrap and starts every subscriber. False and `error` on failure.
  virtual bool start(std::string& error) = 0;
  virtual void stop() = 0;

  virtual std::uint16_t port() const = 0;
  virtual std::uint16_t metrics_port() const = 0;
  // Adds a host at run time (as requestCrawl does). False + error when the
  // address is invalid or the host is banned.
  virtual bool add_host(const std::string& address, std::string& error) = 0;
  virtual RelayCounters counters() const = 0;
  // The Prometheus exposition of /metrics.
  virtual std::string metrics_text() const = 0;
  // True once the event log refused an append: the relay cannot go on.
  virtual bool failed() const = 0;
};

// `faultline relay`: runs until SIGINT/SIGTERM, then shuts down cleanly.
// Returns the process exit code.
int run_relay(const RelayOptions& options);

}  // namespace faultline::relay
