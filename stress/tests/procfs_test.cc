#include <gtest/gtest.h>

#include <unistd.h>

#include <thread>

#include "stress/procfs.h"

namespace faultline::stress {
namespace {

TEST(Procfs, ParsesStatus) {
  const char* text =
      "Name:\tfaultline\nUmask:\t0022\nState:\tS (sleeping)\nVmHWM:\t  215000 kB\nVmRSS:\t  204800 kB\n"
      "Threads:\t35\nSigQ:\t0/96365\n";
  auto s = parse_proc_status(text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->threads, 35);
  EXPECT_EQ(s->rss_bytes, 204800LL * 1024);
  EXPECT_EQ(s->hwm_bytes, 215000LL * 1024);
  // A zombie has no VmRSS; no Threads line is not a status file.
  auto z = parse_proc_status("Name:\tx\nThreads:\t1\n");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->rss_bytes, -1);
  EXPECT_FALSE(parse_proc_status("Name:\tx\n"));
}

TEST(Procfs, ParsesStatWithAHostileComm) {
  // comm may contain spaces and parentheses: fields start after the LAST ')'.
  const char* text =
      "4242 (evil) (name) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 35 0 12345 987654321 51200 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto s = parse_proc_stat(text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 75u);
  EXPECT_EQ(s->num_threads, 35);
  EXPECT_EQ(s->rss_pages, 51200);
  EXPECT_FALSE(parse_proc_stat("garbage"));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2"));
}

TEST(Procfs, SamplesThisProcessAndFindsChildren) {
  std::thread t([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  auto s = sample_process(::getpid());
  t.join();
  ASSERT_TRUE(s);
  EXPECT_GE(s->threads, 2);
  EXPECT_GT(s->rss_bytes, 0);
  EXPECT_GE(s->cpu_s, 0);
  EXPECT_FALSE(sample_process(0x7ffffff0));
  EXPECT_TRUE(find_children(::getpid(), "no-such-arg-anywhere").empty());
  EXPECT_GT(read_int_file("/proc/sys/kernel/pid_max").value_or(0), 0);
  EXPECT_FALSE(read_int_file("/nonexistent/file"));
}

}  // namespace
}  // namespace faultline::stress
