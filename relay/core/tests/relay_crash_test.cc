// The real `faultline relay` binary as a child process, killed with SIGKILL at
// a few seeded moments while a fake upstream streams and a consumer reads,
// then restarted on the same data directory. After each restart:
//   - every event the consumer received before the kill is still in the log
//     with the same seq and a byte-identical frame (re-read with cursor 0);
//   - the log's seqs are 1..N with no gap: the relay resumed after the last
//     whole event, renumbering nothing;
//   - the consumer, resuming from its last seq, gets the rest exactly once.
// At the end every upstream event has reached the consumer exactly once, in
// upstream order. The relay alternates between the evented and the threaded
// backend from one restart to the next. One of the kills comes after a
// periodic state flush (so
// start-up replays the log from the flushed seq), the others before any.
// And SIGTERM → exit status 0 with cursors and accounts flushed to the state
// database.
//
// The seed is FAULTLINE_CRASH_SEED (default fixed); it is printed. Every wait
// is bounded; the whole test stays under ~20 s.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "relay/core/tests/e2e_support.h"
#include "relay/core/tests/fake_upstream.h"
#include "relay/proto/frame.h"
#include "relay/store/state_db.h"

namespace faultline::relay::testing {
namespace {

std::string faultline_bin() {
  if (const char* e = std::getenv("FAULTLINE_BIN"); e && *e) return e;
  return FAULTLINE_BIN;
}

// `faultline relay ...` with stderr on a pipe that a thread drains.
class RelayProcess {
 public:
  RelayProcess(const std::string& data_dir, const std::string& upstream_url, const char* backend = "evented") {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> args = {faultline_bin(),  "relay", "--host",     upstream_url, "--port",       "0",
                                     "--metrics-port", "0",     "--data-dir", data_dir,     "--rate-limit", "0",
                                     "--threads",      "2",     "--workers",  "2",          "--backend",    backend,
                                     "--quiet"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(fds[1], 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    err_fd_ = fds[0];
    drain_ = std::thread([this] {
      char buf[4096];
      for (;;) {
        auto n = ::read(err_fd_, buf, sizeof buf);
        if (n <= 0) break;
        std::lock_guard g(mu_);
        stderr_.append(buf, static_cast<std::size_t>(n));
        cv_.notify_all();
      }
      std::lock_guard g(mu_);
      eof_ = true;
      cv_.notify_all();
    });
  }
  ~RelayProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      wait_exit(kWait);
    }
    if (drain_.joinable()) drain_.join();
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  // The firehose port from the start-up line; 0 if it did not come.
  std::uint16_t wait_port(std::chrono::milliseconds timeout = kWait) {
    static const std::regex re("firehose ws://127\\.0\\.0\\.1:([0-9]+)/");
    std::unique_lock g(mu_);
    std::smatch m;
    cv_.wait_for(g, timeout, [&] { return eof_ || std::regex_search(stderr_, m, re); });
    if (!std::regex_search(stderr_, m, re)) return 0;
    return static_cast<std::uint16_t>(std::stoi(m[1].str()));
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The wait status, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return status;
      }
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string output() {
    std::lock_guard g(mu_);
    return stderr_;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int err_fd_ = -1;
  std::thread drain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string stderr_;
  bool eof_ = false;
};

const std::vector<std::string> kDids = {"did:plc:crashaaaaaaaaaaaaaaaaaaa", "did:plc:crashbbbbbbbbbbbbbbbbbbb",
                                        "did:plc:crashccccccccccccccccccc"};

// Upstream frames by (did, rev) → index, to map relayed events back.
std::map<std::pair<std::string, std::string>, std::size_t> upstream_index(
    const std::vector<std::vector<std::uint8_t>>& frames) {
  std::map<std::pair<std::string, std::string>, std::size_t> out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto c = proto::check_frame(frames[i]);
    out[{c.did, c.rev}] = i;
  }
  return out;
}

class RelayCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(faultline_bin().c_str(), X_OK) != 0) GTEST_SKIP() << "no faultline binary at " << faultline_bin();
    io::Options o;
    o.backend = io::Backend::evented;
    o.scheduler_threads = 1;
    o.bridge_workers = 1;
    io = io::Io::create(o);
    upstream = std::make_unique<FakeUpstream>(*io);
    ASSERT_NE(upstream->port(), 0);
  }
  void TearDown() override {
    upstream.reset();
    io.reset();
  }

