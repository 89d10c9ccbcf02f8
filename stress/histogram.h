// Latency histogram with HdrHistogram-style log-linear buckets: values below
// 128 have a bucket each; above, every power of two is split into 64 buckets,
// so a bucket's width is at most 1/64 of its lower bound (a reported
// percentile is within 1.6% of the true value). Values are integers in any
// unit (the suite uses microseconds), 0 .. 2^42 (larger values are clamped
// into the last bucket; negative ones count as 0).
//
// Histogram::record is lock-free (one relaxed atomic add per value), so the
// consumer fibers record and the sampler snapshots concurrently. Per-second
// windows are the difference of two snapshots; a window's max is the upper
// bound of its highest non-empty bucket (exact max: Snapshot::max of the
// whole run).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace faultline::stress {

class HistogramSnapshot {
 public:
  static constexpr int kSubBits = 7;  // 128 linear buckets, then 64 per octave
  static constexpr int kMaxExp = 42;
  static constexpr std::size_t kBuckets = (1u << kSubBits) + (kMaxExp - kSubBits + 1) * (1u << (kSubBits - 1));

  static std::size_t bucket_of(std::int64_t v);
  // Smallest and largest value that land in bucket i.
  static std::int64_t bucket_low(std::size_t i);
  static std::int64_t bucket_high(std::size_t i);

  HistogramSnapshot() : counts_(kBuckets, 0) {}

  void add(std::int64_t v, std::uint64_t n = 1);
  void merge(const HistogramSnapshot& o);
  // Values recorded in `this` but not in `earlier` (a later snapshot minus an
  // earlier one of the same histogram). max() of the result is bucket based.
  HistogramSnapshot since(const HistogramSnapshot& earlier) const;

  std::uint64_t count() const { return total_; }
  // The value at percentile p (0 < p ≤ 100): the upper bound of the bucket
  // holding the ceil(p% · count)-th smallest value, capped at max(). 0 when empty.
  std::int64_t percentile(double p) const;
  std::int64_t max() const { return max_; }
  double mean() const { return total_ ? sum_ / static_cast<double>(total_) : 0; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }

 private:
  friend class Histogram;
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

class Histogram {
 public:
  Histogram();
  void record(std::int64_t v);
  HistogramSnapshot snapshot() const;

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::int64_t> max_{0};
  std::atomic<std::uint64_t> sum_{0};
};

}  // namespace faultline::stress
