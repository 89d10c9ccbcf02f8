// The relay end to end over loopback, in-process: a FakeUpstream (a fake
// PDS) → Relay (Relay::create + start, ports 0, a temporary data directory,
// no rate limits) → several downstream consumers (net::WebSocket clients).
// Parameterised over the relay's backend (evented, threaded); the test's own
// Io (fake upstream, consumers, HTTP clients) uses the same backend.
//
// What each test checks is in its name and its first comment. Every wait is
// bounded (kWait); the only plain sleep waits for wall-clock time itself to
// pass the retention window (OutdatedCursor).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "relay/core/relay.h"
#include "relay/core/tests/e2e_support.h"
#include "relay/core/tests/fake_upstream.h"
#include "relay/net/tests/tls_test_support.h"
#include "relay/proto/frame.h"
#include "relay/proto/frame_builder.h"
#include "relay/store/event_log.h"
#include "relay/store/state_db.h"

namespace faultline::relay::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct BackendParam {
  io::Backend backend;
  const char* name;
};
void PrintTo(const BackendParam& p, std::ostream* os) {
  *os << p.name;
}

const std::string kDidA = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kDidB = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kDidC = "did:plc:cccccccccccccccccccccccc";

// A valid commit frame with the given upstream seq, for tests of per-host
// seq rules; its rev derives from `rev_from`, so revs can increase on their own.
std::vector<std::uint8_t> commit_with_seq(std::int64_t seq, const std::string& did, std::int64_t rev_from) {
  proto::CommitSpec s;
  s.seq = seq;
  s.did = did;
  s.rev = proto::default_rev(rev_from);
  return proto::make_commit_frame(s);
}

class RelayE2E : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    io::Options o;
    o.backend = GetParam().backend;
    o.scheduler_threads = 1;
    o.bridge_workers = 1;
    io = io::Io::create(o);
    upstream = std::make_unique<FakeUpstream>(*io);
    ASSERT_NE(upstream->port(), 0);
  }
  void TearDown() override {
    consumers.clear();
    stop_relay();
    upstream.reset();
    io.reset();
  }

  RelayOptions options() const {
    RelayOptions o;
    o.hosts = {upstream->url()};
    o.port = 0;
    o.metrics_port = 0;
    o.data_dir = (dir.path() / "data").string();
    o.default_limits = RateLimits{0, 0, 0};
    o.backend = GetParam().backend;
    o.scheduler_threads = 2;
    o.validate_workers = 2;
    o.broadcast_fibers = 3;
    o.fsync = FsyncPolicy::never;
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(300);
    o.cursor_flush_interval = std::chrono::seconds(1);
    o.quiet = true;
    return o;
  }
  void start_relay(const RelayOptions& o) {
    std::string error;
    relay = Relay::create(o, error);
    ASSERT_TRUE(relay) << error;
    ASSERT_TRUE(relay->start(error)) << error;
    ASSERT_NE(relay->port(), 0);
    ASSERT_NE(relay->metrics_port(), 0);
  }
  void start_relay() { start_relay(options()); }
  void stop_relay() {
    if (relay) {
      relay->stop();
      relay.reset();
    }
  }

  Consumer& consumer(std::optional<std::int64_t> cursor = std::nullopt, bool read = true) {
    consumers.push_back(std::make_unique<Consumer>(*io, relay->port(), cursor, read));
    EXPECT_TRUE(consumers.back()->connected()) << consumers.back()->connect_error();
    return *consumers.back();
  }
  bool wait_log_seq(std::int64_t seq) {
    return wait_until([&] { return relay->counters().log_seq >= seq; });
  }
  bool wait_consumers(std::size_t n) {
    return wait_until([&] { return relay->counters().consumers == n; });
  }
  bool wait_host_connected() {
    return wait_until([&] { return relay->counters().hosts_connected >= 1; });
  }
  std::string metrics() {
    auto r = http_get(*io, relay->metrics_port(), "/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return r.body;
  }
  json get_json(const std::string& target, int want_status = 200) {
    auto r = http_get(*io, relay->port(), target);
    EXPECT_EQ(r.status, want_status) << target << ": " << r.error << " " << r.body;
    return r.json();
  }

  // Every event a consumer got, checked against the upstream's frames: relay
  // seqs first_seq, first_seq + 1, ... and each frame byte-identical to the
  // upstream frame `upstream_index[i]` with only its seq rewritten.
  void expect_stream(const std::vector<Received>& events, const std::vector<std::vector<std::uint8_t>>& up,
                     const std::vector<std::size_t>& upstream_index, std::int64_t first_seq) {
    ASSERT_EQ(events.size(), upstream_index.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      SCOPED_TRACE("event " + std::to_string(i));
      ASSERT_TRUE(events[i].check.ok) << events[i].check.reason;
      EXPECT_EQ(events[i].seq(), first_seq + static_cast<std::int64_t>(i));
      const auto& u = up.at(upstream_index[i]);
      EXPECT_EQ(events[i].bytes, proto::rewrite_seq(u, events[i].seq()));
    }
  }
  static std::vector<std::size_t> iota(std::size_t from, std::size_t n) {
    std::vector<std::size_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = from + i;
    return v;
  }

  TempDir dir;
  std::unique_ptr<io::Io> io;
  std::unique_ptr<FakeUpstream> upstream;
  std::unique_ptr<Relay> relay;
  std::vector<std::unique_ptr<Consumer>> consumers;
};

