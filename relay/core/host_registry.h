// HostRegistry: the upstream hosts the relay knows, with their live state.
//
// A host is named by its hostname as the AT Protocol does ("pds.example.com");
// a non-default port stays part of the name ("127.0.0.1:2583"), which is how
// loopback test fleets and `--host ws://127.0.0.1:PORT` are told apart.
// Hosts are never removed while the relay runs (a banned host stays, with
// status banned), so HostState pointers stay valid for the relay's life.
//
// Each HostState is written by its own subscriber task (seq bookkeeping,
// counters) and read by XRPC/metrics handlers on any thread: every field a
// handler reads is atomic or immutable.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/io.h"
#include "relay/core/rate_limiter.h"
#include "relay/net/url.h"
#include "relay/store/state_db.h"

namespace faultline::relay {

// A 31-bit tag of a hostname (FNV-1a), written with each of the host's events
// into the event log record's `flags`, so that start-up can tell which host
// an event came from (two known hosts with the same tag: neither is
// recovered from the log, see relay.cc).
std::uint32_t host_log_tag(std::string_view hostname);

struct HostState {
  HostState(std::string name, net::Url subscribe_url, RateLimits limits)
      : hostname(std::move(name)), log_tag(host_log_tag(hostname)), url(std::move(subscribe_url)), limiter(limits) {}

  const std::string hostname;
  const std::uint32_t log_tag;
  const net::Url url;  // ws[s]://hostname/xrpc/com.atproto.sync.subscribeRepos
  std::atomic<store::HostStatus> status{store::HostStatus::active};
  // Upstream seq of the newest event of this host that is durable in the
  // event log (or was dropped, which needs no durability): what is persisted
  // and resumed from.
  std::atomic<std::int64_t> cursor{0};
  // Upstream seq of the newest event admitted into the pipeline (the
  // ordering check: duplicates and regressions below it are dropped).
  std::atomic<std::int64_t> last_seq{0};
  std::atomic<std::uint64_t> received{0}, accepted{0}, invalid{0}, dropped{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint32_t> consecutive_failures{0};
  std::atomic<bool> connected{false};
  std::atomic<bool> cursor_dirty{false};
  HostRateLimiter limiter;
  io::TaskHandle task;  // the subscriber; set once by the registry's owner
};

// "ws://h:p/..." , "wss://h", "http://h:p", "https://h", "h:p" or "h" → the
// hostname key and the subscribeRepos URL; nullopt (and `error`) for
// anything else. The URL keeps the scheme given (http → ws, https → wss); a
// bare name gets wss://, except a loopback one (localhost, *.localhost,
// 127.0.0.0/8, ::1), which gets ws://. The hostname key has no scheme: the
// port is in it unless it is the scheme's default.
struct HostAddress {
  std::string hostname;
  net::Url subscribe_url;
};
std::optional<HostAddress> parse_host_address(std::string_view text, std::string& error);

class HostRegistry {
 public:
  explicit HostRegistry(RateLimits default_limits) : default_limits_(default_limits) {}

  // Returns the existing state when the hostname is known (inserted=false).
  HostState* add(const HostAddress& address, bool& inserted);
  HostState* find(std::string_view hostname) const;
  std::vector<HostState*> all() const;  // ordered by hostname
  std::size_t size() const;
  RateLimits default_limits() const { return default_limits_; }

 private:
  RateLimits default_limits_;
  mutable std::mutex mutex_;  // held for map lookups only, never across a park
  std::map<std::string, std::unique_ptr<HostState>, std::less<>> hosts_;
};

}  // namespace faultline::relay
