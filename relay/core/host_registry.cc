#include "relay/core/host_registry.h"

namespace faultline::relay {

std::uint32_t host_log_tag(std::string_view hostname) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : hostname) {
    h ^= c;
    h *= 16777619u;
  }
  return h & 0x7fffffffu;
}

std::optional<HostAddress> parse_host_address(std::string_view text, std::string& error) {
  std::string s(text);
  while (!s.empty() && (s.back() == '/' || s.back() == ' ')) s.pop_back();
  if (s.find("://") == std::string::npos) s = "ws://" + s;
  auto url = net::parse_url(s);
  if (!url || url->host.empty()) {
    error = "not a host name or ws:// URL: '" + std::string(text) + "'";
    return std::nullopt;
  }
  if (url->tls()) {
    error = "'" + std::string(text) +
            "': TLS (wss/https) is not supported by this relay; reach the host through a local TLS-terminating "
            "proxy and give its ws:// address";
    return std::nullopt;
  }
  HostAddress out;
  bool v6 = url->host.find(':') != std::string::npos;
  out.hostname = v6 ? "[" + url->host + "]" : url->host;
  if (url->port != net::default_port(url->scheme)) out.hostname += ":" + std::to_string(url->port);
  out.subscribe_url = *url;
  out.subscribe_url.scheme = "ws";
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