// Three live consumers get every event (#commit, #sync, #identity, #account)
// exactly once, relay seq 1, 2, 3, ..., in upstream order, frames identical
// to the upstream's but for the seq.
TEST_P(RelayE2E, LiveDeliveryToSeveralConsumers) {
  start_relay();
  ASSERT_TRUE(wait_host_connected());
  Consumer& a = consumer();
  Consumer& b = consumer();
  Consumer& c = consumer();
  ASSERT_TRUE(wait_consumers(3));
  const std::size_t n = 300;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& did = i % 3 == 0 ? kDidA : i % 3 == 1 ? kDidB : kDidC;
    if (i % 50 == 7) {
      proto::IdentitySpec s;
      s.did = did;
      s.handle = "someone.example.com";
      upstream->add_identity(s);
    } else if (i % 50 == 21) {
      proto::SyncSpec s;
      s.did = did;
      upstream->add_sync(s);
    } else if (i % 50 == 33) {
      proto::AccountSpec s;
      s.did = did;
      upstream->add_account(s);
    } else {
      proto::CommitSpec s;
      s.did = did;
      s.ops.push_back(proto::OpSpec{});
      upstream->add_commit(s);
    }
  }
  const auto up = upstream->frames();
  for (Consumer* k : {&a, &b, &c}) {
    ASSERT_TRUE(k->wait_events(n)) << k->events().size();
    expect_stream(k->events(), up, iota(0, n), 1);
    EXPECT_FALSE(k->closed());
  }
  auto counters = relay->counters();
  EXPECT_EQ(counters.log_seq, static_cast<std::int64_t>(n));
  EXPECT_EQ(counters.received, n);
  EXPECT_EQ(counters.accepted, n);
  EXPECT_EQ(counters.invalid, 0u);
  EXPECT_EQ(counters.dropped, 0u);
  EXPECT_TRUE(wait_until([&] { return relay->counters().sent == 3 * n; }));
  EXPECT_EQ(upstream->connections(), 1u);
}

// Cursor 0 replays everything, a cursor in the middle replays what follows
// it; both then go on live with no gap and no duplicate.
TEST_P(RelayE2E, CursorReplayFromZeroAndFromTheMiddle) {
  start_relay();
  upstream->add_commits(50, kDidA);
  ASSERT_TRUE(wait_log_seq(50));
  Consumer& all = consumer(0);
  Consumer& mid = consumer(20);
  Consumer& head = consumer(50);
  ASSERT_TRUE(all.wait_events(50));
  ASSERT_TRUE(mid.wait_events(30));
  ASSERT_TRUE(wait_consumers(3));
  upstream->add_commits(10, kDidA);
  ASSERT_TRUE(all.wait_events(60));
  ASSERT_TRUE(mid.wait_events(40));
  ASSERT_TRUE(head.wait_events(10));
  const auto up = upstream->frames();
  expect_stream(all.events(), up, iota(0, 60), 1);
  expect_stream(mid.events(), up, iota(20, 40), 21);
  expect_stream(head.events(), up, iota(50, 10), 51);
}

// Consumers join with cursors while the upstream keeps producing: more than
// one replay chunk (1,000 events) behind, so replay, the hand-over and live
// overlap. Each must see 1..N exactly once.
TEST_P(RelayE2E, HandOverFromReplayToLiveWhileEventsArrive) {
  start_relay();
  const std::size_t total = 3000;
  std::atomic<std::size_t> added{0};
  std::thread producer([&] {
    for (std::size_t i = 0; i < total / 20; ++i) {
      upstream->add_commits(20, i % 2 ? kDidA : kDidB);
      added += 20;
    }
  });
  std::vector<Consumer*> late;
  for (std::size_t at : {0u, 400u, 1500u, 2600u}) {
    ASSERT_TRUE(wait_until([&] { return relay->counters().log_seq >= static_cast<std::int64_t>(at); }));
    late.push_back(&consumer(0));
    late.push_back(&consumer(static_cast<std::int64_t>(at / 2)));
  }
  producer.join();
  for (Consumer* k : late) {
    ASSERT_TRUE(k->wait_seq(static_cast<std::int64_t>(total))) << k->last_seq();
    auto seqs = seqs_of(k->frames());
    ASSERT_FALSE(seqs.empty());
    for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], seqs[i - 1] + 1) << "at " << i;
    EXPECT_EQ(seqs.back(), static_cast<std::int64_t>(total));
  }
  const auto up = upstream->frames();
  expect_stream(late[0]->events(), up, iota(0, total), 1);
}

// A cursor ahead of the relay: a FutureCursor error frame, then close. A
// malformed cursor: an InvalidRequest error frame.
TEST_P(RelayE2E, FutureCursorGetsAnErrorFrameThenClose) {
  start_relay();
  upstream->add_commits(5, kDidA);
  ASSERT_TRUE(wait_log_seq(5));
  Consumer& ahead = consumer(6);
  ASSERT_TRUE(ahead.wait_closed());
  auto f = ahead.frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].check.kind, proto::Kind::kError);
  EXPECT_EQ(f[0].check.error_name, "FutureCursor");
  EXPECT_EQ(ahead.close_code(), net::close_code::normal);

  Consumer& at_head = consumer(5);  // not in the future: live
  ASSERT_TRUE(wait_consumers(1));
  EXPECT_FALSE(at_head.closed());

  consumers.push_back(std::make_unique<Consumer>(*io, relay->port(), std::nullopt, true, "cursor=abc"));
  Consumer& bad = *consumers.back();
  ASSERT_TRUE(bad.wait_closed());
  ASSERT_EQ(bad.frames().size(), 1u);
  EXPECT_EQ(bad.frames()[0].check.error_name, "InvalidRequest");
}

