// Tests of the harness: parsers and classifiers on canned text, then every
// outcome class end to end on the purpose-built targets in targets/ (each a
// few hundred milliseconds; the hang test waits for its 1.5 s timeout).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "harness/crash/crash_format.h"
#include "harness/matrix/bisect.h"
#include "harness/matrix/matrix.h"
#include "harness/run/child.h"
#include "harness/run/classify.h"
#include "harness/run/environment.h"
#include "harness/run/process.h"
#include "harness/run/repeat.h"

namespace fs = std::filesystem;
using namespace faultline;
using namespace faultline::harness;

namespace {

std::string target(const std::string& name) {
  return std::string(FL_TARGETS_DIR) + "/" + name;
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("fl-harness-test-" + std::to_string(getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

record::ResultRecord run_target(const std::vector<std::string>& cmd, double timeout = 20, std::uint64_t mem = 0) {
  ChildOptions o;
  o.command = cmd;
  o.timeout_s = timeout;
  o.crash_lib = FL_CRASH_LIB;
  o.memory_limit = mem;
  o.gdb_timeout_s = 30;
  record::ResultRecord rec;
  run_attempt(o, temp_dir(fs::path(cmd[0]).filename().string()) / "attempt", rec);
  return rec;
}

bool backtrace_names(const nlohmann::json& crash, const std::string& function, const std::string& file_part = {}) {
  for (const auto& f : crash.value("backtrace", nlohmann::json::array()))
    if (f.value("function", "").find(function) != std::string::npos &&
        (file_part.empty() || f.value("file", "").find(file_part) != std::string::npos))
      return true;
  return false;
}

}  // namespace

// ---- parsers -----------------------------------------------------------------

TEST(CrashFormat, ParsesBlockAndKeepsOtherText) {
  std::string text =
      "fiber 3 parked\n"
      "FAULTLINE-CRASH 1\nsignal 11\ncode 128\nerrno 0\naddr 0x0\npid 10\ntid 11\nfiber 7\nscheduler 2\n"
      "pc 0x401000\nsp 0x7ffc00\nreg rax 0x1\nreg rip 0x401000\nframe 0 0x401000 0x7ffc00\n"
      "frame 1 0x401234 0x7ffc40\nunwind-stop end\nmaps-begin\n"
      "00400000-00402000 r-xp 00000000 08:01 1234 /usr/bin/thing\n"
      "7ffc0000-7ffd0000 rw-p 00000000 00:00 0 [stack]\nmaps-end\nFAULTLINE-CRASH-END\n";
  auto p = crash::parse_stream(text);
  ASSERT_EQ(p.crashes.size(), 1u);
  const auto& c = p.crashes[0];
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(c.signal, 11);
  EXPECT_EQ(c.code, 128);
  EXPECT_EQ(c.fiber, 7u);
  EXPECT_EQ(c.scheduler, 2);
  EXPECT_EQ(c.pc, 0x401000u);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[1].ip, 0x401234u);
  ASSERT_EQ(c.maps.size(), 2u);
  EXPECT_EQ(c.maps[0].path, "/usr/bin/thing");
  EXPECT_EQ(c.maps[1].path, "[stack]");
  EXPECT_EQ(p.other, "fiber 3 parked\n");
  ASSERT_NE(crash::find_mapping(c.maps, 0x401500), nullptr);
  EXPECT_EQ(crash::find_mapping(c.maps, 0x500000), nullptr);
}

TEST(CrashFormat, TruncatedBlockKeepsCompleteLines) {
  auto p = crash::parse_stream("FAULTLINE-CRASH 1\nsignal 7\ncode 2\nframe 0 0x10 0x20\nfram");
  ASSERT_EQ(p.crashes.size(), 1u);
  EXPECT_FALSE(p.crashes[0].complete);
  EXPECT_EQ(p.crashes[0].signal, 7);
  EXPECT_EQ(p.crashes[0].frames.size(), 1u);
}

TEST(Classify, SignalAndCodeNames) {
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(si_code_name(SIGSEGV, SEGV_MAPERR), "SEGV_MAPERR");
  EXPECT_EQ(si_code_name(SIGSEGV, SI_KERNEL), "SI_KERNEL");
  EXPECT_EQ(si_code_name(SIGBUS, BUS_ADRALN), "BUS_ADRALN");
  EXPECT_NE(describe_fault(SIGSEGV, SI_KERNEL, 0).find("general-protection"), std::string::npos);
  EXPECT_NE(describe_fault(SIGSEGV, SEGV_MAPERR, 0x28).find("NULL-page dereference at 0x28"), std::string::npos);
  EXPECT_EQ(describe_fault(SIGSEGV, SEGV_MAPERR, 0x7f0000000000).find("NULL"), std::string::npos);
}

TEST(Classify, AsanReport) {
  const std::string text =
      "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020 at pc 0x1 bp 0x2 sp 0x3\n"
      "READ of size 4 at 0x6020 thread T0\n"
      "    #0 0x55 in Consumer::send(Event const&) /src/b.cc:88:12\n"
      "    #1 0x56 in main /src/m.cc:3:1\n"
      "\n"
      "freed by thread T0 here:\n"
      "    #0 0x7f in operator delete(void*) (/usr/lib/libasan.so.8+0xb7a5a)\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free /src/b.cc:88:12 in Consumer::send(Event const&)\n";
  auto j = parse_sanitizer(text);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["tool"], "AddressSanitizer");
  EXPECT_EQ(j["kind"], "heap-use-after-free");
  ASSERT_EQ(j["frames"].size(), 2u);  // only the access stack, not the free stack
  EXPECT_EQ(j["frames"][0]["function"], "Consumer::send(Event const&)");
  EXPECT_EQ(j["frames"][0]["location"], "/src/b.cc:88:12");
  EXPECT_NE(j["summary"].get<std::string>().find("SUMMARY"), std::string::npos);
}

TEST(Classify, TsanAndUbsanReports) {
  auto t = parse_sanitizer(
      "==================\nWARNING: ThreadSanitizer: data race (pid=12)\n  Write of size 4 at 0x7b by thread T1:\n"
      "    #0 worker() /src/w.cc:5:3 (a.out+0x1234)\n");
  ASSERT_FALSE(t.is_null());
  EXPECT_EQ(t["tool"], "ThreadSanitizer");
  EXPECT_EQ(t["kind"], "data race");
  auto u = parse_sanitizer("/src/x.cc:10:7: runtime error: signed integer overflow: 2147483647 + 1\n");
  ASSERT_FALSE(u.is_null());
  EXPECT_EQ(u["tool"], "UndefinedBehaviorSanitizer");
  EXPECT_EQ(u["location"], "/src/x.cc:10:7");
  EXPECT_TRUE(parse_sanitizer("all good\n").is_null());
}

TEST(Classify, AbortMessage) {
  EXPECT_EQ(abort_message("noise\na.out: x.cc:5: void f(): Assertion `x == 42' failed.\n"),
            "a.out: x.cc:5: void f(): Assertion `x == 42' failed.");
  EXPECT_EQ(abort_message("terminate called after throwing an instance of 'std::runtime_error'\n  what():  boom\n"),
            "terminate called after throwing an instance of 'std::runtime_error' what():  boom");
}

TEST(Classify, ReproRecordAndWilson) {
  auto j = find_repro_record("human text\n{\"schema\":\"faultline.result/1\",\"outcome\":\"fail\"}\n");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["outcome"], "fail");
  EXPECT_TRUE(find_repro_record("{\"x\":1}\n").is_null());
  auto [lo, hi] = wilson95(0, 20);
  EXPECT_DOUBLE_EQ(lo, 0.0);
  EXPECT_NEAR(hi, 0.161, 0.002);  // the classic "0 of 20" upper bound
  auto [lo2, hi2] = wilson95(10, 20);
  EXPECT_NEAR(lo2, 0.299, 0.002);
  EXPECT_NEAR(hi2, 0.701, 0.002);
}

