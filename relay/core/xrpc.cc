// XRPC (com.atproto.sync.*), admin and /metrics endpoints.
//
// Shapes follow the lexicons: listHosts {cursor?, hosts: [{hostname, seq,
// accountCount, status}]}, getHostStatus, requestCrawl {hostname},
// listRepos {cursor?, repos: [{did, head, rev, active, status?}]},
// getRepoStatus {did, active, status?, rev?}, getLatestCommit {cid, rev}.
// Errors are XRPC-shaped {"error", "message"} with status 400 (as the
// reference PDS/relay answer HostNotFound / RepoNotFound).
//
// Admin endpoints (POST /admin/hosts/{ban,unban,limits}, GET /admin/hosts)
// need "Authorization: Bearer $FAULTLINE_RELAY_ADMIN_TOKEN"; with no token
// configured they are disabled (403), never open.
#include <charconv>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "relay/core/prometheus.h"
#include "relay/core/relay_impl.h"

namespace faultline::relay {

using nlohmann::json;

bool parse_list_hosts_page(const std::string& body, std::vector<std::string>& hostnames, std::string& cursor) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("hosts") || !j["hosts"].is_array()) return false;
  for (auto& h : j["hosts"]) {
    if (!h.is_object() || !h.contains("hostname") || !h["hostname"].is_string()) return false;
    if (h.contains("status") && h["status"].is_string() && h["status"] == "banned") continue;
    hostnames.push_back(h["hostname"].get<std::string>());
  }
  cursor = j.contains("cursor") && j["cursor"].is_string() ? j["cursor"].get<std::string>() : "";
  return true;
}

namespace {

net::Response json_ok(const json& j) { return net::Response::json(200, j.dump()); }
net::Response bad(std::string_view error, std::string_view message) {
  return net::Response::error(400, error, message);
}

// limit: default `def`, clamped to [1, max]; nullopt when malformed.
std::optional<std::size_t> limit_param(const net::Request& r, std::size_t def, std::size_t max) {
  auto p = r.param("limit");
  if (!p || p->empty()) return def;
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), v);
  if (ec != std::errc{} || end != p->data() + p->size() || v == 0) return std::nullopt;
  return std::min(v, max);
}

std::string_view account_status_for_lexicon(store::AccountStatus s) { return store::to_string(s); }

long thread_count() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::strtol(line.c_str() + 8, nullptr, 10);
  return 0;
}

}  // namespace

void RelayImpl::install_routes() {
  server_->route("GET", "/xrpc/_health", [](const net::Request&) {
    return json_ok({{"version", "faultline-relay 0.1"}});
  });
  server_->route("GET", "/xrpc/com.atproto.sync.listHosts", [this](const net::Request& r) { return handle_list_hosts(r); });
  server_->route("GET", "/xrpc/com.atproto.sync.getHostStatus",
                 [this](const net::Request& r) { return handle_get_host_status(r); });
  server_->route("POST", "/xrpc/com.atproto.sync.requestCrawl",
                 [this](const net::Request& r) { return handle_request_crawl(r); });
  server_->route("GET", "/xrpc/com.atproto.sync.listRepos", [this](const net::Request& r) { return handle_list_repos(r); });
  server_->route("GET", "/xrpc/com.atproto.sync.getRepoStatus",
                 [this](const net::Request& r) { return handle_get_repo_status(r); });
  server_->route("GET", "/xrpc/com.atproto.sync.getLatestCommit",
                 [this](const net::Request& r) { return handle_get_latest_commit(r); });
  server_->route_websocket("/xrpc/com.atproto.sync.subscribeRepos",
                           [this](net::WebSocket& ws, const net::Request& r) { serve_consumer(ws, r); });
  for (const char* action : {"ban", "unban", "limits"})
    server_->route("POST", std::string("/admin/hosts/") + action,
                   [this, a = std::string(action)](const net::Request& r) { return handle_admin(r, a); });
  server_->route("GET", "/admin/hosts", [this](const net::Request& r) { return handle_admin(r, "list"); });

  auto metrics = [this](const net::Request&) {
    net::Response resp = net::Response::text(200, render_metrics());
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return resp;
  };
  metrics_server_->route("GET", "/metrics", metrics);
  server_->route("GET", "/metrics", metrics);
}