  TempDir dir{"relay-crash"};
  std::unique_ptr<io::Io> io;
  std::unique_ptr<FakeUpstream> upstream;
};

TEST_F(RelayCrash, Sigkill_LosesNothingRenumbersNothingDuplicatesNothing) {
  std::uint64_t seed = 0x5eed;
  if (const char* s = std::getenv("FAULTLINE_CRASH_SEED")) seed = std::strtoull(s, nullptr, 0);
  std::printf("FAULTLINE_CRASH_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const std::string data = (dir.path() / "data").string();

  const int kills = 3;
  const std::size_t produced = 3000;  // by the producer thread, in round 0
  const std::size_t extra = 300;      // at the start of every later round
  const std::size_t total = produced + kills * extra;
  std::atomic<bool> stop_producer{false};
  std::thread producer([&] {
    std::size_t made = 0;
    for (std::size_t i = 0; made < produced && !stop_producer.load(); ++i) {
      upstream->add_commits(10, kDids[i % kDids.size()]);
      made += 10;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing, not synchronisation
    }
  });
  struct StopProducer {
    std::atomic<bool>& flag;
    std::thread& t;
    ~StopProducer() {
      flag = true;
      if (t.joinable()) t.join();
    }
  } stop_guard{stop_producer, producer};

  std::map<std::int64_t, std::vector<std::uint8_t>> seen;  // what the consumer got, across restarts
  std::int64_t last = 0;
  for (int round = 0; round <= kills; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Both backends, one after the other on the same data directory.
    auto relay = std::make_unique<RelayProcess>(data, upstream->url(), round % 2 ? "threaded" : "evented");
    const std::uint16_t port = relay->wait_port();
    ASSERT_NE(port, 0) << relay->output();

    if (round > 0) {
      // 1. Everything received before the kill is still there, same seq,
      //    same bytes, and the log is gap-free.
      Consumer verify(*io, port, 0);
      ASSERT_TRUE(verify.connected()) << verify.connect_error();
      ASSERT_TRUE(verify.wait_seq(last)) << "log ends at " << verify.last_seq() << ", consumer had " << last;
      auto events = verify.events();
      std::map<std::int64_t, const Received*> by_seq;
      for (std::size_t i = 0; i < events.size(); ++i) {
        ASSERT_EQ(events[i].seq(), static_cast<std::int64_t>(i + 1)) << "gap or renumbering in the log";
        by_seq[events[i].seq()] = &events[i];
      }
      for (auto& [seq, bytes] : seen) {
        auto it = by_seq.find(seq);
        ASSERT_NE(it, by_seq.end()) << "seq " << seq << " lost";
        ASSERT_EQ(it->second->bytes, bytes) << "seq " << seq << " changed";
      }
    }

    // 2. The consumer resumes from its last seq (round 0: from the start).
    Consumer c(*io, port, last);
    ASSERT_TRUE(c.connected()) << c.connect_error();
    if (round == 1) {
      // This time the relay lives until its periodic state flush (every 5 s)
      // has saved cursors, accounts and the seq they are complete through;
      // then more events, then the kill: recovery starts from that seq.
      const auto marker = dir.path() / "data" / "state-seq";
      ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(marker); }, std::chrono::milliseconds(9000)))
          << "no periodic state flush";
    }
    // The producer is done after round 0: fresh events for every later round.
    if (round > 0) upstream->add_commits(extra, kDids[static_cast<std::size_t>(round) % kDids.size()]);
    if (round < kills) {
      std::uniform_int_distribution<std::int64_t> more(40, 400);
      const std::int64_t made = upstream->next_seq() - 1;
      const std::int64_t target = std::min(last + more(rng), made);
      ASSERT_TRUE(c.wait_seq(target, std::chrono::milliseconds(8000))) << c.last_seq() << relay->output();
      std::uniform_int_distribution<int> jitter(0, 15);
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));  // a seeded moment, not a wait
      relay->signal(SIGKILL);
      int status = relay->wait_exit(kWait);
      ASSERT_NE(status, -1);
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
      ASSERT_TRUE(c.wait_closed());
    } else {
      producer.join();
      // Everything the upstream made arrives.
      const auto frames = upstream->frames();
      ASSERT_EQ(frames.size(), total);
      ASSERT_TRUE(c.wait(
          [&](const std::vector<Received>& f) {
            std::size_t n = 0;
            for (auto& r : f) n += r.is_event();
            return n + seen.size() >= total;
          },
          std::chrono::milliseconds(8000)))
          << c.events().size() + seen.size();
      relay->signal(SIGTERM);
      int status = relay->wait_exit(kWait);
      ASSERT_NE(status, -1);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << relay->output();
    }
    std::int64_t expect = last + 1;
    for (auto& e : c.events()) {
      ASSERT_EQ(e.seq(), expect) << "after cursor " << last;
      ++expect;
      seen[e.seq()] = e.bytes;
    }
    if (!seen.empty()) last = seen.rbegin()->first;
  }

  // Every upstream event exactly once, in upstream order.
  const auto frames = upstream->frames();
  const auto index = upstream_index(frames);
  std::vector<std::size_t> order;
  for (auto& [seq, bytes] : seen) {
    auto c = proto::check_frame(bytes);
    auto it = index.find({c.did, c.rev});
    ASSERT_NE(it, index.end()) << "relay seq " << seq << " is no upstream event";
    order.push_back(it->second);
  }
  ASSERT_EQ(order.size(), total) << "duplicates or losses";
  for (std::size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], i) << "relay seq " << i + 1;

  // SIGTERM flushed the cursor: the host resumes after its last event.
  auto db = store::StateDb::open(store::StateDb::default_path(data));
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto host = db->get_host(upstream->hostname());
  ASSERT_TRUE(host.ok());
  ASSERT_TRUE(host->has_value());
  EXPECT_EQ((*host)->cursor, static_cast<std::int64_t>(total));
}