// ---- outcome classes, end to end ---------------------------------------------

TEST(Run, Pass) {
  auto r = run_target({target("t_pass")});
  EXPECT_EQ(r.outcome, record::Outcome::pass) << r.summary;
  EXPECT_EQ(r.exit_code.value_or(-1), 0);
}

TEST(Run, ExitFailureAndSkip) {
  auto r = run_target({target("t_exit")});
  EXPECT_EQ(r.outcome, record::Outcome::exit_failure) << r.summary;
  EXPECT_EQ(r.exit_code.value_or(-1), 3);
  auto s = run_target({target("t_exit"), "--skip"});
  EXPECT_EQ(s.outcome, record::Outcome::skip) << s.summary;
  EXPECT_NE(s.summary.find("no such feature"), std::string::npos);
}

TEST(Run, NullDerefIsSegvMaperrWithSymbolisedBacktrace) {
  auto r = run_target({target("t_nullderef")});
  ASSERT_EQ(r.outcome, record::Outcome::crash) << r.summary;
  EXPECT_EQ(r.crash["signal_name"], "SIGSEGV");
  EXPECT_EQ(r.crash["si_code_name"], "SEGV_MAPERR");
  EXPECT_EQ(r.crash["address"], "0x28");
  EXPECT_TRUE(r.crash["capture_complete"].get<bool>());
  EXPECT_TRUE(backtrace_names(r.crash, "crash_victim_null", "t_nullderef.cc")) << r.crash["backtrace"].dump(1);
  EXPECT_TRUE(backtrace_names(r.crash, "crash_caller_null"));
  EXPECT_TRUE(backtrace_names(r.crash, "main"));
  EXPECT_FALSE(r.crash["disassembly"].empty());
  bool marked = false;
  for (const auto& l : r.crash["disassembly"]) marked = marked || l.get<std::string>().rfind("=>", 0) == 0;
  EXPECT_TRUE(marked) << r.crash["disassembly"].dump(1);
  EXPECT_NE(r.crash["pc_mapping"]["path"].get<std::string>().find("t_nullderef"), std::string::npos);
  EXPECT_EQ(r.crash["registers"].size(), 23u);
  EXPECT_NE(r.summary.find("NULL-page dereference"), std::string::npos) << r.summary;
}

