// Prometheus text exposition format (version 0.0.4) writer for /metrics.
// Each metric family is declared once (HELP + TYPE lines) and then gets
// samples; label values are escaped as the format requires (\\, \", \n).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::relay {

class PromText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // type: "counter" or "gauge".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, double value, const Labels& labels = {});
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

}  // namespace faultline::relay