net::Response RelayImpl::handle_list_hosts(const net::Request& r) {
  auto limit = limit_param(r, 200, 1000);
  if (!limit) return bad("InvalidRequest", "limit must be an integer from 1 to 1000");
  std::string after(r.param("cursor").value_or(""));
  json hosts = json::array();
  std::string last;
  auto all = hosts_.all();
  auto it = std::upper_bound(all.begin(), all.end(), after,
                             [](const std::string& a, const HostState* h) { return a < h->hostname; });
  if (after.empty()) it = all.begin();
  for (; it != all.end() && hosts.size() < *limit; ++it) {
    auto* h = *it;
    hosts.push_back({{"hostname", h->hostname},
                     {"seq", h->cursor.load()},
                     {"accountCount", accounts_->count_for_host(h->hostname)},
                     {"status", std::string(store::to_string(h->status.load()))}});
    last = h->hostname;
  }
  json out = {{"hosts", hosts}};
  if (it != all.end() && !last.empty()) out["cursor"] = last;
  return json_ok(out);
}

net::Response RelayImpl::handle_get_host_status(const net::Request& r) {
  auto name = r.param("hostname");
  if (!name || name->empty()) return bad("InvalidRequest", "hostname is required");
  auto* h = hosts_.find(*name);
  if (!h) return bad("HostNotFound", "unknown host " + std::string(*name));
  return json_ok({{"hostname", h->hostname},
                  {"seq", h->cursor.load()},
                  {"accountCount", accounts_->count_for_host(h->hostname)},
                  {"status", std::string(store::to_string(h->status.load()))}});
}

net::Response RelayImpl::handle_request_crawl(const net::Request& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("hostname") || !j["hostname"].is_string())
    return bad("InvalidRequest", "body must be {\"hostname\": string}");
  std::string error;
  if (!add_host(j["hostname"].get<std::string>(), error)) return bad("InvalidRequest", error);
  return json_ok(json::object());
}

net::Response RelayImpl::handle_list_repos(const net::Request& r) {
  auto limit = limit_param(r, 500, 1000);
  if (!limit) return bad("InvalidRequest", "limit must be an integer from 1 to 1000");
  std::string after(r.param("cursor").value_or(""));
  auto page = accounts_->list(after, *limit);
  json repos = json::array();
  for (auto& a : page) {
    json item = {{"did", a.did}, {"head", a.commit_cid}, {"rev", a.rev},
                 {"active", a.status == store::AccountStatus::active}};
    if (a.status != store::AccountStatus::active) item["status"] = std::string(account_status_for_lexicon(a.status));
    repos.push_back(std::move(item));
  }
  json out = {{"repos", repos}};
  if (page.size() == *limit) out["cursor"] = page.back().did;
  return json_ok(out);
}

net::Response RelayImpl::handle_get_repo_status(const net::Request& r) {
  auto did = r.param("did");
  if (!did || did->empty()) return bad("InvalidRequest", "did is required");
  auto a = accounts_->get(*did);
  if (!a) return bad("RepoNotFound", "unknown repo " + std::string(*did));
  json out = {{"did", a->did}, {"active", a->status == store::AccountStatus::active}};
  if (a->status != store::AccountStatus::active) out["status"] = std::string(account_status_for_lexicon(a->status));
  if (!a->rev.empty()) out["rev"] = a->rev;
  return json_ok(out);
}

net::Response RelayImpl::handle_get_latest_commit(const net::Request& r) {
  auto did = r.param("did");
  if (!did || did->empty()) return bad("InvalidRequest", "did is required");
  auto a = accounts_->get(*did);
  if (!a || a->commit_cid.empty()) return bad("RepoNotFound", "no commit known for " + std::string(*did));
  switch (a->status) {
    case store::AccountStatus::active: break;
    case store::AccountStatus::takendown: return bad("RepoTakendown", "repo is taken down");
    case store::AccountStatus::suspended: return bad("RepoSuspended", "repo is suspended");
    case store::AccountStatus::deactivated: return bad("RepoDeactivated", "repo is deactivated");
    default: return bad("RepoNotFound", "repo is " + std::string(store::to_string(a->status)));
  }
  return json_ok({{"cid", a->commit_cid}, {"rev", a->rev}});
}