// Events older than the retention window are pruned: a cursor before the
// oldest event gets #info OutdatedCursor, then the oldest event on.
TEST_P(RelayE2E, OutdatedCursorGetsInfoThenTheOldestEvent) {
  auto o = options();
  o.events_per_segment = 5;
  o.retention = std::chrono::seconds(1);
  start_relay(o);
  upstream->add_commits(12, kDidA);
  ASSERT_TRUE(wait_log_seq(12));
  // Wall-clock time must pass the retention window (nothing to await).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  upstream->add_commits(8, kDidA);  // fills segment 11..15: the roll prunes
  ASSERT_TRUE(wait_log_seq(20));
  const fs::path events_dir = fs::path(o.data_dir) / "events";
  const fs::path first = events_dir / store::EventLog::segment_file_name(1);
  ASSERT_TRUE(wait_until([&] { return !fs::exists(first); })) << "segment 1 was not pruned";
  std::int64_t oldest = 0;
  for (auto& e : fs::directory_iterator(events_dir)) {
    auto name = e.path().filename().string();
    if (name.rfind("events-", 0) == 0 && name.size() == 7 + 20 + 4 && name.ends_with(".log")) {
      auto s = std::stoll(name.substr(7, 20));
      if (oldest == 0 || s < oldest) oldest = s;
    }
  }
  ASSERT_GT(oldest, 3);
  Consumer& old = consumer(2);
  ASSERT_TRUE(old.wait_seq(20));
  auto f = old.frames();
  ASSERT_GE(f.size(), 2u);
  EXPECT_EQ(f[0].check.kind, proto::Kind::kInfo);
  EXPECT_EQ(f[0].check.info_name, "OutdatedCursor");
  auto seqs = seqs_of(f);
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(20 - oldest + 1));
  EXPECT_EQ(seqs.front(), oldest);
  for (std::size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  // A cursor inside the window: no #info.
  Consumer& inside = consumer(oldest);
  ASSERT_TRUE(inside.wait_seq(20));
  EXPECT_TRUE(inside.frames().front().is_event());
}

