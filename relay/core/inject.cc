#include "relay/core/inject.h"

namespace faultline::relay {

const std::vector<std::string_view>& injection_names() {
  static const std::vector<std::string_view> names = {"ws-split-bug", "crossio-mutex", "blocking-in-fiber",
                                                      "spin-wait", "consumer-uaf"};
  return names;
}

std::string Injections::to_string() const {
  std::string out;
  auto add = [&](bool on, std::string_view name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(ws_split_bug, "ws-split-bug");
  add(crossio_mutex, "crossio-mutex");
  add(blocking_in_fiber, "blocking-in-fiber");
  add(spin_wait, "spin-wait");
  add(consumer_uaf, "consumer-uaf");
  return out.empty() ? "none" : out;
}

std::optional<Injections> parse_injections(std::string_view list, std::string& error) {
  Injections out;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name.empty() || name == "none") continue;
    if (name == "ws-split-bug") {
      out.ws_split_bug = true;
    } else if (name == "crossio-mutex") {
      out.crossio_mutex = true;
    } else if (name == "blocking-in-fiber") {
      out.blocking_in_fiber = true;
    } else if (name == "spin-wait") {
      out.spin_wait = true;
    } else if (name == "consumer-uaf") {
      out.consumer_uaf = true;
    } else {
      error = "unknown --inject '" + std::string(name) + "' (one of: ws-split-bug, crossio-mutex, blocking-in-fiber, "
              "spin-wait, consumer-uaf)";
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace faultline::relay
