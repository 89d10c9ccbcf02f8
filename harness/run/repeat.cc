// Repetition driver (contract in repeat.h).
#include "harness/run/repeat.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/run/classify.h"
#include "harness/run/process.h"

namespace faultline::harness {
namespace fs = std::filesystem;

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

std::string outcome_key(const record::ResultRecord& r) {
  std::string k(record::to_string(r.outcome));
  if (r.outcome == record::Outcome::crash && r.crash.is_object() && r.crash.contains("signal_name")) {
    k = r.crash["signal_name"].get<std::string>();
    if (r.crash.contains("si_code_name")) k += "/" + r.crash["si_code_name"].get<std::string>();
  }
  if (r.outcome == record::Outcome::sanitizer && r.sanitizer.is_object())
    k = "sanitizer/" + r.sanitizer.value("kind", std::string("report"));
  return k;
}

nlohmann::json to_json(const RepeatSummary& s) {
  nlohmann::json j{{"run_id", s.run_id},
                   {"dir", s.dir.string()},
                   {"attempts", s.attempts},
                   {"failures", s.failures},
                   {"skips", s.skips},
                   {"outcomes", s.outcomes},
                   {"failure_rate", s.rate},
                   {"failure_rate_ci95", {s.ci_low, s.ci_high}},
                   {"elapsed_s", s.elapsed_s},
                   {"stopped_by_time", s.stopped_by_time},
                   {"stopped_by_failure", s.stopped_by_failure},
                   {"interrupted", s.interrupted}};
  j["first_failure_attempt"] = s.first_failure_index ? nlohmann::json(*s.first_failure_index) : nlohmann::json();
  j["first_failure_s"] = s.first_failure_s ? nlohmann::json(*s.first_failure_s) : nlohmann::json();
  j["rr_replay"] = s.rr_replays;
  if (!s.first_sanitizer.is_null()) j["first_sanitizer"] = s.first_sanitizer;
  return j;
}

std::string format_summary(const RepeatSummary& s) {
  std::ostringstream o;
  char b[256];
  const std::uint64_t counted = s.attempts - s.skips;
  std::snprintf(b, sizeof b, "%llu attempt(s), %llu failure(s): failure rate %.1f%% (95%% CI %.1f%%-%.1f%%, Wilson)",
                static_cast<unsigned long long>(s.attempts), static_cast<unsigned long long>(s.failures), 100 * s.rate,
                100 * s.ci_low, 100 * s.ci_high);
  o << b;
  if (s.skips) o << ", " << s.skips << " skipped";
  (void)counted;
  o << "\n  outcomes:";
  for (const auto& [k, v] : s.outcomes) o << " " << k << "=" << v;
  o << "\n";
  if (s.first_failure_index) {
    std::snprintf(b, sizeof b, "  first failure: attempt #%llu after %.2f s\n",
                  static_cast<unsigned long long>(*s.first_failure_index), *s.first_failure_s);
    o << b;
  }
  for (const auto& f : s.failure_summaries) o << "  - " << f << "\n";
  for (const auto& r : s.rr_replays) o << "  replay: " << r << "\n";
  if (s.stopped_by_time) o << "  stopped: --max-time reached\n";
  if (s.interrupted) o << "  stopped: interrupted\n";
  o << "  records: " << (s.dir / "runs.jsonl").string() << "\n";
  return o.str();
}

RepeatSummary run_repeated(const RepeatOptions& opt) {
  RepeatSummary sum;
  sum.run_id = opt.run_id.empty() ? record::new_run_id() : opt.run_id;
  sum.dir = opt.results_root / sum.run_id;
  fs::create_directories(sum.dir);
  const fs::path jsonl = sum.dir / "runs.jsonl";
  const int fd = open(jsonl.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + jsonl.string() + ": " + std::strerror(errno));

  std::string command_line;
  for (const auto& a : opt.child.command) command_line += (command_line.empty() ? "" : " ") + a;
  const unsigned shards = std::max(1u, opt.shard_count);
  // A catalogued repro names its scenario (catalog.json of its build tree) and
  // its variant (--variant V) even when it dies before printing its record.
  std::string scenario = opt.scenario, variant = opt.variant;
  if (!opt.child.command.empty()) {
    std::error_code ec;
    const fs::path exe = fs::weakly_canonical(fs::absolute(resolve_executable(opt.child.command[0]), ec), ec);
    fs::path dir = exe.parent_path();
    for (int depth = 0; scenario.empty() && depth < 4 && !dir.empty() && dir != dir.root_path();
         ++depth, dir = dir.parent_path()) {
      auto cat = nlohmann::json::parse(read_file((dir / "repro" / "catalog.json").string()), nullptr, false);
      if (cat.is_discarded() || !cat.is_array()) continue;
      for (const auto& e : cat)
        if (e.is_object() && fs::weakly_canonical(e.value("path", ""), ec) == exe) scenario = e.value("scenario", "");
    }
    for (std::size_t i = 1; variant.empty() && i + 1 < opt.child.command.size(); ++i)
      if (opt.child.command[i] == "--variant") variant = opt.child.command[i + 1];
  }
  // Unknown build: read it from the CMake tree the executable was built in.
  record::BuildInfo build = opt.build;
  if (build.type.empty() && build.compiler.empty() && !opt.child.command.empty()) {
    record::BuildInfo inferred = infer_build(resolve_executable(opt.child.command[0]));
    if (build.preset.empty()) build.preset = inferred.preset;
    build.type = inferred.type;
    build.compiler = inferred.compiler;
    build.flags = inferred.flags;
  }
  const std::uint64_t total = opt.repeat;
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  const double t0 = now_s();

  auto progress = [&](bool final_line) {
    if (!opt.progress) return;
    char b[256];
    const std::uint64_t n = sum.attempts - sum.skips;
    std::snprintf(b, sizeof b, "\r%s%llu/%llu done, %llu failed (%.1f%%), %.1f s%s", opt.label.c_str(),
                  static_cast<unsigned long long>(sum.attempts), static_cast<unsigned long long>(total / shards),
                  static_cast<unsigned long long>(sum.failures), n ? 100.0 * sum.failures / n : 0.0, now_s() - t0,
                  final_line ? "\n" : "   ");
    ssize_t ignored = write(2, b, std::strlen(b));
    (void)ignored;
  };

  auto worker = [&] {
    while (!stop.load() && !interrupt_flag().load()) {
      std::uint64_t k = next.fetch_add(1);
      if (k >= total) break;
      if (shards > 1 && k % shards != opt.shard_index) continue;
      if (opt.max_time_s > 0 && now_s() - t0 > opt.max_time_s) {
        std::lock_guard<std::mutex> lk(mu);
        sum.stopped_by_time = true;
        stop.store(true);
        break;
      }
      record::ResultRecord rec;
      rec.run_id = sum.run_id + "-" + std::to_string(k);
      rec.scenario = scenario;
      rec.variant = variant;
      rec.build = build;
      rec.environment = opt.environment;
      rec.details = opt.extra_details;
      rec.details["harness_run"] = sum.run_id;
      rec.details["attempt"] = k;
      rec.details["command"] = opt.child.command;
      if (shards > 1) rec.details["shard"] = std::to_string(opt.shard_index) + "/" + std::to_string(shards);
      try {
        run_attempt(opt.child, sum.dir / (opt.attempt_prefix + std::to_string(k)), rec, &interrupt_flag());
      } catch (const std::exception& e) {
        rec.outcome = record::Outcome::error;
        rec.summary = std::string("harness error: ") + e.what();
      }
      if (rec.scenario.empty()) rec.scenario = command_line;
      const std::string line = record::to_json_line(rec) + "\n";
      std::lock_guard<std::mutex> lk(mu);
      ssize_t w = write(fd, line.data(), line.size());
      (void)w;
      ++sum.attempts;
      ++sum.outcomes[outcome_key(rec)];
      if (rec.outcome == record::Outcome::skip) ++sum.skips;
      if (rec.outcome == record::Outcome::error && interrupt_flag().load()) sum.interrupted = true;
      if (record::is_failure(rec.outcome) && !(rec.outcome == record::Outcome::error && interrupt_flag().load())) {
        ++sum.failures;
        if (!sum.first_failure_index || k < *sum.first_failure_index) {
          sum.first_failure_index = k;
          sum.first_failure_s = now_s() - t0;
        }
        if (sum.failure_summaries.size() < 5)
          sum.failure_summaries.push_back("#" + std::to_string(k) + " " + rec.summary);
        if (rec.outcome == record::Outcome::sanitizer && rec.sanitizer.is_object() &&
            (sum.first_sanitizer.is_null() || k < sum.first_sanitizer.value("attempt", k)))
          sum.first_sanitizer = {{"tool", rec.sanitizer.value("tool", "")},
                                 {"kind", rec.sanitizer.value("kind", "")},
                                 {"frames", rec.sanitizer.value("frames", nlohmann::json::array())},
                                 {"attempt", k}};
        if (rec.artifacts.is_object() && rec.artifacts.contains("rr_replay"))
          sum.rr_replays.push_back(rec.artifacts["rr_replay"].get<std::string>());
        if (opt.until_fail) {
          sum.stopped_by_failure = true;
          stop.store(true);
        }
      }
      progress(false);
    }
  };
  const unsigned jobs = std::max(1u, opt.jobs);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  close(fd);
  if (interrupt_flag().load()) sum.interrupted = true;
  progress(true);
  sum.elapsed_s = now_s() - t0;
  const std::uint64_t counted = sum.attempts - sum.skips;
  sum.rate = counted ? static_cast<double>(sum.failures) / static_cast<double>(counted) : 0;
  std::tie(sum.ci_low, sum.ci_high) = wilson95(sum.failures, counted);
  if (opt.write_summary)
    std::ofstream(sum.dir / (shards > 1 ? "summary-shard" + std::to_string(opt.shard_index) + ".json" : "summary.json"))
        << to_json(sum).dump(2) << "\n";
  return sum;
}

}  // namespace faultline::harness
