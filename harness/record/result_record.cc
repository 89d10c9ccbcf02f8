#include "harness/record/result_record.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace faultline::record {
namespace {
constexpr std::array<std::pair<Outcome, std::string_view>, 10> kNames{{
    {Outcome::pass, "pass"},
    {Outcome::fail, "fail"},
    {Outcome::exit_failure, "exit_failure"},
    {Outcome::crash, "crash"},
    {Outcome::abort, "abort"},
    {Outcome::sanitizer, "sanitizer"},
    {Outcome::hang, "hang"},
    {Outcome::oom, "oom"},
    {Outcome::skip, "skip"},
    {Outcome::error, "error"},
}};

std::string flags_for_build_type(std::string_view type) {
  if (type == "Debug") return "-O0 -g";
  if (type == "RelWithDebInfo") return "-O2 -g -DNDEBUG";
  if (type == "Release") return "-O3 -DNDEBUG";
  if (type == "MinSizeRel") return "-Os -DNDEBUG";
  return "";
}
}  // namespace

std::string_view to_string(Outcome o) {
  for (const auto& [k, v] : kNames)
    if (k == o) return v;
  return "error";
}

std::optional<Outcome> outcome_from_string(std::string_view s) {
  for (const auto& [k, v] : kNames)
    if (v == s) return k;
  return std::nullopt;
}

bool is_failure(Outcome o) {
  return o != Outcome::pass && o != Outcome::skip;
}

int exit_code_for(Outcome o) {
  if (o == Outcome::pass) return kExitPass;
  if (o == Outcome::skip) return kExitSkip;
  return kExitFail;
}

BuildInfo this_build() {
  BuildInfo b;
#ifdef FAULTLINE_BUILD_TYPE
  b.type = FAULTLINE_BUILD_TYPE;
#endif
#ifdef FAULTLINE_COMPILER
  b.compiler = FAULTLINE_COMPILER;
#endif
  b.flags = flags_for_build_type(b.type);
#if defined(__SANITIZE_ADDRESS__)
  b.flags += " -fsanitize=address";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  b.flags += " -fsanitize=address";
#endif
#if __has_feature(thread_sanitizer)
  b.flags += " -fsanitize=thread";
#endif
#endif
#if defined(__SANITIZE_THREAD__)
  b.flags += " -fsanitize=thread";
#endif
  return b;
}

nlohmann::json to_json(const ResultRecord& r) {
  nlohmann::json j{
      {"schema", r.schema},
      {"run_id", r.run_id},
      {"timestamp", r.timestamp},
      {"scenario", r.scenario},
      {"variant", r.variant},
      {"build",
       {{"type", r.build.type}, {"compiler", r.build.compiler}, {"flags", r.build.flags}, {"preset", r.build.preset}}},
      {"outcome", to_string(r.outcome)},
      {"duration_s", r.duration_s},
      {"summary", r.summary},
      {"details", r.details},
  };
  j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
  auto put = [&](const char* k, const nlohmann::json& v) {
    if (!v.is_null() && !(v.is_object() && v.empty())) j[k] = v;
  };
  put("crash", r.crash);
  put("sanitizer", r.sanitizer);
  put("hang", r.hang);
  put("environment", r.environment);
  put("artifacts", r.artifacts);
  return j;
}

ResultRecord from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw nlohmann::json::type_error::create(302, "record is not an object", &j);
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  auto obj = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() ? *it : nlohmann::json{};
  };
  ResultRecord r;
  r.schema = str("schema");
  if (r.schema.empty()) r.schema = kSchema;
  r.run_id = str("run_id");
  r.timestamp = str("timestamp");
  r.scenario = str("scenario");
  r.variant = str("variant");
  if (auto b = obj("build"); b.is_object()) {
    r.build.type = b.value("type", "");
    r.build.compiler = b.value("compiler", "");
    r.build.flags = b.value("flags", "");
    r.build.preset = b.value("preset", "");
  }
  r.outcome = outcome_from_string(str("outcome")).value_or(Outcome::error);
  if (auto e = obj("exit_code"); e.is_number_integer()) r.exit_code = e.get<int>();
  if (auto d = obj("duration_s"); d.is_number()) r.duration_s = d.get<double>();
  r.summary = str("summary");
  if (auto d = obj("details"); d.is_object()) r.details = d;
  r.crash = obj("crash");
  r.sanitizer = obj("sanitizer");
  r.hang = obj("hang");
  r.environment = obj("environment");
  r.artifacts = obj("artifacts");
  return r;
}

std::string to_json_line(const ResultRecord& r) {
  return to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string new_run_id() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s-%d-%06x", stamp, static_cast<int>(getpid()),
                static_cast<unsigned>(rd() & 0xffffffu));
  return buf;
}

}  // namespace faultline::record
