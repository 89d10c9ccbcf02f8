// The fleet read directly by a consumer (no relay): valid frames, cursor
// replay, FutureCursor / OutdatedCursor, each misbehaviour, listHosts
// pagination. Emission is driven by Fleet::emit (deterministic); waits are
// bounded and only ever wait *for* something, never assert a duration.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "relay/net/http_client.h"
#include "relay/proto/frame.h"
#include "repro/wssplit/handshake_reader.h"
#include "stress/event_id.h"
#include "stress/fleet.h"
#include "stress/ws_client.h"

namespace faultline::stress {
namespace {

namespace net = relay::net;
namespace proto = relay::proto;
using namespace std::chrono_literals;

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io::Options o;
    o.backend = io::Backend::evented;
    o.scheduler_threads = 2;
    io_ = io::Io::create(o);
  }
  void start(FleetOptions fo = {}) {
    fo.hosts = fo.hosts == 2800 ? 3 : fo.hosts;
    fo.rate = fo.rate == 2000 ? 30 : fo.rate;
    fleet_ = std::make_unique<Fleet>(*io_, fo);
    auto r = fleet_->start();
    ASSERT_TRUE(r) << r.message();
  }
  void TearDown() override {
    if (fleet_) fleet_->stop();
  }
  std::string ep(std::uint32_t host) { return "127.0.0.1:" + std::to_string(fleet_->host_port(host)); }
  static std::string target(std::optional<std::int64_t> cursor) {
    return "/xrpc/com.atproto.sync.subscribeRepos" + (cursor ? "?cursor=" + std::to_string(*cursor) : std::string());
  }
  // Reads `n` binary messages (bounded wait per message).
  std::vector<std::string> read_n(WsClient& c, std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
      auto m = c.recv(10s);
      if (!m || m.value.opcode != net::Opcode::binary) break;
      out.push_back(std::move(m.value.payload));
    }
    return out;
  }
  static proto::FrameCheck check(const std::string& payload) {
    return proto::check_frame(std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  }
  nlohmann::json host_stats(std::uint32_t i) { return fleet_->stats(true)["hosts"][i]; }

  std::unique_ptr<io::Io> io_;
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(FleetTest, RatesAreZipfSkewedAndSumToTheTotal) {
  FleetOptions fo;
  fo.hosts = 100;
  fo.rate = 1000;
  start(fo);
  double sum = 0;
  for (std::uint32_t i = 0; i < 100; ++i) {
    sum += fleet_->host_rate(i);
    if (i > 0) {
      EXPECT_LT(fleet_->host_rate(i), fleet_->host_rate(i - 1));
    }
  }
  EXPECT_NEAR(sum, 1000, 1e-6);
  EXPECT_GT(fleet_->host_rate(0), 40 * fleet_->host_rate(99));
  fleet_->set_rate(500);
  EXPECT_NEAR(fleet_->rate(), 500, 1e-9);
  EXPECT_NEAR(fleet_->host_rate(0) * 2, 1000 * fleet_->host_rate(0) / 500, 1e-9);
}

TEST_F(FleetTest, ServesValidFramesLiveAndFromTheStart) {
  start();
  fleet_->emit(1, 20);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(1), target(0));
    ASSERT_TRUE(c) << c.message();
    auto msgs = read_n(c.value, 20);
    ASSERT_EQ(msgs.size(), 20u);
    std::int64_t last_time = 0;
    std::set<std::string> kinds;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      auto fc = check(msgs[i]);
      ASSERT_TRUE(fc.ok) << fc.reason << ": " << fc.detail;
      EXPECT_EQ(fc.seq, static_cast<std::int64_t>(i + 1));
      EXPECT_EQ(host_of_did(fc.did).value_or(99), 1u);
      auto t = parse_time_us(fc.time);
      ASSERT_TRUE(t) << fc.time;
      EXPECT_GT(*t, last_time);
      last_time = *t;
      kinds.insert(proto::kind_name(fc.kind));
    }
    EXPECT_TRUE(kinds.count("#commit"));
    // Live: the next events arrive on the open stream.
    fleet_->emit(1, 3);
    auto live = read_n(c.value, 3);
    ASSERT_EQ(live.size(), 3u);
    EXPECT_EQ(check(live[0]).seq, 21);
    EXPECT_EQ(check(live[2]).seq, 23);
  });
  auto h = host_stats(1);
  EXPECT_EQ(h["emitted"], 23);
  EXPECT_EQ(h["expected"], 23);
  EXPECT_EQ(h["connections"], 1);
}