// A consumer that does not read while big frames flow fills the TCP buffers
// and then its queue: it gets ConsumerTooSlow (once it reads again) and is
// closed; the other consumers get everything.
TEST_P(RelayE2E, ConsumerTooSlowIsCutOffOthersUnaffected) {
  // 250 kB frames: ~20 of them fill the loopback socket buffers (4 MB send
  // buffer, the receiver's un-read window), then 16 more fill the queue.
  auto o = options();
  o.consumer_buffer = 16;
  start_relay(o);
  Consumer& slow = consumer(std::nullopt, /*read=*/false);
  Consumer& fast1 = consumer();
  Consumer& fast2 = consumer();
  ASSERT_TRUE(wait_consumers(3));
  const std::size_t n = 60;
  for (std::size_t i = 0; i < n; ++i) {
    proto::CommitSpec s;
    s.did = kDidA;
    proto::OpSpec op;
    op.record = proto::cbor::Value(proto::cbor::Map{
        {"$type", "app.bsky.feed.post"}, {"text", std::string(250'000, 'x')}, {"createdAt", proto::kDefaultTime}});
    s.ops.push_back(std::move(op));
    upstream->add_commit(s);
    // The fast consumers read each event before the next one is made, so
    // they never lag; only the one that does not read falls behind.
    ASSERT_TRUE(fast1.wait_events(i + 1)) << fast1.events().size();
    ASSERT_TRUE(fast2.wait_events(i + 1)) << fast2.events().size();
  }
  ASSERT_TRUE(wait_until([&] {
    auto v = metric(metrics(), "relay_consumers_too_slow_total");
    return v && *v == 1;
  }));
  slow.start_reading();
  ASSERT_TRUE(slow.wait_closed());
  auto f = slow.frames();
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f.back().check.kind, proto::Kind::kError);
  EXPECT_EQ(f.back().check.error_name, "ConsumerTooSlow");
  EXPECT_EQ(slow.close_code(), net::close_code::policy_violation);
  auto seqs = seqs_of(f);
  EXPECT_LT(seqs.size(), n);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<std::int64_t>(i + 1));
  EXPECT_FALSE(fast1.closed());
  EXPECT_FALSE(fast2.closed());
  EXPECT_TRUE(wait_consumers(2));
  expect_stream(fast1.events(), upstream->frames(), iota(0, n), 1);
}

// The upstream drops every connection (several times, also mid-stream): the
// relay reconnects with its cursor; nothing is lost or duplicated.
TEST_P(RelayE2E, UpstreamDisconnectAndReconnectResumesFromTheCursor) {
  start_relay();
  Consumer& c = consumer(0);
  upstream->add_commits(20, kDidA);
  ASSERT_TRUE(wait_log_seq(20));
  ASSERT_TRUE(wait_until(
      [&] { return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] == 20; }));
  upstream->drop_connections();
  ASSERT_TRUE(upstream->wait_for_connections(2, kWait));
  {
    auto cursors = upstream->cursors_requested();
    ASSERT_EQ(cursors.size(), 2u);
    EXPECT_FALSE(cursors[0].has_value());
    EXPECT_EQ(cursors[1], std::optional<std::int64_t>(20));
  }
  upstream->add_commits(20, kDidB);
  ASSERT_TRUE(wait_log_seq(40));
  // Drops while events flow.
  for (int round = 0; round < 3; ++round) {
    upstream->add_commits(30, round % 2 ? kDidA : kDidC);
    upstream->drop_connections();
    ASSERT_TRUE(upstream->wait_for_connections(static_cast<std::size_t>(3 + round), kWait));
  }
  ASSERT_TRUE(wait_log_seq(130));
  ASSERT_TRUE(c.wait_events(130));
  expect_stream(c.events(), upstream->frames(), iota(0, 130), 1);
  EXPECT_TRUE(wait_until([&] {
    auto v = metric(metrics(), "relay_upstream_reconnects_total");
    return v && *v >= 4;
  }));
  auto cursors = upstream->cursors_requested();
  for (std::size_t i = 1; i < cursors.size(); ++i) EXPECT_TRUE(cursors[i].has_value()) << i;
}

// A FutureCursor answer from the upstream marks the host idle; requestCrawl
// wakes it; events it re-sends (the fake did not really lose them) that the
// relay already has are dropped by the account rev check.
TEST_P(RelayE2E, UpstreamFutureCursorMarksHostIdle) {
  auto o = options();
  o.backoff_max = std::chrono::seconds(30);  // an idle host is retried only by requestCrawl
  start_relay(o);
  Consumer& c = consumer(0);
  upstream->add_commits(5, kDidA);
  ASSERT_TRUE(wait_log_seq(5));
  ASSERT_TRUE(wait_until(
      [&] { return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] == 5; }));
  upstream->fail_next_with_future_cursor();
  upstream->drop_connections();
  const std::string status = "/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname();
  ASSERT_TRUE(wait_until([&] { return get_json(status)["status"] == "idle"; }));
  EXPECT_EQ(upstream->connections(), 2u);
  auto r = http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl",
                     json{{"hostname", upstream->hostname()}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(upstream->wait_for_connections(3, kWait));
  EXPECT_FALSE(upstream->cursors_requested()[2].has_value()) << "the cursor is reset after FutureCursor";
  upstream->add_commits(3, kDidA);
  ASSERT_TRUE(wait_log_seq(8));
  ASSERT_TRUE(c.wait_events(8));
  expect_stream(c.events(), upstream->frames(), iota(0, 8), 1);
  EXPECT_EQ(get_json(status)["status"], "active");
  auto m = metrics();
  EXPECT_EQ(metric(m, "relay_events_dropped_total", "reason=\"rev-not-newer\""), 5.0);
}

// Every invalid frame kind the builder makes is counted by reason and
// dropped; the connection survives and the valid frames around them pass.
TEST_P(RelayE2E, InvalidFramesAreCountedByReasonAndDropped) {
  start_relay();
  Consumer& c = consumer(0);
  std::vector<std::size_t> valid;
  std::map<std::string, int> expected;
  // The reason check_frame gives each defect (frame_builder.h).
  auto reason_of = [](proto::Defect d) -> std::string {
    switch (d) {
      case proto::Defect::kTruncated:
        return "bad-cbor";
      case proto::Defect::kDidMismatch:
        return "commit-did-mismatch";
      case proto::Defect::kRevMismatch:
        return "commit-rev-mismatch";
      default:
        return proto::defect_name(d);
    }
  };
  std::size_t index = 0;
  for (int d = 1; d < proto::kDefectCount; ++d) {
    auto defect = static_cast<proto::Defect>(d);
    proto::CommitSpec good;
    good.seq = upstream->next_seq();
    good.did = kDidA;
    upstream->add_raw(proto::make_commit_frame(good));
    valid.push_back(index++);
    proto::CommitSpec bad;
    bad.seq = upstream->next_seq();
    bad.did = kDidB;
    bad.defect = defect;
    bad.ops.push_back(proto::OpSpec{});
    upstream->add_raw(proto::make_commit_frame(bad), bad.seq);
    ++index;
    ++expected[reason_of(defect)];
  }
  proto::CommitSpec last;
  last.seq = upstream->next_seq();
  last.did = kDidA;
  upstream->add_raw(proto::make_commit_frame(last));
  valid.push_back(index++);
  ASSERT_TRUE(c.wait_events(valid.size())) << c.events().size();
  expect_stream(c.events(), upstream->frames(), valid, 1);
  auto m = metrics();
  for (auto& [reason, n] : expected)
    EXPECT_EQ(metric(m, "relay_events_invalid_total", "reason=\"" + reason + "\""), std::optional<double>(n)) << reason;
  EXPECT_EQ(upstream->connections(), 1u) << "an invalid frame must not cost the connection";
  // Every invalid frame advanced the host's cursor.
  ASSERT_TRUE(wait_until([&] {
    return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] ==
           upstream->next_seq() - 1;
  }));
}

// Per host, upstream seq must increase: duplicates and regressions are
// dropped (seq-not-newer) before validation.
TEST_P(RelayE2E, UpstreamSeqDuplicatesAndRegressionsAreDropped) {
  start_relay();
  Consumer& c = consumer(0);
  upstream->add_raw(commit_with_seq(1, kDidA, 1));
  upstream->add_raw(commit_with_seq(2, kDidA, 2));
  upstream->add_raw(commit_with_seq(3, kDidA, 3));
  upstream->add_raw(commit_with_seq(3, kDidB, 4));  // duplicate seq
  upstream->add_raw(commit_with_seq(2, kDidC, 5));  // regression
  upstream->add_raw(commit_with_seq(10, kDidA, 10));
  upstream->add_raw(commit_with_seq(7, kDidB, 11));  // regression after a jump
  upstream->add_raw(commit_with_seq(11, kDidB, 12));
  ASSERT_TRUE(c.wait_events(5));
  ASSERT_TRUE(wait_until([&] { return relay->counters().received == 8; }));
  expect_stream(c.events(), upstream->frames(), {0, 1, 2, 5, 7}, 1);
  EXPECT_EQ(metric(metrics(), "relay_events_dropped_total", "reason=\"seq-not-newer\""), 3.0);
}

