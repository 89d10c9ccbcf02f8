#include <CLI/CLI.hpp>

#include <cstdlib>
#include <memory>

#include "relay/cli/commands.h"
#include "relay/core/relay.h"

namespace faultline::relay {

void add_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "relay",
      "Run the AT Protocol firehose relay (com.atproto.sync.subscribeRepos) on the dual-backend runtime.\n"
      "Subscribes to upstream hosts, validates and sequences their events into an on-disk log, and serves them\n"
      "to downstream consumers with cursor replay. Stops cleanly on SIGINT/SIGTERM.");
  auto o = std::make_shared<RelayOptions>();
  auto backend = std::make_shared<std::string>("evented");
  auto fsync = std::make_shared<std::string>("interval");
  auto inject = std::make_shared<std::string>();
  auto rate = std::make_shared<std::int64_t>(-1);
  auto retention_h = std::make_shared<unsigned>(72);

  cmd->add_option("--host", o->hosts,
                  "upstream host to subscribe to: wss://HOST[:PORT], ws://HOST[:PORT] or a host name (wss://, "
                  "ws:// for localhost and 127.x) (repeatable)");
  cmd->add_option("--hosts-file", o->hosts_file, "file with one upstream host per line ('#' comments)");
  cmd->add_option("--bootstrap", o->bootstrap,
                  "call com.atproto.sync.listHosts on this relay (https://HOST[:PORT] or http://) once at "
                  "start-up and subscribe to every host it lists (repeatable)");
  cmd->add_option("--tls-ca-file", o->tls_ca_file,
                  "PEM file of CA certificates trusted for wss:// hosts and https:// bootstrap relays, in addition "
                  "to the system trust store (for hosts with a private CA). Certificates and host names are always "
                  "verified.");
  cmd->add_option("--listen", o->listen_address, "address to bind the firehose/XRPC and metrics ports to")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "firehose + XRPC port (0: any free port)")->capture_default_str();
  cmd->add_option("--metrics-port", o->metrics_port, "Prometheus /metrics port (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "event log and SQLite state directory")->capture_default_str();
  cmd->add_option("--backend", *backend, "runtime backend: evented (fibers on io_uring/epoll) or threaded "
                                         "(an OS thread per task)")
      ->check(CLI::IsMember({"evented", "threaded"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->scheduler_threads, "evented scheduler threads (0: one per core)")
      ->capture_default_str();
  cmd->add_option("--workers", o->validate_workers, "bridge worker threads (validation, disk, SQLite)")
      ->capture_default_str();
  cmd->add_option("--fsync", *fsync,
                  "event log fsync policy: every-batch (no loss on power failure, slowest), interval (default: "
                  "fdatasync every 100 ms; a crash of the process loses nothing, a power failure at most the "
                  "last 100 ms), never (leave it to the kernel)")
      ->check(CLI::IsMember({"every-batch", "interval", "never"}))
      ->capture_default_str();
  cmd->add_option("--events-per-segment", o->events_per_segment, "events per event-log segment file")
      ->capture_default_str();
  cmd->add_option("--retention-hours", *retention_h, "replay window: segments older than this are deleted")
      ->capture_default_str();
  cmd->add_option("--consumer-buffer", o->consumer_buffer,
                  "frames a consumer may fall behind before it gets ConsumerTooSlow")
      ->capture_default_str();
  cmd->add_option("--rate-limit", *rate,
                  "per-host events per second for every host (0: unlimited); default: the reference relay's "
                  "50/s, 2,500/h, 20,000/day");
  cmd->add_option("--broadcast-fibers", o->broadcast_fibers, "tasks of the ordered broadcast stage")
      ->capture_default_str();
  cmd->add_option_function<std::int64_t>(
         "--batch-window-us",
         [o](std::int64_t us) { o->batch_window = std::chrono::microseconds(us); },
         "validation and the sequencer start at most one batch per this many microseconds: under load, "
         "fewer and larger batches for at most this much added latency; an event after a quiet spell goes "
         "at once (default 1000; 0: no pacing)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000}));
  cmd->add_option("--inject", *inject,
                  "re-introduce catalogued defects (comma-separated): ws-split-bug, crossio-mutex, "
                  "blocking-in-fiber, spin-wait, consumer-uaf. Never in production.");
  cmd->add_flag("--quiet", o->quiet, "no progress lines");
  cmd->footer(
      "Environment: FAULTLINE_RELAY_ADMIN_TOKEN enables the admin endpoints (POST /admin/hosts/{ban,unban,limits}, "
      "GET /admin/hosts) for requests with 'Authorization: Bearer <token>'.\n"
      "TLS: wss:// and https:// peers are verified against the system trust store (ca-certificates) plus "
      "--tls-ca-file; TLS 1.2 or later.");

  cmd->callback([=] {
    RelayOptions opts = *o;
    opts.backend = *backend == "threaded" ? io::Backend::threaded : io::Backend::evented;
    opts.fsync = *fsync == "every-batch" ? FsyncPolicy::every_batch
                 : *fsync == "never"     ? FsyncPolicy::never
                                         : FsyncPolicy::interval;
    opts.retention = std::chrono::hours(*retention_h);  // converts to seconds
    if (*rate >= 0) opts.default_limits = {*rate, *rate == 0 ? 0 : *rate * 3600, *rate == 0 ? 0 : *rate * 86400};
    std::string error;
    auto parsed = parse_injections(*inject, error);
    if (!parsed) {
      std::fprintf(stderr, "faultline relay: %s\n", error.c_str());
      throw CLI::RuntimeError(2);
    }
    opts.inject = *parsed;
    if (const char* t = std::getenv("FAULTLINE_RELAY_ADMIN_TOKEN")) opts.admin_token = t;
    int rc = run_relay(opts);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace faultline::relay