TEST_F(FleetTest, NoCursorMeansLive) {
  start();
  fleet_->emit(0, 5);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(std::nullopt));
    ASSERT_TRUE(c) << c.message();
    // Wait until the fleet has registered the connection, then emit.
    for (int i = 0; i < 500 && !host_stats(0)["connected"].get<bool>(); ++i) io_->sleep_for(10ms);
    fleet_->emit(0, 1);
    auto m = read_n(c.value, 1);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(check(m[0]).seq, 6);
  });
}

TEST_F(FleetTest, ReplaysFromACursor) {
  start();
  fleet_->emit(2, 10);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(2), target(4));
    ASSERT_TRUE(c) << c.message();
    auto m = read_n(c.value, 6);
    ASSERT_EQ(m.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(check(m[i]).seq, 5 + i);
  });
  // Replayed frames are the same bytes as the first time.
  std::string first, again;
  io_->block_on([&] {
    auto a = WsClient::connect(*io_, ep(2), target(6));
    auto b = WsClient::connect(*io_, ep(2), target(6));
    ASSERT_TRUE(a && b);
    auto ma = read_n(a.value, 1);
    ASSERT_EQ(ma.size(), 1u);
    first = ma[0];
    auto mb = read_n(b.value, 1);
    ASSERT_EQ(mb.size(), 1u);
    again = mb[0];
  });
  EXPECT_EQ(first, again);
}

TEST_F(FleetTest, FutureCursorIsAnErrorFrameThenClose) {
  start();
  fleet_->emit(0, 3);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(100));
    ASSERT_TRUE(c) << c.message();
    auto m = read_n(c.value, 1);
    ASSERT_EQ(m.size(), 1u);
    auto f = scan_frame(std::span(reinterpret_cast<const std::uint8_t*>(m[0].data()), m[0].size()));
    EXPECT_EQ(f.op, -1);
    EXPECT_EQ(f.name, "FutureCursor");
    auto next = c.value.recv(10s);
    EXPECT_TRUE(!next || next.value.opcode == net::Opcode::close);
  });
  EXPECT_EQ(host_stats(0)["future_cursors"], 1);
}

TEST_F(FleetTest, OutdatedCursorSaysSoAndCountsTheLoss) {
  FleetOptions fo;
  fo.ring_min = 4;
  fo.ring_max = 4;
  fo.ring_seconds = 0;
  start(fo);
  fleet_->emit(0, 10);  // the ring keeps 7..10
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(2));
    ASSERT_TRUE(c) << c.message();
    auto m = read_n(c.value, 5);
    ASSERT_EQ(m.size(), 5u);
    auto info = scan_frame(std::span(reinterpret_cast<const std::uint8_t*>(m[0].data()), m[0].size()));
    EXPECT_EQ(info.type, "#info");
    EXPECT_EQ(info.name, "OutdatedCursor");
    for (int i = 1; i < 5; ++i) EXPECT_EQ(check(m[i]).seq, 6 + i);
  });
  auto h = host_stats(0);
  EXPECT_EQ(h["lost"], 4);  // seqs 3..6
  EXPECT_EQ(h["expected"], 6);
  EXPECT_EQ(h["outdated_cursors"], 1);
}

TEST_F(FleetTest, DropClosesAndAReconnectWithACursorLosesNothing) {
  start();
  fleet_->emit(0, 5);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(0));
    ASSERT_TRUE(c);
    ASSERT_EQ(read_n(c.value, 5).size(), 5u);
    fleet_->apply({0}, Command{Command::Action::drop});
    fleet_->emit(0, 5);  // emitted while the connection goes away
    // The stream ends (maybe after some of the new events).
    std::int64_t last = 5;
    bool ended = false;
    for (int i = 0; i < 20; ++i) {
      auto m = c.value.recv(10s);
      if (!m || m.value.opcode == net::Opcode::close) {
        ended = true;
        break;
      }
      last = check(m.value.payload).seq;
    }
    ASSERT_TRUE(ended);
    auto again = WsClient::connect(*io_, ep(0), target(last));
    ASSERT_TRUE(again) << again.message();
    auto rest = read_n(again.value, static_cast<std::size_t>(10 - last));
    ASSERT_EQ(rest.size(), static_cast<std::size_t>(10 - last));
    for (std::size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(check(rest[i]).seq, last + 1 + static_cast<std::int64_t>(i));
  });
  EXPECT_GE(host_stats(0)["drops"].get<int>(), 1);
}