// A burst from one host (one write) is read and validated in runs of frames,
// and inside a run the per-host rules still apply frame by frame, in order:
// a repeat of a seq earlier in the same run is dropped, an invalid frame
// still moves the cursor (so a repeat of its seq is dropped too), and the
// valid frames pass in order. 45 frames: more than one run can hold.
TEST_P(RelayE2E, ABurstIsValidatedInRunsWithThePerHostRulesInOrder) {
  start_relay();
  Consumer& c = consumer(0);
  std::vector<std::vector<std::uint8_t>> burst;
  burst.push_back(commit_with_seq(1, kDidA, 1));
  burst.push_back(commit_with_seq(2, kDidA, 2));
  burst.push_back(commit_with_seq(2, kDidB, 3));  // repeat of a seq earlier in the run
  proto::CommitSpec bad;
  bad.seq = 3;
  bad.did = kDidB;
  bad.defect = proto::Defect::kDidMismatch;
  bad.ops.push_back(proto::OpSpec{});
  burst.push_back(proto::make_commit_frame(bad));  // invalid: moves the cursor to 3
  burst.push_back(commit_with_seq(3, kDidC, 4));            // repeat of the invalid frame's seq
  std::vector<std::size_t> valid = {0, 1};
  for (std::int64_t seq = 4; seq < 44; ++seq) {
    valid.push_back(burst.size());
    burst.push_back(commit_with_seq(seq, kDidA, seq + 10));
  }
  const auto frames_sent = burst.size();
  upstream->add_raw_batch(std::move(burst));
  ASSERT_TRUE(c.wait_events(valid.size())) << c.events().size();
  ASSERT_TRUE(wait_until([&] { return relay->counters().received == frames_sent; }));
  expect_stream(c.events(), upstream->frames(), valid, 1);
  auto m = metrics();
  EXPECT_EQ(metric(m, "relay_events_dropped_total", "reason=\"seq-not-newer\""), 2.0);
  EXPECT_EQ(metric(m, "relay_events_invalid_total", "reason=\"commit-did-mismatch\""), 1.0);
  // Read in a few reads, so validated in a few runs, not one per frame.
  auto runs = metric(m, "relay_upstream_runs_total", "");
  ASSERT_TRUE(runs.has_value());
  EXPECT_GE(*runs, 2.0) << "45 frames cannot fit one run";
  EXPECT_LE(*runs, 12.0) << "the burst was validated frame by frame";
  ASSERT_TRUE(wait_until([&] {
    return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] == 43;
  }));
}

// Account rules: a deactivated account's commits are dropped until it is
// reactivated; rev must increase per account. Status visible in
// getRepoStatus / getLatestCommit / listRepos.
TEST_P(RelayE2E, AccountStatusAndRevRules) {
  start_relay();
  Consumer& c = consumer(0);
  auto commit = [&](const std::string& did, std::string rev = {}) {
    proto::CommitSpec s;
    s.did = did;
    s.rev = std::move(rev);
    s.ops.push_back(proto::OpSpec{});
    return upstream->add_commit(s);
  };
  auto account = [&](const std::string& did, bool active, std::optional<std::string> status) {
    proto::AccountSpec s;
    s.did = did;
    s.active = active;
    s.status = std::move(status);
    return upstream->add_account(s);
  };
  const std::string repo_status = "/xrpc/com.atproto.sync.getRepoStatus?did=";
  commit(kDidA);                         // 1 pass
  account(kDidA, false, "deactivated");  // 2 pass
  ASSERT_TRUE(c.wait_events(2));
  auto st = get_json(repo_status + kDidA);
  EXPECT_EQ(st["active"], false);
  EXPECT_EQ(st["status"], "deactivated");
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getLatestCommit?did=" + kDidA, 400)["error"], "RepoDeactivated");
  commit(kDidA);                         // 3 dropped: account-inactive
  commit(kDidB);                         // 4 pass: another account
  account(kDidA, true, std::nullopt);    // 5 pass
  commit(kDidA);                         // 6 pass
  commit(kDidA, proto::default_rev(2));  // 7 dropped: rev older
  commit(kDidA, proto::default_rev(6));  // 8 dropped: same rev
  account(kDidB, false, "takendown");    // 9 pass
  commit(kDidB);                         // 10 dropped
  commit(kDidC);                         // 11 pass
  ASSERT_TRUE(c.wait_events(7));
  ASSERT_TRUE(wait_until([&] { return relay->counters().received == 11; }));
  expect_stream(c.events(), upstream->frames(), {0, 1, 3, 4, 5, 8, 10}, 1);
  auto m = metrics();
  EXPECT_EQ(metric(m, "relay_events_dropped_total", "reason=\"account-inactive\""), 2.0);
  EXPECT_EQ(metric(m, "relay_events_dropped_total", "reason=\"rev-not-newer\""), 2.0);
  st = get_json(repo_status + kDidA);
  EXPECT_EQ(st["active"], true);
  EXPECT_FALSE(st.contains("status"));
  EXPECT_EQ(st["rev"], proto::default_rev(6));
  st = get_json(repo_status + kDidB);
  EXPECT_EQ(st["active"], false);
  EXPECT_EQ(st["status"], "takendown");
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getLatestCommit?did=" + kDidB, 400)["error"], "RepoTakendown");
  auto latest = get_json("/xrpc/com.atproto.sync.getLatestCommit?did=" + kDidA);
  auto up = upstream->frames();
  EXPECT_EQ(latest["cid"], proto::check_frame(up[5]).commit->to_string());
  EXPECT_EQ(latest["rev"], proto::default_rev(6));
  EXPECT_EQ(get_json(repo_status + "did:plc:nobodynobodynobodynobody", 400)["error"], "RepoNotFound");
}