net::Response RelayImpl::handle_admin(const net::Request& r, const std::string& action) {
  if (options_.admin_token.empty())
    return net::Response::error(403, "Forbidden", "admin API disabled: set FAULTLINE_RELAY_ADMIN_TOKEN to enable it");
  auto auth = r.header("Authorization");
  if (!auth || *auth != "Bearer " + options_.admin_token)
    return net::Response::error(401, "AuthenticationRequired", "admin bearer token required");
  if (action == "list") {
    json hosts = json::array();
    for (auto* h : hosts_.all()) {
      auto l = h->limiter.limits();
      hosts.push_back({{"hostname", h->hostname},
                       {"status", std::string(store::to_string(h->status.load()))},
                       {"cursor", h->cursor.load()},
                       {"connected", h->connected.load()},
                       {"received", h->received.load()},
                       {"accepted", h->accepted.load()},
                       {"invalid", h->invalid.load()},
                       {"dropped", h->dropped.load()},
                       {"reconnects", h->reconnects.load()},
                       {"limits", {{"per_second", l.per_second}, {"per_hour", l.per_hour}, {"per_day", l.per_day}}}});
    }
    return json_ok({{"hosts", hosts}});
  }
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("hostname") || !j["hostname"].is_string())
    return bad("InvalidRequest", "body must be {\"hostname\": string, ...}");
  auto* h = hosts_.find(j["hostname"].get<std::string>());
  if (!h) return bad("HostNotFound", "unknown host");
  if (action == "ban") {
    set_host_status(h, store::HostStatus::banned);
    h->task.cancel();
  } else if (action == "unban") {
    if (h->status.load() == store::HostStatus::banned &&
        set_host_status(h, store::HostStatus::active, /*lift_ban=*/true)) {
      if (h->task.valid()) h->task.join();
      start_subscriber(h);
    }
  } else if (action == "limits") {
    auto l = h->limiter.limits();
    auto get = [&](const char* k, std::int64_t& v) {
      if (j.contains(k)) {
        if (!j[k].is_number_integer() || j[k].get<std::int64_t>() < 0) return false;
        v = j[k].get<std::int64_t>();
      }
      return true;
    };
    if (!get("per_second", l.per_second) || !get("per_hour", l.per_hour) || !get("per_day", l.per_day))
      return bad("InvalidRequest", "limits must be non-negative integers (0: unlimited)");
    h->limiter.set_limits(l);
    persist_host(h);
  }
  return json_ok({{"hostname", h->hostname}, {"status", std::string(store::to_string(h->status.load()))}});
}

std::string RelayImpl::metrics_text() const {
  return io_->block_on([this] { return render_metrics(); });
}