TEST_F(FleetTest, ALiveResubscribeCountsTheSkippedEventsAsLost) {
  start();
  io_->block_on([&] {
    {
      auto c = WsClient::connect(*io_, ep(0), target(std::nullopt));
      ASSERT_TRUE(c);
      for (int i = 0; i < 500 && !host_stats(0)["connected"].get<bool>(); ++i) io_->sleep_for(10ms);
      fleet_->apply({0}, Command{Command::Action::drop});
      auto end = c.value.recv(10s);
      EXPECT_TRUE(!end || end.value.opcode == net::Opcode::close);
    }
    for (int i = 0; i < 500 && host_stats(0)["connected"].get<bool>(); ++i) io_->sleep_for(10ms);
    fleet_->emit(0, 3);  // nobody carries these
    auto again = WsClient::connect(*io_, ep(0), target(std::nullopt));  // live again: 1..3 are skipped
    ASSERT_TRUE(again);
    for (int i = 0; i < 500 && !host_stats(0)["connected"].get<bool>(); ++i) io_->sleep_for(10ms);
    fleet_->emit(0, 1);
    auto m = read_n(again.value, 1);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(check(m[0]).seq, 4);
  });
  auto h = host_stats(0);
  EXPECT_EQ(h["lost"], 3);
  EXPECT_EQ(h["live_skips"], 1);
  EXPECT_EQ(h["expected"], 1);
}

TEST_F(FleetTest, StallHoldsEventsBackUntilCleared) {
  start();
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(0));
    ASSERT_TRUE(c);
    Command stall{Command::Action::stall};
    stall.seconds = 3600;
    fleet_->apply({0}, stall);
    fleet_->emit(0, 4);
    auto none = c.value.recv(300ms);
    EXPECT_FALSE(none);  // stalled: nothing arrives
    EXPECT_EQ(none.error, ETIMEDOUT);
    EXPECT_EQ(host_stats(0)["frames_sent"], 0);
    fleet_->apply({0}, Command{Command::Action::clear});
    auto m = read_n(c.value, 4);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(check(m[0]).seq, 1);
    EXPECT_EQ(check(m[3]).seq, 4);
  });
}

TEST_F(FleetTest, SplitHandshakeArrivesInPiecesAndStaysValid) {
  start();
  Command split{Command::Action::split};
  split.pieces = 4;
  split.pause_ms = 40;
  split.crlf_bias = 1.0;  // every cut between '\r' and '\n'
  fleet_->apply({1}, split);
  io_->block_on([&] {
    auto s = io_->connect(*io::Endpoint::parse(ep(1)), 5s);
    ASSERT_TRUE(s);
    wssplit::ClientRequest req;
    req.host = ep(1);
    req.path = target(std::nullopt);
    req.key = wssplit::generate_key();
    ASSERT_TRUE(io_->send_all(s.value, wssplit::write_request(req)));
    wssplit::HandshakeReader reader(req);
    std::vector<std::byte> buf(4096);
    int reads = 0;
    bool mid_crlf = false;
    std::string got;
    while (reader.status() == wssplit::HandshakeReader::Status::need_more && reads < 100) {
      auto r = io_->recv(s.value, buf, 10s);
      ASSERT_TRUE(r && r.value > 0);
      ++reads;
      got.append(reinterpret_cast<const char*>(buf.data()), r.value);
      if (got.back() == '\r') mid_crlf = true;
      reader.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), r.value));
    }
    EXPECT_EQ(reader.status(), wssplit::HandshakeReader::Status::done) << reader.error();
    EXPECT_GE(reads, 2);
    EXPECT_TRUE(mid_crlf);  // a read ended between '\r' and '\n'
    // The relay's fixed reader path (WsClient uses the same reader) copes.
    auto c = WsClient::connect(*io_, ep(1), target(0));
    EXPECT_TRUE(c) << c.message();
  });
  EXPECT_EQ(host_stats(1)["split_handshakes"], 2);
}

TEST_F(FleetTest, InvalidFramesCarryTheRequestedDefect) {
  start();
  Command inv{Command::Action::invalid};
  inv.count = 2;
  inv.defect = proto::Defect::kBadDid;
  fleet_->apply({2}, inv);
  fleet_->emit(2, 3);
  Command rnd{Command::Action::invalid};
  rnd.count = 30;
  fleet_->apply({2}, rnd);
  fleet_->emit(2, 30);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(2), target(0));
    ASSERT_TRUE(c);
    auto m = read_n(c.value, 33);
    ASSERT_EQ(m.size(), 33u);
    EXPECT_EQ(check(m[0]).reason, "bad-did");
    EXPECT_EQ(check(m[1]).reason, "bad-did");
    EXPECT_TRUE(check(m[2]).ok);
    for (int i = 3; i < 33; ++i) EXPECT_FALSE(check(m[i]).ok) << i;
  });
  auto h = host_stats(2);
  EXPECT_EQ(h["invalid"], 32);
  EXPECT_EQ(h["valid"], 1);
  EXPECT_EQ(h["expected"], 1);
  EXPECT_EQ(h["invalid_by_defect"]["bad-did"].get<int>() >= 2, true);
}