// SIGTERM: exit status 0, cursors and accounts flushed (the periodic flush is
// every 5 s; the test is over before that).
TEST_F(RelayCrash, SigtermExitsZeroWithCursorsFlushed) {
  const std::string data = (dir.path() / "data").string();
  upstream->add_commits(40, kDids[0]);
  upstream->add_commits(2, kDids[1]);
  std::unique_ptr<RelayProcess> relay = std::make_unique<RelayProcess>(data, upstream->url());
  const std::uint16_t port = relay->wait_port();
  ASSERT_NE(port, 0) << relay->output();
  {
    Consumer c(*io, port, 0);
    ASSERT_TRUE(c.wait_events(42)) << c.events().size();
  }
  relay->signal(SIGTERM);
  int status = relay->wait_exit(kWait);
  ASSERT_NE(status, -1) << "no exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << relay->output();
  relay.reset();
  auto db = store::StateDb::open(store::StateDb::default_path(data));
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto host = db->get_host(upstream->hostname());
  ASSERT_TRUE(host.ok());
  ASSERT_TRUE(host->has_value());
  EXPECT_EQ((*host)->cursor, 42);
  auto a = db->get_account(kDids[1]);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->rev, proto::default_rev(42));
  auto counts = db->count_accounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 2);
}

}  // namespace
}  // namespace faultline::relay::testing
