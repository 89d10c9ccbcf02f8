#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

#include "stress/histogram.h"

namespace faultline::stress {
namespace {

TEST(Histogram, BucketsCoverEveryValueWithBoundedWidth) {
  for (std::int64_t v : {0LL, 1LL, 127LL, 128LL, 129LL, 1000LL, 65'535LL, 1'000'000LL, 123'456'789LL, (1LL << 41)}) {
    auto b = HistogramSnapshot::bucket_of(v);
    ASSERT_LT(b, HistogramSnapshot::kBuckets);
    EXPECT_LE(HistogramSnapshot::bucket_low(b), v);
    EXPECT_GE(HistogramSnapshot::bucket_high(b), v);
    // Width at most 1/64 of the lower bound above the linear range.
    if (v >= 128) {
      EXPECT_LE(HistogramSnapshot::bucket_high(b) - HistogramSnapshot::bucket_low(b) + 1,
                HistogramSnapshot::bucket_low(b) / 64 + 1);
    }
  }
  // Buckets are contiguous and increasing.
  for (std::size_t i = 1; i < 2000; ++i)
    EXPECT_EQ(HistogramSnapshot::bucket_low(i), HistogramSnapshot::bucket_high(i - 1) + 1) << i;
  EXPECT_EQ(HistogramSnapshot::bucket_of(-5), 0u);
  EXPECT_EQ(HistogramSnapshot::bucket_of(std::int64_t{1} << 60), HistogramSnapshot::bucket_of((std::int64_t{1} << 42) - 1));
}

TEST(Histogram, PercentilesMatchASortedSample) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(8.0, 1.5);  // µs, a long tail
  std::vector<std::int64_t> values;
  Histogram h;
  for (int i = 0; i < 100'000; ++i) {
    auto v = static_cast<std::int64_t>(d(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  auto s = h.snapshot();
  EXPECT_EQ(s.count(), values.size());
  EXPECT_EQ(s.max(), values.back());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto exact = values[static_cast<std::size_t>(std::ceil(p / 100 * values.size())) - 1];
    auto got = s.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 64) + 1) << p;
  }
  EXPECT_EQ(s.percentile(100), values.back());
}

TEST(Histogram, WindowsAreDifferencesOfSnapshots) {
  Histogram h;
  for (int i = 0; i < 100; ++i) h.record(10);
  auto a = h.snapshot();
  for (int i = 0; i < 10; ++i) h.record(5000);
  auto b = h.snapshot();
  auto w = b.since(a);
  EXPECT_EQ(w.count(), 10u);
  EXPECT_GE(w.percentile(50), 5000);
  EXPECT_LE(w.max(), 5000 + 5000 / 64);
  EXPECT_EQ(a.since(a).count(), 0u);
  EXPECT_EQ(a.since(a).percentile(99), 0);
}

TEST(Histogram, MergeAndConcurrentRecording) {
  Histogram h;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&h, t] {
      for (int i = 0; i < 50'000; ++i) h.record(t * 1000 + i % 100);
    });
  for (auto& t : ts) t.join();
  auto s = h.snapshot();
  EXPECT_EQ(s.count(), 200'000u);
  EXPECT_EQ(s.max(), 3099);
  HistogramSnapshot m;
  m.merge(s);
  m.merge(s);
  EXPECT_EQ(m.count(), 400'000u);
  EXPECT_EQ(m.percentile(50), s.percentile(50));
}

}  // namespace
}  // namespace faultline::stress