TEST(Run, NonCanonicalAccessIsGeneralProtectionFault) {
  auto r = run_target({target("t_gpfault")});
  ASSERT_EQ(r.outcome, record::Outcome::crash) << r.summary;
  EXPECT_EQ(r.crash["signal_name"], "SIGSEGV");
  EXPECT_EQ(r.crash["si_code_name"], "SI_KERNEL");
  EXPECT_EQ(r.crash["address"], "0x0");
  EXPECT_NE(r.crash["description"].get<std::string>().find("general-protection"), std::string::npos);
  EXPECT_TRUE(backtrace_names(r.crash, "crash_victim_gp", "t_gpfault.cc")) << r.crash["backtrace"].dump(1);
}

TEST(Run, AbortCarriesAssertionMessage) {
  auto r = run_target({target("t_abort")});
  ASSERT_EQ(r.outcome, record::Outcome::abort) << r.summary;
  EXPECT_NE(r.summary.find("Assertion"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("fiber count must match"), std::string::npos) << r.summary;
  EXPECT_EQ(r.crash["signal_name"], "SIGABRT");
  EXPECT_TRUE(backtrace_names(r.crash, "check_invariant")) << r.crash["backtrace"].dump(1);
}

TEST(Run, CrashInFiberOnGuardPage) {
  auto r = run_target({target("t_fiber_guard")});
  ASSERT_EQ(r.outcome, record::Outcome::crash) << r.summary;
  EXPECT_EQ(r.crash["signal_name"], "SIGSEGV");
  EXPECT_EQ(r.crash["si_code_name"], "SEGV_ACCERR");
  EXPECT_EQ(r.crash["fiber_id"], 7);
  EXPECT_EQ(r.crash["scheduler_thread"], 0);
  EXPECT_EQ(r.crash["address_mapping"]["perms"], "---p");  // the guard page
  EXPECT_TRUE(backtrace_names(r.crash, "fiber_touch_guard")) << r.crash["backtrace"].dump(1);
  EXPECT_TRUE(backtrace_names(r.crash, "fiber_body")) << r.crash["backtrace"].dump(1);
  // The unwind ends at the fiber's entry, not in garbage or at the depth limit.
  const std::string stop = r.crash["unwind_stop"];
  EXPECT_TRUE(stop == "end" || stop == "null-ip" || stop == "step-error") << stop;
  EXPECT_LT(r.crash["backtrace"].size(), 20u) << r.crash["backtrace"].dump(1);
  EXPECT_NE(r.summary.find("fiber 7"), std::string::npos) << r.summary;
}

TEST(Run, HangCollectsEveryThreadStackAndFiberDump) {
  auto r = run_target({target("t_hang")}, 1.5);
  ASSERT_EQ(r.outcome, record::Outcome::hang) << r.summary;
  ASSERT_TRUE(r.hang.contains("threads")) << r.hang.dump(1);
  EXPECT_EQ(r.hang["threads"].size(), 3u) << r.hang.dump(1);
  std::string all = r.hang["threads"].dump();
  EXPECT_NE(all.find("hang_worker_wait"), std::string::npos) << all;
  EXPECT_NE(all.find("main"), std::string::npos);
  EXPECT_NE(r.hang.value("fiber_dump", "").find("fiber 1 state=parked"), std::string::npos) << r.hang.dump(1);
}

TEST(Run, SanitizerReportShapedStderr) {
  auto r = run_target({target("t_sanitizer_text")});
  ASSERT_EQ(r.outcome, record::Outcome::sanitizer) << r.summary;
  EXPECT_EQ(r.sanitizer["kind"], "heap-use-after-free");
  EXPECT_EQ(r.sanitizer["frames"][0]["function"], "Consumer::send(Event const&)");
}

TEST(Run, RealAsanTarget) {
  const std::string t = FL_ASAN_TARGET;
  if (t.empty() || !fs::exists(t)) GTEST_SKIP() << "clang++ with ASan runtime not available";
  EXPECT_TRUE(has_sanitizer_runtime(t));
  auto r = run_target({t});
  ASSERT_EQ(r.outcome, record::Outcome::sanitizer) << r.summary << r.details.dump(1);
  EXPECT_EQ(r.sanitizer["tool"], "AddressSanitizer");
  EXPECT_EQ(r.sanitizer["kind"], "heap-use-after-free");
  EXPECT_NE(r.sanitizer["frames"].dump().find("asan_victim_read"), std::string::npos) << r.sanitizer.dump(1);
}

TEST(Run, MemoryLimitIsOom) {
  auto r = run_target({target("t_oom")}, 20, 256ull << 20);
  EXPECT_EQ(r.outcome, record::Outcome::oom) << r.summary;
}

// ---- repetition, rr probe, matrix -------------------------------------------

TEST(Repeat, RecordsEveryAttemptWithRateAndInterval) {
  RepeatOptions o;
  o.child.command = {target("t_nullderef")};
  o.child.crash_lib = FL_CRASH_LIB;
  o.child.timeout_s = 20;
  o.repeat = 4;
  o.jobs = 2;
  o.results_root = temp_dir("repeat");
  o.run_id = "rep";
  auto s = run_repeated(o);
  EXPECT_EQ(s.attempts, 4u);
  EXPECT_EQ(s.failures, 4u);
  EXPECT_EQ(s.outcomes["SIGSEGV/SEGV_MAPERR"], 4u);
  EXPECT_DOUBLE_EQ(s.rate, 1.0);
  EXPECT_LT(s.ci_low, 1.0);
  ASSERT_TRUE(s.first_failure_index.has_value());
  std::ifstream in(o.results_root / "rep" / "runs.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto rec = record::from_json(nlohmann::json::parse(line));
    EXPECT_EQ(rec.outcome, record::Outcome::crash);
    ++n;
  }
  EXPECT_EQ(n, 4);
}

TEST(Repeat, UntilFailStopsAndShardSplits) {
  RepeatOptions o;
  o.child.command = {target("t_exit")};
  o.repeat = 50;
  o.until_fail = true;
  o.max_time_s = 30;
  o.results_root = temp_dir("until");
  auto s = run_repeated(o);
  EXPECT_EQ(s.attempts, 1u);
  EXPECT_TRUE(s.stopped_by_failure);

  RepeatOptions p;
  p.child.command = {target("t_pass")};
  p.repeat = 10;
  p.shard_index = 1;
  p.shard_count = 3;
  p.results_root = temp_dir("shard");
  auto t = run_repeated(p);
  EXPECT_EQ(t.attempts, 3u);  // indices 1, 4, 7
  EXPECT_EQ(t.failures, 0u);
}

TEST(Rr, ProbeExplainsWhyNot) {
  auto p = probe_rr();
  if (p.usable) GTEST_SKIP() << "rr works on this machine";
  EXPECT_FALSE(p.reason.empty());
  if (have_program("rr") && p.evidence.value("perf_event_open_cycles", "ok") != "ok") {
    EXPECT_NE(p.reason.find("PMU"), std::string::npos) << p.reason;
  }
  auto env = collect_environment(&p);
  EXPECT_EQ(env["rr"]["usable"], false);
  EXPECT_TRUE(env.contains("kernel"));
  EXPECT_TRUE(env["io_uring"].contains("usable"));
  EXPECT_FALSE(env["cpu"]["model"].get<std::string>().empty());
}

TEST(Matrix, TableFromFakeBuildTrees) {
  fs::path root = temp_dir("matrix");
  auto make_tree = [&](const std::string& preset, const std::string& program) {
    fs::create_directories(root / "build" / preset / "repro");
    std::ofstream(root / "build" / preset / "repro" / "catalog.json")
        << "[{\"scenario\": \"fake/stale-register\", \"target\": \"t\", \"path\": \"" << target(program) << "\"}]\n";
  };
  make_tree("debug", "t_fake_repro_O0");
  make_tree("release", "t_fake_repro_O2");
  MatrixOptions m;
  m.scenarios = {"fake/stale-register"};
  m.builds = {"debug", "release"};
  m.repeat = 2;
  m.build = false;
  m.build_root = root / "build";
  m.results_root = root / "results";
  m.run_id = "mx";
  m.child.crash_lib = FL_CRASH_LIB;
  m.child.timeout_s = 20;
  auto res = run_matrix(m);
  ASSERT_EQ(res.cells.size(), 6u);
  auto cell = [&](const std::string& b, const std::string& v) {
    for (const auto& c : res.cells)
      if (c.build == b && c.variant == v) return c;
    return MatrixCell{};
  };
  EXPECT_EQ(cell("debug", "broken").outcomes["pass"], 2u);
  EXPECT_EQ(cell("release", "broken").outcomes["SIGSEGV/SI_KERNEL"], 2u);
  EXPECT_EQ(cell("release", "wrong").outcomes["fail"], 2u);
  EXPECT_EQ(cell("release", "fixed").outcomes["pass"], 2u);
  auto table = format_matrix_table(res);
  EXPECT_NE(table.find("SIGSEGV/SI_KERNEL 2"), std::string::npos) << table;
  auto j = nlohmann::json::parse(read_file((root / "results" / "mx" / "matrix.json").string()));
  EXPECT_EQ(j["cells"].size(), 6u);
  // 2 builds x 3 variants x 2 attempts records.
  std::ifstream in(root / "results" / "mx" / "runs.jsonl");
  int n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  EXPECT_EQ(n, 12);
}

TEST(BisectOpt, FindsFirstFailingLimitAndNamesThePass) {
  const std::string clang = FL_CLANGXX;
  if (clang.empty() || clang.find("NOTFOUND") != std::string::npos) GTEST_SKIP() << "clang++ not available";
  fs::path dir = temp_dir("bisect");
  int builds = 0;
  BisectBuilder build = [&](int k) {
    ++builds;
    BisectBuild b;
    b.program = (dir / ("p" + std::to_string(builds))).string();
    auto c = run_capture(
        {clang, "-O2", "-mllvm", "-opt-bisect-limit=" + std::to_string(k), FL_OPT_BISECT_SRC, "-o", b.program}, 120, {},
        64u << 20);
    b.ok = c.exit_code == 0;
    b.log = c.output;
    b.error = c.output.substr(0, 500);
    return b;
  };
  BisectTester fails = [](const std::string& program) { return run_capture({program}, 10).exit_code != 0; };
  auto r = bisect_opt(build, fails);
  ASSERT_TRUE(r.found) << r.error;
  EXPECT_GT(r.first_failing, 0);
  EXPECT_LE(r.first_failing, r.max_index);
  ASSERT_FALSE(r.pass_lines.empty());
  EXPECT_NE(r.pass_lines[0].find("BISECT: running pass (" + std::to_string(r.first_failing) + ")"), std::string::npos);
  // The answer is exact: one below it passes.
  EXPECT_FALSE(fails(build(r.first_failing - 1).program));
  EXPECT_LT(builds, 20);
  std::cerr << "first failing limit " << r.first_failing << ": " << r.pass_lines[0] << "\n";
}

TEST(BisectOpt, ParsesBisectLines) {
  const std::string log =
      "noise\nBISECT: running pass (1) SROAPass on f\nBISECT: running pass (12) InlinerPass on (g)\n"
      "BISECT: NOT running pass (13) X on h\n";
  EXPECT_EQ(max_bisect_index(log), 12);
  auto l = bisect_lines(log, 12);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0], "BISECT: running pass (12) InlinerPass on (g)");
}

TEST(BisectOpt, SkipsLimitsThatDoNotBuild) {
  // Limits below 5 and 20..29 do not link; the failure starts at 37 of 100.
  auto unbuildable = [](int k) { return (k >= 0 && k < 5) || (k >= 20 && k < 30); };
  BisectBuilder build = [&](int k) {
    BisectBuild b;
    b.ok = !unbuildable(k);
    b.error = "undefined reference";
    b.program = std::to_string(k < 0 ? 100 : k);
    for (int i = 1; i <= 100 && b.ok; ++i)
      if (k < 0 || i <= k)
        b.log += "BISECT: running pass (" + std::to_string(i) + ") P" + std::to_string(i) + " on f\n";
    return b;
  };
  BisectTester fails = [](const std::string& program) { return std::stoi(program) >= 37; };
  auto r = bisect_opt(build, fails);
  ASSERT_TRUE(r.found) << r.error;
  EXPECT_EQ(r.first_failing, 37);
  ASSERT_EQ(r.pass_lines.size(), 1u);
  EXPECT_EQ(r.pass_lines[0], "BISECT: running pass (37) P37 on f");
  EXPECT_FALSE(r.unbuildable.empty());
}
