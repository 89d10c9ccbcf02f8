// Synthetic result records for the report tests: each helper returns one
// JSON line shaped like what the harness writes, with the fields a test
// needs and nothing it does not (older producers omit fields too).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::reports::testing {

inline nlohmann::json base(const std::string& id, const std::string& scenario, const std::string& variant,
                           const std::string& build, const std::string& outcome) {
  return {{"schema", "faultline.result/1"},
          {"run_id", id},
          {"timestamp", "2026-11-24T05:00:00Z"},
          {"scenario", scenario},
          {"variant", variant},
          {"build", {{"type", build}, {"compiler", "GNU-12.2.0"}, {"flags", build == "Debug" ? "-O0 -g" : "-O2 -g"}}},
          {"outcome", outcome},
          {"exit_code", outcome == "pass" ? 0 : 1},
          {"duration_s", 0.5},
          {"summary", outcome == "pass" ? "ok" : "it went wrong"}};
}

// A SIGSEGV in the missing-clobber switch, with string frames in gdb style
// whose addresses and template arguments differ per run.
inline nlohmann::json segv_clobber(const std::string& id, const std::string& build, int salt) {
  auto j = base(id, "ctxswitch/missing-clobber", "broken", build, "crash");
  char a[32];
  std::snprintf(a, sizeof a, "0x%llx", static_cast<unsigned long long>(0x555555550000LL + salt * 16));
  j["exit_code"] = 139;
  j["duration_s"] = 0.01 * (salt + 1);
  j["crash"] = {
      {"signal", 11},
      {"si_code", 128},
      {"address", "0x0"},
      {"registers", {{"rip", a}, {"rsp", "0x7ffff7dff000"}, {"rsi", "0xdeadbeef"}}},
      {"instruction", "mov (%rsi),%rax"},
      {"disassembly", {"  0x1234 <switch+4>: push %rbp", "=> 0x1238 <switch+8>: mov (%rsi),%rax"}},
      {"backtrace",
       {"#0  0x00007ffff7a4a9fc in __restore_rt () from /lib/x86_64-linux-gnu/libc.so.6",
        std::string("#1  ") + a + " in faultline::repro::(anonymous namespace)::switch_to<Fiber<" +
            std::to_string(salt) + ">>(Ctx*, Ctx*) [clone .isra.0] at /src/repro/ctxswitch/missing_clobber.cc:42",
        "#2  0x0000555555556789 in faultline::repro::Scheduler::run_one(int) at sched.cc:77",
        "#3  0x0000555555556999 in faultline::repro::repro_main(int, char**, faultline::repro::ReproSpec const&, "
        "std::function<void ()> const&) at repro_main.cc:10",
        "#4  0x00007ffff7a33d0a in __libc_start_main () from /lib/x86_64-linux-gnu/libc.so.6"}}};
  j["environment"] = {{"kernel", "6.1.0-18-amd64"},
                      {"cpu", "AMD EPYC 7B13"},
                      {"commit", "64b17fc"},
                      {"libraries", {{"boost", "1.74"}, {"liburing", "2.3"}}}};
  j["artifacts"] = {{"rr_trace_dir", "/tmp/rr/missing-clobber-0"}};
  j["details"] = {{"iterations_to_failure", 3 + salt}};
  return j;
}

// A heap-use-after-free with structured frames (object form).
inline nlohmann::json asan_uaf(const std::string& id, int salt) {
  auto j = base(id, "lifetime/broadcaster", "broken", "Debug", "sanitizer");
  j["build"]["flags"] = "-O1 -g -fsanitize=address";
  j["sanitizer"] = {
      {"kind", "heap-use-after-free"},
      {"excerpt", "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n<script>x</script>"},
      {"frames",
       {{{"function", "__asan_report_load8"}, {"module", "/usr/lib/libasan.so.8"}},
        {{"function", "Consumer::send(std::vector<int, std::allocator<int> > const&)"},
         {"file", "broadcaster.cc"},
         {"line", 20 + salt},
         {"address", 4096 + salt}},
        {{"function", "Broadcaster::publish"}, {"file", "broadcaster.cc"}, {"line", 55}, {"inlined", true}}}}};
  return j;
}

inline nlohmann::json hang_rec(const std::string& id) {
  auto j = base(id, "crossio/blocking-in-fiber", "broken", "RelWithDebInfo", "hang");
  j["hang"] = {{"threads",
                {{{"name", "main"}, {"frames", {"main at main.cc:3"}}},
                 {{"name", "sched-0"},
                  {"blocked", true},
                  {"frames",
                   {"__futex_abstimed_wait_common at futex.c:1", "std::mutex::lock() at mutex:100",
                    "Resyncer::run() at resync.cc:9"}}}}}};
  return j;
}

inline std::string line(const nlohmann::json& j) {
  return j.dump() + "\n";
}

inline void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("fl-reports-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace faultline::reports::testing
