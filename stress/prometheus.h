// A reader of the Prometheus text exposition format (0.0.4) — what the
// relay's /metrics serves — for the stress sampler.
//
// Contract:
//  - Lines: `# HELP`/`# TYPE`/other comments are skipped; a sample is
//    `name[{label="value",...}] value [timestamp]`. Label values may contain
//    the escapes \\ \" \n; a trailing comma in the label set is allowed.
//    Values: decimal/exponent floats, NaN, +Inf, -Inf.
//  - A malformed line is skipped and counted (bad_lines()), never fatal: the
//    sampler must survive a relay that prints something odd.
//  - Lookups by family name: get() wants the unlabelled sample; sum() adds
//    every sample of the name (0 when absent); by_label() groups by one label.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::stress {

struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  std::optional<std::string_view> label(std::string_view key) const;
};

class PromMetrics {
 public:
  static PromMetrics parse(std::string_view text);

  bool has(std::string_view name) const;
  // The sample of `name` without labels; nullopt when there is none.
  std::optional<double> get(std::string_view name) const;
  // The sample of `name` whose label `key` equals `value`.
  std::optional<double> get(std::string_view name, std::string_view key, std::string_view value) const;
  // Every sample of `name` added up (0 when absent).
  double sum(std::string_view name) const;
  // Largest sample of `name` (nullopt when absent).
  std::optional<double> max(std::string_view name) const;
  // label value -> summed value, over the samples of `name` that have `key`.
  std::map<std::string, double> by_label(std::string_view name, std::string_view key) const;

  const std::vector<PromSample>& samples() const { return samples_; }
  std::size_t bad_lines() const { return bad_lines_; }

 private:
  std::vector<PromSample> samples_;
  std::multimap<std::string, std::size_t, std::less<>> index_;
  std::size_t bad_lines_ = 0;
};

}  // namespace faultline::stress