TEST_F(FleetTest, ResetSeqStartsAgainAtOne) {
  start();
  fleet_->emit(0, 3);
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(0));
    ASSERT_TRUE(c);
    ASSERT_EQ(read_n(c.value, 3).size(), 3u);
    fleet_->apply({0}, Command{Command::Action::reset_seq});
    fleet_->emit(0, 4);
    auto m = read_n(c.value, 4);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(check(m[0]).seq, 1);
    EXPECT_EQ(check(m[3]).seq, 4);
    EXPECT_TRUE(check(m[0]).ok);
  });
  auto h = host_stats(0);
  EXPECT_EQ(h["reset"], true);
  EXPECT_EQ(h["regressed"], 3);  // seq 1..3 again: a relay drops them
  EXPECT_EQ(h["expected"], 4);   // 3 before + 1 (seq 4) after
}

TEST_F(FleetTest, ScheduledEmissionRunsAndPauses) {
  FleetOptions fo;
  fo.hosts = 3;
  fo.rate = 300;
  start(fo);
  EXPECT_EQ(fleet_->totals().emitted, 0u);  // starts paused
  io_->block_on([&] {
    auto c = WsClient::connect(*io_, ep(0), target(0));
    ASSERT_TRUE(c);
    fleet_->set_emitting(true);
    auto m = read_n(c.value, 20);
    ASSERT_EQ(m.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(check(m[i]).seq, i + 1);
    fleet_->set_emitting(false);
  });
  auto t1 = fleet_->totals().emitted;
  EXPECT_GE(t1, 20u);
  EXPECT_EQ(fleet_->totals().emitted, t1);  // paused: nothing more is generated
}

TEST_F(FleetTest, ListHostsPaginatesAndControlParses) {
  start();
  io_->block_on([&] {
    std::set<std::string> names;
    std::string cursor;
    int pages = 0;
    for (; pages < 10; ++pages) {
      net::Url u{"http", "127.0.0.1", fleet_->control_port(),
                 "/xrpc/com.atproto.sync.listHosts?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor)};
      auto r = net::http_get(*io_, u, 5s);
      ASSERT_TRUE(r) << r.message();
      ASSERT_EQ(r.value.status, 200);
      auto j = nlohmann::json::parse(r.value.body);
      for (const auto& h : j["hosts"]) {
        names.insert(h["hostname"].get<std::string>());
        EXPECT_EQ(h["status"], "active");
      }
      if (!j.contains("cursor")) break;
      cursor = j["cursor"].get<std::string>();
    }
    EXPECT_EQ(pages, 1);  // 2 pages: 0 and 1
    EXPECT_EQ(names, (std::set<std::string>{ep(0), ep(1), ep(2)}));
    auto bad = net::http_get(*io_, net::Url{"http", "127.0.0.1", fleet_->control_port(),
                                            "/xrpc/com.atproto.sync.listHosts?limit=0"}, 5s);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad.value.status, 400);
    auto cmd = net::http_get(*io_, net::Url{"http", "127.0.0.1", fleet_->control_port(),
                                            "/control?action=stall&hosts=0-1&seconds=0"}, 5s);
    ASSERT_TRUE(cmd);
    EXPECT_EQ(cmd.value.status, 200) << cmd.value.body;
    auto wrong = net::http_get(*io_, net::Url{"http", "127.0.0.1", fleet_->control_port(),
                                              "/control?action=explode"}, 5s);
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong.value.status, 400);
  });
}

TEST(HostSet, ParsesEveryForm) {
  std::string err;
  EXPECT_EQ(parse_host_set("all", 4, err)->size(), 4u);
  EXPECT_EQ(*parse_host_set("1-2,0", 4, err), (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(*parse_host_set("hot:2", 10, err), (std::vector<std::uint32_t>{0, 1}));
  auto r = parse_host_set("random:5:3", 100, err);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, *parse_host_set("random:5:3", 100, err));  // deterministic
  EXPECT_FALSE(parse_host_set("7", 4, err));
  EXPECT_NE(err.find("0..3"), std::string::npos);
  EXPECT_FALSE(parse_host_set("3-1", 4, err));
  EXPECT_FALSE(parse_host_set("hot:x", 4, err));
  EXPECT_TRUE(defect_from_name("bad-did"));
  EXPECT_FALSE(defect_from_name("none"));
  auto c = parse_command("split", {{"pieces", "5"}, {"crlf", "0.25"}}, err);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pieces, 5);
  EXPECT_DOUBLE_EQ(c->crlf_bias, 0.25);
  EXPECT_FALSE(parse_command("split", {{"pieces", "99"}}, err));
  EXPECT_FALSE(parse_command("invalid", {{"defect", "nonsense"}}, err));
}

}  // namespace
}  // namespace faultline::stress
