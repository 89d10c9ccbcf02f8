// Unit tests of the report generator, golden-free: each test builds
// synthetic records, runs one stage (or the whole generator) and asserts on
// content — signatures, counts, sections — not on exact output bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "reports/aggregate.h"
#include "reports/generate.h"
#include "reports/load.h"
#include "reports/markdown.h"
#include "reports/signature.h"
#include "reports/svg.h"
#include "reports/tests/synthetic.h"

namespace fs = std::filesystem;
using namespace faultline::reports;
using namespace faultline::reports::testing;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// A fake source tree so repro files resolve without depending on which
// repros exist in the real tree today.
fs::path fake_root(const fs::path& base) {
  auto root = base / "src";
  write(root / "CMakeLists.txt", "");
  fs::create_directories(root / "reports");
  write(root / "repro" / "ctxswitch" / "missing_clobber.cc", "int main() {}\n");
  write(root / "repro" / "lifetime" / "broadcaster" / "main.cc", "int main() {}\n");
  return root;
}

}  // namespace

TEST(Normalize, RemovesAddressesTemplatesAnonymousNamespacesAndClones) {
  EXPECT_EQ(
      normalize_function("faultline::repro::(anonymous namespace)::switch_to<Fiber<3>>(Ctx*, Ctx*) [clone .isra.0]"),
      "faultline::repro::switch_to<>");
  EXPECT_EQ(normalize_function("std::vector<int, std::allocator<int> >::push_back(int const&)"),
            "std::vector<>::push_back");
  EXPECT_EQ(normalize_function("foo+0x1d"), "foo");
  EXPECT_EQ(normalize_function("main.cold"), "main");
  EXPECT_EQ(normalize_function("bar.constprop.0.isra.0"), "bar");
  EXPECT_EQ(normalize_function("_ZN3foo3barEv"), "foo::bar");
  EXPECT_EQ(normalize_function("??"), "");
  EXPECT_EQ(normalize_function("{anonymous}::helper()"), "helper");
  EXPECT_EQ(normalize_function("__libc_start_main@@GLIBC_2.34"), "__libc_start_main");
}

TEST(Normalize, KeepsOperatorsAndCollapsesLambdas) {
  EXPECT_EQ(normalize_function("operator<<(std::ostream&, Foo const&)"), "operator<<");
  EXPECT_EQ(normalize_function("Foo::operator()(int) const"), "Foo::operator()");
  EXPECT_EQ(normalize_function("std::function<void ()>::operator()() const"), "std::function<>::operator()");
  EXPECT_EQ(normalize_function("run(int)::{lambda(int)#1}::operator()(int) const"), "run::{lambda}::operator()");
  EXPECT_EQ(normalize_function("Ptr<Conn>::operator->() const"), "Ptr<>::operator->");
  EXPECT_EQ(normalize_function("a::operator<(a const&, a const&)"), "a::operator<");
}

TEST(Normalize, RemovesInlinedMarkers) {
  EXPECT_EQ(normalize_function("Broadcaster::publish [inlined]"), "Broadcaster::publish");
  EXPECT_EQ(normalize_function("(inlined) Broadcaster::publish"), "Broadcaster::publish");
}