// The XRPC endpoints, /metrics, and the admin API (disabled without a token).
TEST_P(RelayE2E, XrpcEndpoints) {
  start_relay();
  Consumer& c = consumer(0);
  upstream->add_commits(2, kDidA);
  upstream->add_commits(1, kDidB);
  upstream->add_commits(1, kDidC);
  ASSERT_TRUE(c.wait_events(4));

  auto health = get_json("/xrpc/_health");
  EXPECT_TRUE(health.contains("version"));

  // requestCrawl adds hosts (nothing listens there: they just fail to dial).
  std::set<std::string> names = {upstream->hostname()};
  for (int i = 1; i <= 4; ++i) {
    std::string h = "127.0.0.1:" + std::to_string(i);
    auto r = http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl", json{{"hostname", h}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    names.insert(h);
  }
  EXPECT_EQ(http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl", "{}").status, 400);
  EXPECT_EQ(http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl", "not json").status, 400);
  EXPECT_EQ(http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl",
                      json{{"hostname", "ftp://pds.example.com"}}.dump())
                .status,
            400);

  // listHosts, two at a time.
  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto j = get_json("/xrpc/com.atproto.sync.listHosts?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_TRUE(j["hosts"].is_array());
    EXPECT_LE(j["hosts"].size(), 2u);
    for (auto& h : j["hosts"]) {
      listed.push_back(h["hostname"]);
      EXPECT_TRUE(h.contains("seq"));
      EXPECT_TRUE(h.contains("accountCount"));
      EXPECT_TRUE(h.contains("status"));
    }
    if (!j.contains("cursor")) break;
    cursor = j["cursor"];
  }
  EXPECT_EQ(listed, std::vector<std::string>(names.begin(), names.end()));
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.listHosts?limit=0", 400)["error"], "InvalidRequest");
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.listHosts?limit=x", 400)["error"], "InvalidRequest");

  auto hs = get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname());
  EXPECT_EQ(hs["hostname"], upstream->hostname());
  EXPECT_EQ(hs["status"], "active");
  EXPECT_EQ(hs["accountCount"], 3);
  EXPECT_TRUE(wait_until(
      [&] { return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] == 4; }));
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=nowhere.example.com", 400)["error"],
            "HostNotFound");
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getHostStatus", 400)["error"], "InvalidRequest");

  // listRepos, two at a time, in DID order.
  std::vector<std::string> repos;
  cursor.clear();
  for (int page = 0; page < 10; ++page) {
    auto j = get_json("/xrpc/com.atproto.sync.listRepos?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& r : j["repos"]) {
      repos.push_back(r["did"]);
      EXPECT_EQ(r["active"], true);
      EXPECT_TRUE(r["head"].is_string());
      EXPECT_TRUE(r["rev"].is_string());
    }
    if (!j.contains("cursor")) break;
    cursor = j["cursor"];
  }
  EXPECT_EQ(repos, (std::vector<std::string>{kDidA, kDidB, kDidC}));

  auto rs = get_json("/xrpc/com.atproto.sync.getRepoStatus?did=" + kDidA);
  EXPECT_EQ(rs["did"], kDidA);
  EXPECT_EQ(rs["active"], true);
  EXPECT_EQ(rs["rev"], proto::default_rev(2));
  auto lc = get_json("/xrpc/com.atproto.sync.getLatestCommit?did=" + kDidB);
  EXPECT_EQ(lc["rev"], proto::default_rev(3));
  EXPECT_EQ(lc["cid"], proto::check_frame(upstream->frames()[2]).commit->to_string());
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getLatestCommit", 400)["error"], "InvalidRequest");

  // /metrics on both ports.
  for (std::uint16_t port : {relay->metrics_port(), relay->port()}) {
    auto r = http_get(*io, port, "/metrics");
    ASSERT_EQ(r.status, 200);
    const auto& m = r.body;
    EXPECT_EQ(metric(m, "relay_events_received_total"), 4.0);
    EXPECT_EQ(metric(m, "relay_events_accepted_total"), 4.0);
    EXPECT_EQ(metric(m, "relay_log_seq"), 4.0);
    EXPECT_EQ(metric(m, "relay_consumers"), 1.0);
    EXPECT_EQ(metric(m, "relay_accounts"), 3.0);
    EXPECT_EQ(metric(m, "relay_host_events_received_total", "host=\"" + upstream->hostname() + "\""), 4.0);
    EXPECT_EQ(metric(m, "relay_upstream_connected"), 1.0);
    EXPECT_EQ(metric(m, "relay_hosts", "status=\"active\"").value_or(0) +
                  metric(m, "relay_hosts", "status=\"offline\"").value_or(0),
              5.0);
    EXPECT_NE(m.find("relay_reactor{kind=\""), std::string::npos);
    EXPECT_NE(m.find("relay_consumer_lag{consumer=\""), std::string::npos);
    EXPECT_TRUE(metric(m, "relay_threads").value_or(0) > 0);
    EXPECT_TRUE(metric(m, "relay_fibers").value_or(0) > 0);
    EXPECT_TRUE(metric(m, "relay_bridge_queue_depth").has_value());
  }

  // Admin: no token configured → disabled.
  auto r = http_post(*io, relay->port(), "/admin/hosts/ban", json{{"hostname", upstream->hostname()}}.dump(),
                     {{"Authorization", "Bearer anything"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(http_get(*io, relay->port(), "/admin/hosts").status, 403);
}

// The admin API with a token: 401 without it; ban stops the subscription
// (events meanwhile are not relayed, requestCrawl is refused), unban resumes
// from the cursor; limits are set and listed.
TEST_P(RelayE2E, AdminBanUnbanAndLimits) {
  auto o = options();
  o.admin_token = "s3cret";
  start_relay(o);
  Consumer& c = consumer(0);
  upstream->add_commits(3, kDidA);
  ASSERT_TRUE(c.wait_events(3));
  const net::Headers auth = {{"Authorization", "Bearer s3cret"}};
  const std::string body = json{{"hostname", upstream->hostname()}}.dump();
  EXPECT_EQ(http_post(*io, relay->port(), "/admin/hosts/ban", body).status, 401);
  EXPECT_EQ(http_post(*io, relay->port(), "/admin/hosts/ban", body, {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(http_get(*io, relay->port(), "/admin/hosts").status, 401);
  EXPECT_EQ(
      http_post(*io, relay->port(), "/admin/hosts/ban", json{{"hostname", "nope.example.com"}}.dump(), auth).status,
      400);

  ASSERT_TRUE(wait_until(
      [&] { return get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["seq"] == 3; }));
  auto r = http_post(*io, relay->port(), "/admin/hosts/ban", body, auth);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "banned");
  const std::string status = "/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname();
  EXPECT_EQ(get_json(status)["status"], "banned");
  ASSERT_TRUE(wait_until([&] { return upstream->open_connections() == 0; })) << "a banned host is disconnected";
  upstream->add_commits(4, kDidB);
  EXPECT_EQ(http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl", body).status, 400);
  auto listed = get_json("/xrpc/com.atproto.sync.listHosts");
  ASSERT_EQ(listed["hosts"].size(), 1u);
  EXPECT_EQ(listed["hosts"][0]["status"], "banned");
  EXPECT_EQ(relay->counters().log_seq, 3);

  r = http_post(*io, relay->port(), "/admin/hosts/unban", body, auth);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "active");
  ASSERT_TRUE(c.wait_events(7));
  expect_stream(c.events(), upstream->frames(), iota(0, 7), 1);
  auto cursors = upstream->cursors_requested();
  ASSERT_GE(cursors.size(), 2u);
  EXPECT_EQ(cursors.back(), std::optional<std::int64_t>(3));

  r = http_post(*io, relay->port(), "/admin/hosts/limits",
                json{{"hostname", upstream->hostname()}, {"per_second", 7}, {"per_hour", 100}}.dump(), auth);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(http_post(*io, relay->port(), "/admin/hosts/limits",
                      json{{"hostname", upstream->hostname()}, {"per_second", -1}}.dump(), auth)
                .status,
            400);
  auto list = http_get(*io, relay->port(), "/admin/hosts", auth);
  ASSERT_EQ(list.status, 200) << list.body;
  auto hosts = list.json()["hosts"];
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0]["limits"]["per_second"], 7);
  EXPECT_EQ(hosts[0]["limits"]["per_hour"], 100);
  EXPECT_EQ(hosts[0]["limits"]["per_day"], 0);
  EXPECT_EQ(hosts[0]["accepted"], 7);
}

// stop() persists cursors and accounts; a relay restarted on the same data
// directory resumes the host from its cursor, keeps the relay seq going, keeps
// account state, and replays the whole log.
TEST_P(RelayE2E, CleanStopPersistsStateAndRestartResumes) {
  start_relay();
  upstream->add_commits(10, kDidA);
  proto::AccountSpec deact;
  deact.did = kDidB;
  deact.active = false;
  deact.status = "suspended";
  upstream->add_account(deact);  // 11
  ASSERT_TRUE(wait_log_seq(11));
  stop_relay();
  ASSERT_TRUE(wait_until([&] { return upstream->open_connections() == 0; }));
  {
    // stop() saved the state itself (the start-up replay of the log would
    // otherwise hide a missing flush): cursor, accounts, and the seq they
    // are complete through.
    const auto data = fs::path(options().data_dir);
    auto db = store::StateDb::open(store::StateDb::default_path(data));
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    auto host = db->get_host(upstream->hostname());
    ASSERT_TRUE(host.ok() && host->has_value());
    EXPECT_EQ((*host)->cursor, 11);
    auto b = db->get_account(kDidB);
    ASSERT_TRUE(b.ok() && b->has_value());
    EXPECT_EQ((*b)->status, store::AccountStatus::suspended);
    auto a = db->get_account(kDidA);
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ((*a)->rev, proto::default_rev(10));
    std::ifstream marker(data / "state-seq");
    std::int64_t flushed = 0;
    EXPECT_TRUE(marker >> flushed);
    EXPECT_EQ(flushed, 11);
  }

  upstream->add_commits(5, kDidA);  // 12..16, while the relay is down
  proto::CommitSpec b;
  b.did = kDidB;
  upstream->add_commit(b);  // 17: dropped, kDidB is suspended
  start_relay();
  ASSERT_TRUE(upstream->wait_for_connections(2, kWait));
  EXPECT_EQ(upstream->cursors_requested().back(), std::optional<std::int64_t>(11));
  ASSERT_TRUE(wait_until([&] { return relay->counters().received == 6; }));
  ASSERT_TRUE(wait_log_seq(16));
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getRepoStatus?did=" + kDidB)["status"], "suspended");
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getRepoStatus?did=" + kDidA)["rev"], proto::default_rev(16));
  EXPECT_EQ(get_json("/xrpc/com.atproto.sync.getHostStatus?hostname=" + upstream->hostname())["accountCount"], 2);
  Consumer& all = consumer(0);
  ASSERT_TRUE(all.wait_events(16));
  expect_stream(all.events(), upstream->frames(), iota(0, 16), 1);
  EXPECT_EQ(relay->counters().log_seq, 16);
  EXPECT_EQ(metric(metrics(), "relay_events_dropped_total", "reason=\"account-inactive\""), 1.0);
}

// --bootstrap: a second relay takes its hosts from the first one's listHosts
// (banned ones left out) and relays the same upstream; --hosts-file adds more.
TEST_P(RelayE2E, BootstrapFromAnotherRelayAndHostsFile) {
  auto o = options();
  o.admin_token = "t";
  start_relay(o);
  for (const char* h : {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) {
    auto r = http_post(*io, relay->port(), "/xrpc/com.atproto.sync.requestCrawl", json{{"hostname", h}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_EQ(http_post(*io, relay->port(), "/admin/hosts/ban", json{{"hostname", "127.0.0.1:2"}}.dump(),
                      {{"Authorization", "Bearer t"}})
                .status,
            200);
  const auto hosts_file = dir.path() / "hosts.txt";
  {
    std::ofstream f(hosts_file);
    f << "# more hosts\n  ws://127.0.0.1:4/  \n\n127.0.0.1:5 # trailing comment\n";
  }
  auto b = options();
  b.hosts.clear();
  b.bootstrap = {"http://127.0.0.1:" + std::to_string(relay->port())};
  b.hosts_file = hosts_file.string();
  b.data_dir = (dir.path() / "second").string();
  std::string error;
  auto second = Relay::create(b, error);
  ASSERT_TRUE(second) << error;
  ASSERT_TRUE(second->start(error)) << error;
  std::vector<std::string> names;
  auto listed = http_get(*io, second->port(), "/xrpc/com.atproto.sync.listHosts").json();
  for (auto& h : listed["hosts"]) names.push_back(h["hostname"]);
  std::vector<std::string> want = {"127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5", upstream->hostname()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  upstream->add_commits(5, kDidA);
  Consumer c(*io, second->port(), 0);
  ASSERT_TRUE(c.wait_events(5));
  expect_stream(c.events(), upstream->frames(), iota(0, 5), 1);
  second->stop();
}

// stop() with consumers connected (live, replaying, not reading): it returns
// promptly, every consumer's connection ends, and nothing of a consumer
// handler (its reader task) outlives the connection (ASan builds check that).
TEST_P(RelayE2E, StopWithConsumersConnected) {
  auto o = options();
  o.consumer_buffer = 4;
  start_relay(o);
  upstream->add_commits(1500, kDidA);
  ASSERT_TRUE(wait_log_seq(1500));
  Consumer& live = consumer();
  Consumer& replaying = consumer(0);
  Consumer& stalled = consumer(0, /*read=*/false);
  ASSERT_TRUE(replaying.wait_events(10));
  const auto t0 = std::chrono::steady_clock::now();
  relay->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  stalled.start_reading();
  for (Consumer* c : {&live, &replaying, &stalled}) EXPECT_TRUE(c->wait_closed());
  relay.reset();
}

// A wss:// upstream with a private CA (--tls-ca-file): every event reaches a
// consumer in order; a dropped TLS connection is resumed from the cursor;
// after a restart the host (known to the database by name only) is dialled
// over TLS again.
TEST_P(RelayE2E, WssUpstreamWithAPrivateCa) {
  const net::testing::TestPki pki;
  net::testing::TlsTerminator tls(*io, pki.leaf(), upstream->port());
  RelayOptions o = options();
  o.hosts = {"wss://127.0.0.1:" + std::to_string(tls.port())};
  o.tls_ca_file = pki.ca_file();
  start_relay(o);
  ASSERT_TRUE(wait_host_connected());
  Consumer& c = consumer();
  ASSERT_TRUE(wait_consumers(1));
  upstream->add_commits(100, kDidA);
  ASSERT_TRUE(c.wait_events(100)) << c.events().size();
  upstream->drop_connections();
  ASSERT_TRUE(wait_until([&] { return tls.handshakes() >= 2 && relay->counters().hosts_connected == 1; }));
  upstream->add_commits(50, kDidB);
  ASSERT_TRUE(c.wait_events(150)) << c.events().size();
  expect_stream(c.events(), upstream->frames(), iota(0, 150), 1);
  auto hosts = get_json("/xrpc/com.atproto.sync.listHosts");
  ASSERT_EQ(hosts["hosts"].size(), 1u) << hosts.dump();
  EXPECT_EQ(hosts["hosts"][0]["hostname"], "127.0.0.1:" + std::to_string(tls.port()));

  consumers.clear();
  stop_relay();
  const int before = tls.handshakes();
  start_relay(o);
  ASSERT_TRUE(wait_host_connected());
  EXPECT_GT(tls.handshakes(), before);
  upstream->add_commits(10, kDidA);
  Consumer& replay = consumer(0);
  ASSERT_TRUE(replay.wait_events(160)) << replay.events().size();
  expect_stream(replay.events(), upstream->frames(), iota(0, 160), 1);
  EXPECT_EQ(relay->counters().invalid, 0u);
  consumers.clear();
  stop_relay();
}

INSTANTIATE_TEST_SUITE_P(Backends, RelayE2E,
                         ::testing::Values(BackendParam{io::Backend::evented, "evented"},
                                           BackendParam{io::Backend::threaded, "threaded"}),
                         [](const ::testing::TestParamInfo<BackendParam>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace faultline::relay::testing
