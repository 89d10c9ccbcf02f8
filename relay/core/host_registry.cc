#include "relay/core/host_registry.h"

#include <cstdio>

namespace faultline::relay {

std::uint32_t host_log_tag(std::string_view hostname) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : hostname) {
    h ^= c;
    h *= 16777619u;
  }
  return h & 0x7fffffffu;
}

namespace {

// A host that can only be this machine: "localhost", "*.localhost",
// 127.0.0.0/8, ::1.
bool is_loopback_name(const std::string& host) {
  constexpr std::string_view kLocal = ".localhost";
  if (host == "localhost" || (host.size() > kLocal.size() && host.ends_with(kLocal))) return true;
  if (host == "::1") return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(host.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 &&
         d < 256;
}

}  // namespace

std::optional<HostAddress> parse_host_address(std::string_view text, std::string& error) {
  std::string s(text);
  while (!s.empty() && (s.back() == '/' || s.back() == ' ')) s.pop_back();
  // A bare name (listHosts, requestCrawl, the state database) is dialled
  // over TLS, as the reference relay does: real PDSes are all wss://. A
  // loopback host is the exception (a local test fleet or a PDS on this
  // machine speaks plain ws://), also as in indigo; give wss:// explicitly
  // for a local TLS host.
  if (s.find("://") == std::string::npos) {
    auto probe = net::parse_url("ws://" + s);
    s = (probe && is_loopback_name(probe->host) ? "ws://" : "wss://") + s;
  }
  auto url = net::parse_url(s);
  if (!url || url->host.empty()) {
    error = "not a host name or ws:// / wss:// URL: '" + std::string(text) + "'";
    return std::nullopt;
  }
  HostAddress out;
  bool v6 = url->host.find(':') != std::string::npos;
  out.hostname = v6 ? "[" + url->host + "]" : url->host;
  if (url->port != net::default_port(url->scheme)) out.hostname += ":" + std::to_string(url->port);
  out.subscribe_url = *url;
  out.subscribe_url.scheme = url->tls() ? "wss" : "ws";
  out.subscribe_url.path_and_query = "/xrpc/com.atproto.sync.subscribeRepos";
  return out;
}

HostState* HostRegistry::add(const HostAddress& address, bool& inserted) {
  std::lock_guard g(mutex_);
  auto it = hosts_.find(address.hostname);
  if (it != hosts_.end()) {
    inserted = false;
    return it->second.get();
  }
  inserted = true;
  auto state = std::make_unique<HostState>(address.hostname, address.subscribe_url, default_limits_);
  auto* raw = state.get();
  hosts_.emplace(address.hostname, std::move(state));
  return raw;
}

HostState* HostRegistry::find(std::string_view hostname) const {
  std::lock_guard g(mutex_);
  auto it = hosts_.find(hostname);
  return it == hosts_.end() ? nullptr : it->second.get();
}

std::vector<HostState*> HostRegistry::all() const {
  std::lock_guard g(mutex_);
  std::vector<HostState*> out;
  out.reserve(hosts_.size());
  for (auto& [_, h] : hosts_) out.push_back(h.get());
  return out;
}

std::size_t HostRegistry::size() const {
  std::lock_guard g(mutex_);
  return hosts_.size();
}

}  // namespace faultline::relay
