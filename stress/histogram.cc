#include "stress/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline::stress {

std::size_t HistogramSnapshot::bucket_of(std::int64_t v) {
  if (v < 0) v = 0;
  const std::int64_t cap = (std::int64_t{1} << kMaxExp) - 1;
  if (v > cap) v = cap;
  const auto u = static_cast<std::uint64_t>(v);
  if (u < (1u << kSubBits)) return static_cast<std::size_t>(u);
  const int e = std::bit_width(u) - kSubBits;  // ≥ 1
  const std::uint64_t m = u >> e;              // [64, 128)
  return (1u << kSubBits) + static_cast<std::size_t>(e - 1) * (1u << (kSubBits - 1)) +
         static_cast<std::size_t>(m - (1u << (kSubBits - 1)));
}

std::int64_t HistogramSnapshot::bucket_low(std::size_t i) {
  if (i < (1u << kSubBits)) return static_cast<std::int64_t>(i);
  const std::size_t k = i - (1u << kSubBits);
  const int e = static_cast<int>(k / (1u << (kSubBits - 1))) + 1;
  const std::uint64_t m = k % (1u << (kSubBits - 1)) + (1u << (kSubBits - 1));
  return static_cast<std::int64_t>(m << e);
}

std::int64_t HistogramSnapshot::bucket_high(std::size_t i) {
  if (i < (1u << kSubBits)) return static_cast<std::int64_t>(i);
  const std::size_t k = i - (1u << kSubBits);
  const int e = static_cast<int>(k / (1u << (kSubBits - 1))) + 1;
  const std::uint64_t m = k % (1u << (kSubBits - 1)) + (1u << (kSubBits - 1));
  return static_cast<std::int64_t>(((m + 1) << e) - 1);
}

void HistogramSnapshot::add(std::int64_t v, std::uint64_t n) {
  if (n == 0) return;
  counts_[bucket_of(v)] += n;
  total_ += n;
  max_ = std::max(max_, std::max<std::int64_t>(v, 0));
  sum_ += static_cast<double>(std::max<std::int64_t>(v, 0)) * static_cast<double>(n);
}

void HistogramSnapshot::merge(const HistogramSnapshot& o) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  total_ += o.total_;
  max_ = std::max(max_, o.max_);
  sum_ += o.sum_;
}

HistogramSnapshot HistogramSnapshot::since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot d;
  std::size_t top = 0;
  bool any = false;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    std::uint64_t c = counts_[i] >= earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
    d.counts_[i] = c;
    d.total_ += c;
    if (c) {
      top = i;
      any = true;
    }
  }
  d.sum_ = std::max(0.0, sum_ - earlier.sum_);
  d.max_ = any ? std::min(bucket_high(top), max_) : 0;
  return d;
}

std::int64_t HistogramSnapshot::percentile(double p) const {
  if (total_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;
}

Histogram::Histogram() : counts_(new std::atomic<std::uint64_t>[HistogramSnapshot::kBuckets]) {
  for (std::size_t i = 0; i < HistogramSnapshot::kBuckets; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::record(std::int64_t v) {
  if (v < 0) v = 0;
  counts_[HistogramSnapshot::bucket_of(v)].fetch_add(1, std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
  std::int64_t m = max_.load(std::memory_order_relaxed);
  while (v > m && !max_.compare_exchange_weak(m, v, std::memory_order_relaxed)) {
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < HistogramSnapshot::kBuckets; ++i) {
    s.counts_[i] = counts_[i].load(std::memory_order_relaxed);
    total += s.counts_[i];
  }
  // The bucket counts are the truth (total_ may be mid-update).
  s.total_ = total;
  s.max_ = max_.load(std::memory_order_relaxed);
  s.sum_ = static_cast<double>(sum_.load(std::memory_order_relaxed));
  return s;
}

}  // namespace faultline::stress