std::string RelayImpl::render_metrics() const {
  PromText p;
  auto c = counters();
  p.family("relay_events_received_total", "counter", "Frames read from upstream hosts.");
  p.sample("relay_events_received_total", static_cast<double>(c.received));
  p.family("relay_events_accepted_total", "counter", "Events that passed every check and were sequenced.");
  p.sample("relay_events_accepted_total", static_cast<double>(c.accepted));
  p.family("relay_events_invalid_total", "counter", "Frames rejected by validation, by reason.");
  for (auto& [reason, n] : invalid_.snapshot()) p.sample("relay_events_invalid_total", static_cast<double>(n), {{"reason", reason}});
  p.family("relay_events_dropped_total", "counter", "Valid events not passed on, by reason.");
  for (auto& [reason, n] : dropped_.snapshot()) p.sample("relay_events_dropped_total", static_cast<double>(n), {{"reason", reason}});
  p.family("relay_events_sent_total", "counter", "Frames written to downstream consumers (all consumers).");
  p.sample("relay_events_sent_total", static_cast<double>(c.sent));
  p.family("relay_host_events_received_total", "counter", "Frames read, per upstream host.");
  for (auto* h : hosts_.all())
    p.sample("relay_host_events_received_total", static_cast<double>(h->received.load()), {{"host", h->hostname}});
  p.family("relay_host_events_accepted_total", "counter", "Events sequenced, per upstream host.");
  for (auto* h : hosts_.all())
    p.sample("relay_host_events_accepted_total", static_cast<double>(h->accepted.load()), {{"host", h->hostname}});
  p.family("relay_consumers", "gauge", "Connected downstream consumers.");
  p.sample("relay_consumers", static_cast<double>(c.consumers));
  p.family("relay_consumer_lag", "gauge", "Events published but not yet written to a consumer.");
  std::size_t max_depth = 0;
  for (auto& s : broadcaster_->stats()) {
    p.sample("relay_consumer_lag", static_cast<double>(s.lag), {{"consumer", s.name}});
    max_depth = std::max(max_depth, s.high_water);
  }
  p.family("relay_consumers_too_slow_total", "counter", "Consumers cut off with ConsumerTooSlow.");
  p.sample("relay_consumers_too_slow_total", static_cast<double>(broadcaster_->too_slow_total()));
  p.family("relay_log_seq", "gauge", "Newest relay seq in the event log.");
  p.sample("relay_log_seq", static_cast<double>(c.log_seq));
  p.family("relay_threads", "gauge", "OS threads of the relay process.");
  p.sample("relay_threads", static_cast<double>(thread_count()));
  p.family("relay_fibers", "gauge", "Live tasks of the runtime (fibers on Evented, threads on Threaded).");
  p.sample("relay_fibers", static_cast<double>(io_->live_tasks()));
  p.family("relay_reactor", "gauge", "The reactor in use (1 for the active one).");
  p.sample("relay_reactor", 1, {{"kind", io::to_string(io_->reactor())}, {"backend", io::to_string(io_->backend())}});
  p.family("relay_bridge_queue_depth", "gauge", "Jobs queued or running on the bridge.");
  p.sample("relay_bridge_queue_depth", static_cast<double>(io_->bridge_depth()));
  p.family("relay_broadcast_queue_high_water", "gauge", "Deepest broadcast-stage queue seen.");
  p.sample("relay_broadcast_queue_high_water", static_cast<double>(stage_high_water_.load()));
  p.family("relay_consumer_queue_high_water", "gauge", "Deepest consumer queue seen among connected consumers.");
  p.sample("relay_consumer_queue_high_water", static_cast<double>(max_depth));
  p.family("relay_broadcast_spins_total", "counter", "Spins of the broadcast gate (non-zero only with --inject spin-wait).");
  p.sample("relay_broadcast_spins_total", static_cast<double>(gate_->spins()));
  p.family("relay_upstream_runs_total", "counter",
           "Runs of upstream frames validated together: a host's frames read in one go, checked as one request.");
  p.sample("relay_upstream_runs_total", static_cast<double>(upstream_runs_.load()));
  p.family("relay_validation_batches_total", "counter", "Bridge jobs of frame validation (runs of several hosts each).");
  p.sample("relay_validation_batches_total", static_cast<double>(validator_->batches()));
  p.family("relay_sequencer_batches_total", "counter",
           "Sequencer batches: one log write and at most one send per consumer each (--batch-window-us paces them).");
  p.sample("relay_sequencer_batches_total", static_cast<double>(sequencer_batches_.load()));
  p.family("relay_upstream_reconnects_total", "counter", "Upstream reconnections.");
  p.sample("relay_upstream_reconnects_total", static_cast<double>(reconnects_.load()));
  p.family("relay_upstream_connected", "gauge", "Upstream hosts connected now.");
  p.sample("relay_upstream_connected", static_cast<double>(c.hosts_connected));
  p.family("relay_hosts", "gauge", "Known upstream hosts by status.");
  std::map<std::string, std::size_t> by_status = {{"active", 0}, {"idle", 0}, {"offline", 0}, {"banned", 0}};
  for (auto* h : hosts_.all()) ++by_status[std::string(store::to_string(h->status.load()))];
  for (auto& [s, n] : by_status) p.sample("relay_hosts", static_cast<double>(n), {{"status", s}});
  p.family("relay_accounts", "gauge", "Accounts known.");
  p.sample("relay_accounts", static_cast<double>(accounts_->size()));
  return p.str();
}

}  // namespace faultline::relay
