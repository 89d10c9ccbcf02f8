// Everything `faultline relay` can be told. Defaults give a working relay
// with no configuration: firehose + XRPC on 127.0.0.1:2470, Prometheus on
// :2471, state in ./relay-data, Evented backend, the reference relay's limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/core/inject.h"
#include "relay/core/rate_limiter.h"

namespace faultline::relay {

enum class FsyncPolicy { every_batch, interval, never };

struct RelayOptions {
  // ---- upstreams ----
  std::vector<std::string> hosts;       // ws://host:port URLs (or bare host names)
  std::string hosts_file;               // one URL per line, '#' comments
  std::vector<std::string> bootstrap;   // relays to call listHosts on at start-up
  std::string tls_ca_file;              // PEM CAs trusted for wss/https besides the system store
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30'000};
  unsigned offline_after_failures = 15;  // consecutive failed dials → offline (indigo: 15)
  std::chrono::seconds upstream_idle_timeout{300};
  RateLimits default_limits{};
  // ---- downstream / HTTP ----
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 2470;
  std::uint16_t metrics_port = 2471;
  std::size_t consumer_buffer = 16'384;
  std::chrono::seconds consumer_ping_interval{30};
  std::string admin_token;  // from $FAULTLINE_RELAY_ADMIN_TOKEN; empty disables /admin
  // ---- storage ----
  std::string data_dir = "./relay-data";
  FsyncPolicy fsync = FsyncPolicy::interval;
  std::chrono::milliseconds fsync_interval{100};
  std::size_t events_per_segment = 10'000;
  std::chrono::seconds retention{72 * 3600};
  std::chrono::seconds cursor_flush_interval{5};
  // ---- pipeline ----
  std::size_t max_frame_bytes = 5'000'000;
  unsigned broadcast_fibers = 4;
  // Validation and the sequencer each start at most one batch per window
  // (see batch_pacer.h): under load, fewer and larger batches; when idle,
  // no delay. Zero: every batch goes as soon as it has one item.
  std::chrono::microseconds batch_window{1000};
  std::uint64_t spin_budget = 200'000;  // --inject spin-wait only
  // ---- runtime ----
  io::Backend backend = io::Backend::evented;
  unsigned scheduler_threads = 0;  // 0: one per core
  unsigned validate_workers = 4;   // bridge worker threads (validation, disk, SQLite)
  Injections inject{};
  bool quiet = false;
};

}  // namespace faultline::relay
