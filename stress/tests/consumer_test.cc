#include <gtest/gtest.h>

#include "stress/consumer.h"
#include "stress/limits.h"
#include "stress/relay_process.h"
#include "stress/stress.h"

namespace faultline::stress {
namespace {

TEST(SeqChecker, CountsGapsAndDuplicates) {
  SeqChecker s;
  s.rebase(0);
  EXPECT_TRUE(s.observe(1));
  EXPECT_TRUE(s.observe(2));
  EXPECT_FALSE(s.observe(2));  // duplicate
  EXPECT_FALSE(s.observe(1));  // regression counts as duplicate
  EXPECT_TRUE(s.observe(5));   // 3, 4 missing
  EXPECT_TRUE(s.observe(6));
  EXPECT_EQ(s.gaps(), 2u);
  EXPECT_EQ(s.gap_runs(), 1u);
  EXPECT_EQ(s.duplicates(), 2u);
  EXPECT_EQ(s.last(), 6);
  // A reconnect with cursor = last continues without a gap.
  s.rebase(s.last());
  EXPECT_TRUE(s.observe(7));
  EXPECT_EQ(s.gaps(), 2u);
  SeqChecker first;
  first.rebase(0);
  EXPECT_TRUE(first.observe(3));  // cursor 0: the first event must be 1
  EXPECT_EQ(first.gaps(), 2u);
}

TEST(RelayCommand, FollowsTheContract) {
  auto c = relay_command("/x/faultline", "http://127.0.0.1:9", 10, 11, "/d", "threaded", "spin-wait", "never", {"--foo"});
  std::vector<std::string> want = {"/x/faultline", "relay",    "--bootstrap",  "http://127.0.0.1:9", "--port", "10",
                                   "--metrics-port", "11",    "--data-dir",   "/d",  "--backend", "threaded",
                                   "--rate-limit", "0",       "--quiet",      "--inject", "spin-wait", "--fsync",
                                   "never",        "--foo"};
  EXPECT_EQ(c, want);
  EXPECT_EQ(relay_command("f", "b", 1, 2, "d", "evented", "", "", {}).size(), 15u);
}

TEST(Compare, RatiosAreThreadedOverEvented) {
  nlohmann::json ev = {{"relay_threads_max", 35.0}, {"relay_rss_max_bytes", 100.0}, {"relay_cpu_us_per_event", 10.0}};
  nlohmann::json th = {{"relay_threads_max", 2850.0}, {"relay_rss_max_bytes", 400.0}, {"relay_cpu_us_per_event", 25.0}};
  auto c = compare_summaries(ev, th);
  EXPECT_NEAR(c["threaded_over_evented"]["relay_threads_max"].get<double>(), 2850.0 / 35, 1e-9);
  EXPECT_NEAR(c["threaded_over_evented"]["relay_rss_max_bytes"].get<double>(), 4.0, 1e-9);
  EXPECT_NEAR(c["threaded_over_evented"]["relay_cpu_us_per_event"].get<double>(), 2.5, 1e-9);
  EXPECT_TRUE(c["threaded_over_evented"]["latency_p99_ms"].is_null());
}

TEST(Limits, ReportsTheNumbers) {
  auto small = check_limits(10, 2, true);
  EXPECT_TRUE(small.ok) << (small.problems.empty() ? "" : small.problems[0]);
  EXPECT_TRUE(small.facts.contains("nofile_hard"));
  EXPECT_TRUE(small.facts.contains("pid_max"));
  // Far beyond any machine: every problem names what is needed.
  auto huge = check_limits(99'999, 2, true);
  if (!huge.ok) {
    ASSERT_FALSE(huge.problems.empty());
    for (const auto& p : huge.problems) EXPECT_NE(p.find("need"), std::string::npos) << p;
  }
}

}  // namespace
}  // namespace faultline::stress