TEST(ParseFrame, AcceptsStringFormatsOfGdbSanitizersAndBacktraceSymbols) {
  auto gdb = parse_frame("#2  0x0000555555556789 in Scheduler::run_one (this=0x1, n=2) at sched.cc:77");
  EXPECT_EQ(gdb.function, "Scheduler::run_one");
  EXPECT_EQ(gdb.file, "sched.cc");
  EXPECT_EQ(gdb.line, 77);
  auto from = parse_frame("#0  0x00007ffff7a4a9fc in __restore_rt () from /lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(from.function, "__restore_rt");
  EXPECT_EQ(from.module, "/lib/x86_64-linux-gnu/libc.so.6");
  auto asan = parse_frame("    #1 0x4f5a3c in Consumer::send(int) /src/broadcaster.cc:12:5");
  EXPECT_EQ(asan.function, "Consumer::send");
  EXPECT_EQ(asan.file, "/src/broadcaster.cc");
  EXPECT_EQ(asan.line, 12);
  auto asan_mod = parse_frame("#3 0x7f0 in __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6+0x23d09)");
  EXPECT_EQ(asan_mod.function, "__libc_start_main");
  EXPECT_EQ(asan_mod.module, "/lib/x86_64-linux-gnu/libc.so.6");
  auto bts = parse_frame("./bin/prog(_ZN3foo3barEv+0x1d) [0x555555554abc]");
  EXPECT_EQ(bts.function, "foo::bar");
  EXPECT_EQ(bts.module, "./bin/prog");
  auto tsan = parse_frame("#0 Queue::push /src/queue.cc:12 (prog+0x1234)");
  EXPECT_EQ(tsan.function, "Queue::push");
  EXPECT_EQ(tsan.module, "prog");
  EXPECT_EQ(tsan.line, 12);
}

TEST(ParseFrame, AcceptsObjectsAndGarbage) {
  auto f = parse_frame(nlohmann::json{{"func", "ns::f<int>(int)"}, {"file", "a.cc"}, {"line", 3}, {"inlined", true}});
  EXPECT_EQ(f.function, "ns::f<>");
  EXPECT_TRUE(f.inlined);
  EXPECT_EQ(parse_frame(nlohmann::json(42)).function, "");
  EXPECT_EQ(parse_frame(nlohmann::json{{"raw", "#0 0x1 in g() at b.cc:1"}}).function, "g");
}

TEST(Noise, DropsHarnessLibcTrampolinesAndRuntimes) {
  for (const char* fn : {"__restore_rt", "raise", "abort", "__libc_start_main", "_start", "__asan_report_load8",
                         "__sanitizer::Die", "faultline::repro::repro_main", "faultline::harness::capture_crash",
                         "__pthread_kill_implementation", "std::terminate", "_ULx86_64_step"}) {
    Frame f;
    f.function = normalize_function(fn);
    EXPECT_TRUE(is_noise_frame(f)) << fn;
  }
  Frame libc{"memcpy", "", "", 0, "/lib/x86_64-linux-gnu/libc.so.6", false};
  EXPECT_TRUE(is_noise_frame(libc));
  Frame own{"faultline::repro::switch_to<>", "", "", 0, "", false};
  EXPECT_FALSE(is_noise_frame(own));
}

TEST(Signature, SignalFromNumberNameOrExitCode) {
  faultline::record::ResultRecord r;
  r.outcome = faultline::record::Outcome::crash;
  r.crash = {{"signal", 7}};
  EXPECT_EQ(signal_name(r), "SIGBUS");
  r.crash = {{"signal", "SIGSEGV (Segmentation fault)"}};
  EXPECT_EQ(signal_name(r), "SIGSEGV");
  r.crash = nullptr;
  r.exit_code = 139;
  EXPECT_EQ(signal_name(r), "SIGSEGV");
}

TEST(Grouping, FiveHundredRunsOfOneBugAreOneSignature) {
  RunSet set;
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += line(segv_clobber("segv-" + std::to_string(i), i % 2 ? "RelWithDebInfo" : "Release", i));
  for (int i = 0; i < 7; ++i) text += line(asan_uaf("uaf-" + std::to_string(i), i));
  text += line(hang_rec("hang-0"));
  // Failures without frames fall back to the scenario: two scenarios, two entries.
  text += line(base("fail-a1", "wssplit/crlf", "partial-fix", "Debug", "fail"));
  text += line(base("fail-a2", "wssplit/crlf", "partial-fix", "Release", "fail"));
  text += line(base("fail-b1", "crossio/spin-wait", "broken", "Debug", "fail"));
  for (int i = 0; i < 20; ++i)
    text += line(base("pass-" + std::to_string(i), "ctxswitch/missing-clobber", "fixed", "Release", "pass"));
  load_jsonl_text(text, "mem", "mem", set);
  auto sigs = group_failures(set);
  ASSERT_EQ(sigs.size(), 5u);
  EXPECT_EQ(sigs[0].runs.size(), 500u);
  EXPECT_EQ(sigs[0].kind, "crash");
  EXPECT_EQ(sigs[0].signal, "SIGSEGV");
  EXPECT_EQ(sigs[0].frames,
            (std::vector<std::string>{"faultline::repro::switch_to<>", "faultline::repro::Scheduler::run_one"}));
  EXPECT_EQ(sigs[1].runs.size(), 7u);
  EXPECT_EQ(sigs[1].kind, "sanitizer");
  EXPECT_EQ(sigs[1].signal, "heap-use-after-free");
  EXPECT_EQ(sigs[1].frames, (std::vector<std::string>{"Consumer::send", "Broadcaster::publish"}));
  std::size_t fallback = 0, hang = 0;
  for (const auto& s : sigs) {
    if (!s.scenario_fallback.empty()) {
      ++fallback;
      EXPECT_TRUE(s.frames.empty());
      EXPECT_EQ(s.runs.size(), s.scenario_fallback == "wssplit/crlf" ? 2u : 1u);
    }
    if (s.kind == "hang") {
      ++hang;
      // The thread flagged as blocked is the failing one; libc-level futex frames stay (not libc-module).
      EXPECT_EQ(s.frames.back(), "Resyncer::run");
    }
  }
  EXPECT_EQ(fallback, 2u);
  EXPECT_EQ(hang, 1u);
  // Signature ids are stable: the same key always hashes the same.
  EXPECT_EQ(signature_of(set.runs[3].rec).id, sigs[0].id);
}

TEST(Loading, MergesShardsDropsDuplicatesAndCountsMalformedLines) {
  auto d = fresh_dir("merge");
  std::string a = line(segv_clobber("r1", "Release", 1)) + line(segv_clobber("r2", "Release", 2)) +
                  "not json at all\n" + "{\"run_id\": \"trunc\", \"outcome\": \n" + "\n" + "[1,2,3]\n" +
                  "\"a string\"\n";
  std::string b = line(segv_clobber("r2", "Release", 2)) + line(segv_clobber("r3", "Debug", 3)) +
                  line(segv_clobber("r1", "Release", 1));
  write(d / "machine-a" / "results" / "20261124-a" / "runs.jsonl", a);
  write(d / "machine-b" / "deep" / "er" / "20261124-b" / "runs.jsonl", b);
  auto set = load_runs({d.string(), (d / "missing").string()});
  EXPECT_EQ(set.runs.size(), 3u);
  EXPECT_EQ(set.duplicates_dropped, 2u);
  EXPECT_EQ(set.malformed_lines, 4u);  // garbage, truncated, array, string; the blank line is not a record
  EXPECT_EQ(set.run_dirs.size(), 2u);
  bool warned_missing = false;
  for (const auto& w : set.warnings) warned_missing |= w.find("missing") != std::string::npos;
  EXPECT_TRUE(warned_missing);
  fs::remove_all(d);
}

TEST(Loading, AcceptsRecordsWithMissingAndMistypedFields) {
  RunSet set;
  std::string text =
      "{\"run_id\": \"old-1\", \"outcome\": \"crash\"}\n"
      "{\"outcome\": \"crash\", \"crash\": \"SIGSEGV somewhere\", \"build\": 5}\n"
      "{\"run_id\": \"odd\", \"outcome\": \"abort\", \"crash\": {\"backtrace\": [1, null, {}]},"
      " \"hang\": [], \"details\": {\"timeseries\": 7}}\n"
      "{\"run_id\": \"future\", \"outcome\": \"crash\", \"crash\": {\"backtrace\": \"#0 a() at x.cc:1\\n#1 b() at "
      "x.cc:2\"}}\n";
  load_jsonl_text(text, "mem", "mem", set);
  ASSERT_EQ(set.runs.size(), 4u);
  EXPECT_EQ(set.malformed_lines, 0u);
  auto sigs = group_failures(set);
  EXPECT_FALSE(sigs.empty());
  auto s = signature_of(set.runs[3].rec);
  EXPECT_EQ(s.frames, (std::vector<std::string>{"a", "b"}));
  MarkdownContext ctx{set, "", ""};
  for (const auto& sig : sigs) EXPECT_NE(markdown_report(ctx, sig).find("## Summary"), std::string::npos);
}

TEST(Aggregate, WilsonIntervalMatchesKnownValues) {
  auto a = wilson95(0, 10);
  EXPECT_NEAR(a.low, 0.0, 1e-9);
  EXPECT_NEAR(a.high, 0.2775, 1e-3);
  auto b = wilson95(10, 10);
  EXPECT_NEAR(b.low, 0.7225, 1e-3);
  auto c = wilson95(5, 10);
  EXPECT_NEAR(c.low, 0.2366, 1e-3);
  EXPECT_NEAR(c.high, 0.7634, 1e-3);
  auto e = wilson95(0, 0);
  EXPECT_EQ(e.low, 0);
  EXPECT_EQ(e.high, 1);
}

TEST(Aggregate, MatrixEqualsRecordCounts) {
  RunSet set;
  std::string text;
  // Release: 7 crashes of 10; RelWithDebInfo: 0 of 4; Debug: 2 skips + 3 passes.
  for (int i = 0; i < 7; ++i) text += line(segv_clobber("c" + std::to_string(i), "Release", i));
  for (int i = 0; i < 3; ++i)
    text += line(base("rp" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Release", "pass"));
  for (int i = 0; i < 4; ++i)
    text += line(base("wp" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "RelWithDebInfo", "pass"));
  for (int i = 0; i < 2; ++i)
    text += line(base("ds" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Debug", "skip"));
  for (int i = 0; i < 3; ++i)
    text += line(base("dp" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Debug", "pass"));
  load_jsonl_text(text, "mem", "mem", set);
  // A matrix.json cell for a cell no record covers is added; one for a covered cell is not.
  set.matrices.push_back(nlohmann::json::parse(R"({"command": "./faultline matrix ctxswitch/missing-clobber",
    "cells": [{"scenario": "ctxswitch/missing-clobber", "variant": "broken", "build": {"type": "MinSizeRel", "compiler": "GNU-12.2.0"},
               "outcomes": {"crash": 4, "pass": 1}},
              {"scenario": "ctxswitch/missing-clobber", "variant": "broken", "build": {"type": "Release", "compiler": "GNU-12.2.0"},
               "runs": 99, "failures": 99}]})"));
  auto mx = build_matrix(set);
  std::string row = "ctxswitch/missing-clobber [broken]";
  ASSERT_EQ(mx.rows, std::vector<std::string>{row});
  ASSERT_EQ(mx.builds.size(), 4u);
  EXPECT_EQ(mx.builds[0], "Debug · GNU-12.2.0");  // optimisation order
  const auto& rel = mx.cells.at({row, "Release · GNU-12.2.0"});
  EXPECT_EQ(rel.runs, 10u);
  EXPECT_EQ(rel.failures, 7u);
  EXPECT_EQ(rel.outcomes.at("crash"), 7u);
  EXPECT_EQ(rel.outcomes.at("pass"), 3u);
  EXPECT_EQ(mx.cells.at({row, "RelWithDebInfo · GNU-12.2.0"}).failures, 0u);
  const auto& dbg = mx.cells.at({row, "Debug · GNU-12.2.0"});
  EXPECT_EQ(dbg.runs, 5u);
  EXPECT_EQ(dbg.outcomes.at("skip"), 2u);
  EXPECT_EQ(dbg.failures, 0u);
  const auto& msr = mx.cells.at({row, "MinSizeRel · GNU-12.2.0"});
  EXPECT_EQ(msr.runs, 5u);
  EXPECT_EQ(msr.failures, 4u);
  EXPECT_EQ(mx.total.runs, 24u);
  EXPECT_EQ(mx.total.failures, 11u);
  EXPECT_EQ(mx.from_matrix_json, 5u);
}

TEST(Markdown, EverySectionPresentWithRealData) {
  auto d = fresh_dir("md");
  auto root = fake_root(d);
  RunSet set;
  std::string text;
  for (int i = 0; i < 6; ++i) text += line(segv_clobber("s" + std::to_string(i), "Release", i));
  for (int i = 0; i < 4; ++i)
    text += line(base("p" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Debug", "pass"));
  for (int i = 0; i < 2; ++i)
    text += line(base("q" + std::to_string(i), "ctxswitch/missing-clobber", "broken", "Release", "pass"));
  load_jsonl_text(text, "mem", "mem", set);
  auto sigs = group_failures(set);
  ASSERT_EQ(sigs.size(), 1u);
  MarkdownContext ctx{set, root.string(), ""};
  auto md = markdown_report(ctx, sigs[0]);
  for (const auto& s : kReportSections) EXPECT_NE(md.find("\n## " + s + "\n"), std::string::npos) << s;
  EXPECT_EQ(md.rfind("# ", 0), 0u);  // a title first
  EXPECT_NE(md.find("SIGSEGV"), std::string::npos);
  EXPECT_NE(md.find("6.1.0-18-amd64"), std::string::npos);  // kernel
  EXPECT_NE(md.find("AMD EPYC 7B13"), std::string::npos);   // cpu
  EXPECT_NE(md.find("GNU-12.2.0"), std::string::npos);      // compiler
  EXPECT_NE(md.find("-O2 -g"), std::string::npos);          // flags
  EXPECT_NE(md.find("liburing"), std::string::npos);        // library versions
  EXPECT_NE(md.find("64b17fc"), std::string::npos);         // commit
  EXPECT_NE(md.find("./faultline repro run ctxswitch/missing-clobber --variant broken"), std::string::npos);
  EXPECT_NE(md.find("./faultline matrix --scenario ctxswitch/missing-clobber"), std::string::npos);
  EXPECT_NE(md.find("**Expected:**"), std::string::npos);
  EXPECT_NE(md.find("**Actual:**"), std::string::npos);
  // Release: 6 of 8 runs; Debug: 0 of 4.
  EXPECT_NE(md.find("| Release · GNU-12.2.0 | 8 | 6 | 6 | 75.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Debug · GNU-12.2.0 | 4 | 0 | 0 | 0.0% |"), std::string::npos);
  EXPECT_NE(md.find("SI_KERNEL"), std::string::npos);
  EXPECT_NE(md.find("rip"), std::string::npos);
  EXPECT_NE(md.find("mov (%rsi),%rax"), std::string::npos);
  EXPECT_NE(md.find("=> 0x1238"), std::string::npos);
  EXPECT_NE(md.find("switch_to<Fiber<"), std::string::npos);  // raw backtrace kept verbatim
  EXPECT_NE(md.find("rr replay /tmp/rr/missing-clobber-0"), std::string::npos);
  EXPECT_NE(md.find("repro/ctxswitch/missing_clobber.cc"), std::string::npos);
  // No sanitizer in this run: the section says so.
  auto san = md.find("## Sanitizer report");
  EXPECT_NE(md.find("not captured", san), std::string::npos);
  fs::remove_all(d);
}

TEST(Markdown, EnvironmentProbeThatDidNotRunReadsAsNotProbed) {
  // collect_environment(nullptr) writes {"usable": null}; the report used to
  // throw nlohmann::type_error on it.
  auto d = fresh_dir("md-null-probe");
  auto root = fake_root(d);
  RunSet set;
  auto j = segv_clobber("n0", "Release", 0);
  j["environment"]["rr"] = {{"usable", nullptr}, {"reason", "not probed"}};
  j["environment"]["io_uring"] = {{"usable", true}, {"version", "6.1"}};
  load_jsonl_text(line(j), "mem", "mem", set);
  auto sigs = group_failures(set);
  ASSERT_EQ(sigs.size(), 1u);
  MarkdownContext ctx{set, root.string(), ""};
  std::string md;
  ASSERT_NO_THROW(md = markdown_report(ctx, sigs[0]));
  EXPECT_NE(md.find("not probed"), std::string::npos) << md;
  EXPECT_NE(md.find("usable, 6.1"), std::string::npos) << md;
  fs::remove_all(d);
}

TEST(Markdown, SanitizerExcerptAndDirectoryRepro) {
  auto d = fresh_dir("md2");
  auto root = fake_root(d);
  RunSet set;
  load_jsonl_text(line(asan_uaf("u1", 1)) + line(hang_rec("h1")), "mem", "mem", set);
  auto sigs = group_failures(set);
  ASSERT_EQ(sigs.size(), 2u);
  MarkdownContext ctx{set, root.string(), ""};
  for (const auto& s : sigs) {
    auto md = markdown_report(ctx, s);
    for (const auto& sec : kReportSections) EXPECT_NE(md.find("\n## " + sec + "\n"), std::string::npos) << sec;
    if (s.kind == "sanitizer") {
      EXPECT_NE(md.find("heap-use-after-free on address"), std::string::npos);
      EXPECT_NE(md.find("repro/lifetime/broadcaster/main.cc"), std::string::npos);
      EXPECT_NE(md.find("## rr replay\n\n_not captured_"), std::string::npos);
    } else {
      EXPECT_NE(md.find("## Thread stacks at the hang"), std::string::npos);
      EXPECT_NE(md.find("sched-0"), std::string::npos);
    }
  }
  fs::remove_all(d);
}

TEST(Generate, WritesPageSummaryAndReportsWithEscapedText) {
  auto d = fresh_dir("gen");
  auto in = d / "results";
  std::string text;
  for (int i = 0; i < 12; ++i) text += line(segv_clobber("s" + std::to_string(i), i % 3 ? "Release" : "MinSizeRel", i));
  for (int i = 0; i < 3; ++i) text += line(asan_uaf("u" + std::to_string(i), i));
  auto evil = base("evil", "x/<script>alert(1)</script>", "<b>", "Release", "fail");
  evil["summary"] = "\"><img src=x onerror=alert(1)>";
  text += line(evil);
  for (int i = 0; i < 9; ++i)
    text += line(base("p" + std::to_string(i), "ctxswitch/missing-clobber", "fixed", "Release", "pass"));
  write(in / "run-1" / "runs.jsonl", text + "{broken\n");
  std::string ts;
  for (int t = 0; t < 30; ++t) {
    nlohmann::json s{{"t", t},
                     {"threads", 35},
                     {"rss_bytes", 1e8 + t * 1e6},
                     {"events_in_per_s", 600 + t},
                     {"events_out_per_s", 590 + t},
                     {"latency_p50_ms", 2},
                     {"latency_p99_ms", 9 + t % 4},
                     {"latency_max_ms", 30},
                     {"queue_high_water", 36 + t}};
    ts += s.dump() + "\n";
  }
  write(in / "stress-1" / "runs.jsonl", line(base("stress", "stress/fleet", "evented", "Release", "pass")));
  write(in / "stress-1" / "timeseries.jsonl", ts);

  auto r = generate_report({in.string()}, (d / "out").string());
  EXPECT_EQ(r.runs, 26u);
  EXPECT_EQ(r.failures, 16u);
  EXPECT_EQ(r.signatures, 3u);
  EXPECT_EQ(r.malformed_lines, 1u);
  ASSERT_EQ(r.bug_reports.size(), 3u);
  for (const auto& p : r.bug_reports) EXPECT_TRUE(fs::exists(p));
  EXPECT_NE(r.text_summary.find(r.index_html), std::string::npos);
  for (const auto& p : r.bug_reports) EXPECT_NE(r.text_summary.find(p), std::string::npos);

  auto html = slurp(r.index_html);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find("x/&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // Self-contained: the only URL is the SVG namespace.
  std::regex url(R"((https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,})");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator(); ++it)
    EXPECT_EQ(it->str(), "http://www.w3.org") << "external reference: " << it->str();
  EXPECT_NE(html.find("<table class=\"matrix\""), std::string::npos);
  EXPECT_GE(count_of(html, "<svg class=\"chart\""), 3u + 5u);  // rates, 2 histograms, 5 stress panels
  EXPECT_NE(html.find("Stress time series"), std::string::npos);
  EXPECT_NE(html.find("queue_high_water"), std::string::npos);
  for (std::size_t i = 0; i < r.bug_reports.size(); ++i)
    EXPECT_NE(html.find("href=\"bugs/" + fs::path(r.bug_reports[i]).filename().string() + "\""), std::string::npos);

  auto sj = nlohmann::json::parse(slurp(r.summary_json));
  EXPECT_EQ(sj["schema"], "faultline.report/1");
  EXPECT_EQ(sj["totals"]["runs"], 26);
  EXPECT_EQ(sj["totals"]["failures"], 16);
  EXPECT_EQ(sj["totals"]["malformed_lines"], 1);
  EXPECT_EQ(sj["signatures"].size(), 3u);
  std::size_t sum = 0;
  for (const auto& c : sj["matrix"]) sum += c["runs"].get<std::size_t>();
  EXPECT_EQ(sum, 26u);

  // A second report into the same directory removes stale bug reports.
  write(in / "run-1" / "runs.jsonl", line(base("only-pass", "a/b", "fixed", "Debug", "pass")));
  fs::remove_all(in / "stress-1");
  auto r2 = generate_report({in.string()}, (d / "out").string());
  EXPECT_EQ(r2.signatures, 0u);
  EXPECT_TRUE(fs::is_empty(d / "out" / "bugs"));
  fs::remove_all(d);
}

TEST(Generate, NoFailureReportSaysSo) {
  auto d = fresh_dir("clean");
  std::string text;
  for (int i = 0; i < 5; ++i)
    text += line(base("p" + std::to_string(i), "ctxswitch/missing-clobber", "fixed", "Debug", "pass"));
  text += line(base("sk", "crossio/uring", "broken", "Debug", "skip"));
  write(d / "in" / "runs.jsonl", text);
  auto r = generate_report({(d / "in").string()}, (d / "out").string());
  EXPECT_EQ(r.failures, 0u);
  EXPECT_EQ(r.signatures, 0u);
  EXPECT_TRUE(r.bug_reports.empty());
  EXPECT_NE(r.text_summary.find("no failures"), std::string::npos);
  auto html = slurp(r.index_html);
  EXPECT_NE(html.find("All 5 runs passed"), std::string::npos);
  EXPECT_NE(html.find("No failures"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"matrix\""), std::string::npos);
  auto sj = nlohmann::json::parse(slurp(r.summary_json));
  EXPECT_EQ(sj["totals"]["failures"], 0);
  EXPECT_EQ(sj["totals"]["skips"], 1);
  // An empty input directory is a clean (empty) report too, not an error.
  fs::create_directories(d / "empty");
  auto e = generate_report({(d / "empty").string()}, (d / "out2").string());
  EXPECT_EQ(e.runs, 0u);
  EXPECT_TRUE(fs::exists(e.index_html));
  fs::remove_all(d);
}

TEST(TimeSeries, LoadsFileAndEmbeddedSeries) {
  auto d = fresh_dir("ts");
  auto rec = base("st1", "stress/fleet", "threaded", "Release", "pass");
  rec["details"]["timeseries"] = {{"samples", {{{"t", 0}, {"threads", 2800}}, {{"t", 1}, {"threads", 2800}}}}};
  write(d / "a" / "runs.jsonl", line(rec) + line(base("st2", "stress/fleet", "evented", "Release", "pass")));
  write(d / "a" / "timeseries.jsonl",
        "{\"run_id\": \"st2\", \"t\": 1, \"rss_bytes\": 5, \"latency\": {\"p99_ms\": 4}}\n"
        "{\"run_id\": \"st2\", \"t\": 0, \"rss_bytes\": 3}\nnope\n");
  auto set = load_runs({d.string()});
  ASSERT_EQ(set.series.size(), 2u);
  EXPECT_EQ(set.series[0].run_id, "st1");
  EXPECT_EQ(set.series[0].samples.size(), 2u);
  EXPECT_EQ(set.series[1].run_id, "st2");
  EXPECT_NE(set.series[1].label.find("evented"), std::string::npos);
  ASSERT_EQ(set.series[1].samples.size(), 2u);
  EXPECT_EQ(set.series[1].samples[0].at("t"), 0);  // sorted by t
  EXPECT_EQ(set.series[1].samples[1].at("latency_p99_ms"), 4);
  EXPECT_EQ(set.malformed_lines, 1u);
  fs::remove_all(d);
}

TEST(Svg, NiceTicksCoverTheRange) {
  auto t = svg::nice_ticks(0, 97, 5);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.front(), 0);
  EXPECT_GE(t.back(), 80);
  auto h = svg::histogram("h", {1, 2, 3, 1000, 5000}, "x", "#000");
  EXPECT_NE(h.find("log scale"), std::string::npos);
  EXPECT_NE(svg::histogram("h", {}, "x", "#000").find("no data"), std::string::npos);
}
