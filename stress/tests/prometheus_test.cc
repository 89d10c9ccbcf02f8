#include <gtest/gtest.h>

#include <cmath>

#include "stress/prometheus.h"

namespace faultline::stress {
namespace {

constexpr const char* kText = R"(# HELP relay_events_received_total Frames read from upstreams.
# TYPE relay_events_received_total counter
relay_events_received_total 12345
relay_events_accepted_total 12000
# TYPE relay_events_invalid_total counter
relay_events_invalid_total{reason="bad-cbor"} 3
relay_events_invalid_total{reason="bad-did"} 4
relay_events_invalid_total{reason="a \"quoted\" \\ reason\nwith newline",} 1
relay_consumer_lag{consumer="c0"} 0
relay_consumer_lag{consumer="slow"} 16384
relay_hosts{status="active"} 2800
relay_hosts{status="idle"} 0
relay_log_seq 1.2e4 1700000000000
relay_nan NaN
relay_inf +Inf
this is not a metric
relay_broken{reason="x"
relay_threads 35
)";

TEST(Prometheus, ParsesSamplesLabelsAndSpecialValues) {
  auto m = PromMetrics::parse(kText);
  EXPECT_EQ(m.bad_lines(), 2u);
  EXPECT_EQ(m.get("relay_events_received_total").value_or(-1), 12345);
  EXPECT_EQ(m.get("relay_log_seq").value_or(-1), 12000);
  EXPECT_EQ(m.get("relay_threads").value_or(-1), 35);
  EXPECT_TRUE(std::isnan(*m.get("relay_nan")));
  EXPECT_TRUE(std::isinf(*m.get("relay_inf")));
  EXPECT_FALSE(m.get("relay_events_invalid_total").has_value());  // only labelled samples
  EXPECT_EQ(m.sum("relay_events_invalid_total"), 8);
  EXPECT_EQ(m.sum("absent"), 0);
  EXPECT_FALSE(m.has("absent"));
  auto by = m.by_label("relay_events_invalid_total", "reason");
  EXPECT_EQ(by.size(), 3u);
  EXPECT_EQ(by["bad-did"], 4);
  EXPECT_EQ(by["a \"quoted\" \\ reason\nwith newline"], 1);
  EXPECT_EQ(m.get("relay_consumer_lag", "consumer", "slow").value_or(-1), 16384);
  EXPECT_EQ(m.max("relay_consumer_lag").value_or(-1), 16384);
  EXPECT_EQ(m.by_label("relay_hosts", "status")["active"], 2800);
}

TEST(Prometheus, EmptyAndGarbageInput) {
  EXPECT_TRUE(PromMetrics::parse("").samples().empty());
  auto m = PromMetrics::parse("\n\n# only comments\n{bad} 1\nname{l=unquoted} 2\nname{l=\"v\"} x\n");
  EXPECT_TRUE(m.samples().empty());
  EXPECT_EQ(m.bad_lines(), 3u);
  auto crlf = PromMetrics::parse("a 1\r\nb 2\r\n");
  EXPECT_EQ(crlf.get("b").value_or(-1), 2);
}

}  // namespace
}  // namespace faultline::stress
