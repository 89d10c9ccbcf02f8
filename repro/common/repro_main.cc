#include "repro/common/repro_main.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>

namespace faultline::repro {
namespace {

void usage(const ReproSpec& spec, std::FILE* out) {
  std::fprintf(out,
               "%s — %s\n\n"
               "usage: %s [--variant V] [--iterations N] [--fibers N] [--seed S] [--json] [--describe]\n"
               "variants:",
               spec.scenario.c_str(), spec.description.c_str(), spec.scenario.c_str());
  for (const auto& v : spec.variants)
    std::fprintf(out, " %s%s", v.c_str(), v == spec.default_variant ? " (default)" : "");
  std::fprintf(out,
               "\nexit: 0 behaved correctly, 1 misbehaved, 77 cannot run here\n"
               "defaults: --iterations %llu --fibers %u\n",
               static_cast<unsigned long long>(spec.default_iterations), spec.default_fibers);
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string tmp(s);
  unsigned long long v = std::strtoull(tmp.c_str(), &end, 0);
  if (*end != '\0') return false;
  out = v;
  return true;
}

}  // namespace

std::string ReproArgs::get(const std::string& key, const std::string& fallback) const {
  auto it = extra.find(key);
  return it == extra.end() ? fallback : it->second;
}

std::int64_t ReproArgs::get_int(const std::string& key, std::int64_t fallback) const {
  auto it = extra.find(key);
  if (it == extra.end()) return fallback;
  return std::strtoll(it->second.c_str(), nullptr, 0);
}

void print_progress(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

int repro_main(int argc, char** argv, const ReproSpec& spec, const ReproBody& body) {
  ReproArgs args;
  args.variant = spec.default_variant;
  args.iterations = spec.default_iterations;
  args.fibers = spec.default_fibers;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> std::string_view {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %.*s needs a value\n", spec.scenario.c_str(), static_cast<int>(name.size()),
                     name.data());
        std::exit(2);
      }
      return argv[++i];
    };
    std::uint64_t n = 0;
    if (a == "--help" || a == "-h") {
      usage(spec, stdout);
      return 0;
    } else if (a == "--describe") {
      nlohmann::json j{{"scenario", spec.scenario},
                       {"description", spec.description},
                       {"variants", spec.variants},
                       {"default_variant", spec.default_variant},
                       {"default_iterations", spec.default_iterations},
                       {"default_fibers", spec.default_fibers}};
      std::printf("%s\n", j.dump().c_str());
      return 0;
    } else if (a == "--json") {
      args.json = true;
    } else if (a == "--variant") {
      args.variant = value(a);
    } else if (a == "--iterations" && parse_u64(value(a), n)) {
      args.iterations = n;
    } else if (a == "--fibers" && parse_u64(value(a), n) && n > 0) {
      args.fibers = static_cast<unsigned>(n);
    } else if (a == "--seed" && parse_u64(value(a), n)) {
      args.seed = n;
    } else if (a.starts_with("--") && a.size() > 2 && a != "--iterations" && a != "--fibers" && a != "--seed") {
      args.extra[std::string(a.substr(2))] = std::string(value(a));
    } else {
      std::fprintf(stderr, "%s: bad argument '%s'\n\n", spec.scenario.c_str(), argv[i]);
      usage(spec, stderr);
      return 2;
    }
  }
  bool known = false;
  for (const auto& v : spec.variants) known |= v == args.variant;
  if (!known) {
    std::fprintf(stderr, "%s: unknown variant '%s'\n\n", spec.scenario.c_str(), args.variant.c_str());
    usage(spec, stderr);
    return 2;
  }

  record::ResultRecord rec;
  rec.run_id = record::new_run_id();
  rec.timestamp = record::now_iso8601();
  rec.scenario = spec.scenario;
  rec.variant = args.variant;
  rec.build = record::this_build();
  rec.details["iterations"] = args.iterations;
  rec.details["fibers"] = args.fibers;
  rec.details["seed"] = args.seed;

  auto t0 = std::chrono::steady_clock::now();
  try {
    body(args, rec);
  } catch (const std::exception& e) {
    rec.outcome = record::Outcome::fail;
    rec.summary = std::string("exception: ") + e.what();
  }
  rec.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int code = record::exit_code_for(rec.outcome);
  rec.exit_code = code;

  std::fprintf(stderr, "%s [%s]: %s — %s (%.3f s)\n", spec.scenario.c_str(), args.variant.c_str(),
               std::string(record::to_string(rec.outcome)).c_str(), rec.summary.c_str(), rec.duration_s);
  if (args.json) std::printf("%s\n", record::to_json_line(rec).c_str());
  std::fflush(stdout);
  return code;
}

}  // namespace faultline::repro
