#include "stress/fleet.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "relay/net/http_head.h"
#include "relay/net/http_response.h"
#include "relay/net/http_server.h"
#include "relay/net/url.h"
#include "relay/net/websocket.h"
#include "relay/net/websocket_conn.h"
#include "relay/proto/frame.h"
#include "relay/proto/tid.h"
#include "repro/wssplit/handshake_reader.h"
#include "stress/event_id.h"

namespace faultline::stress {

namespace net = relay::net;
namespace proto = relay::proto;
using nlohmann::json;

namespace {

constexpr std::string_view kSubscribePath = "/xrpc/com.atproto.sync.subscribeRepos";
constexpr std::int64_t kIdleWakeUs = 1'000'000;  // a writer looks at its host at least once a second
constexpr std::int64_t kControlPollUs = 50'000;  // a writer reads the relay's control frames at most this often
constexpr std::size_t kMaxCatchUp = 1'000'000;   // events one catch-up may generate (bounds the loop)

std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Defects a random `invalid` command picks from: everything the builder
// makes except the two that cost megabytes per frame (name them explicitly).
const std::vector<proto::Defect>& random_defects() {
  static const std::vector<proto::Defect> d = [] {
    std::vector<proto::Defect> v;
    for (int i = 1; i < proto::kDefectCount; ++i) {
      auto x = static_cast<proto::Defect>(i);
      if (x != proto::Defect::kTooLarge && x != proto::Defect::kBlocksTooLarge) v.push_back(x);
    }
    return v;
  }();
  return d;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  std::string t(s);
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

std::string ws_binary(std::span<const std::uint8_t> payload) {
  std::string out;
  net::append_frame_header(out, net::Opcode::binary, payload.size());
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  return out;
}

// splitmix64 as a UniformRandomBitGenerator: 8 bytes of state per host
// (std::mt19937_64 would be 2.5 KB × 2,800 hosts).
struct SplitMix64 {
  using result_type = std::uint64_t;
  std::uint64_t state = 0;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  void seed(std::uint64_t s) { state = s; }
  result_type operator()() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

}  // namespace

// ---- host sets and commands ----

std::optional<std::vector<std::uint32_t>> parse_host_set(std::string_view spec, std::uint32_t hosts,
                                                         std::string& error) {
  std::vector<bool> pick(hosts, false);
  std::size_t pos = 0;
  if (spec.empty()) spec = "all";
  while (pos <= spec.size()) {
    std::size_t comma = spec.find(',', pos);
    std::string_view item = spec.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? spec.size() + 1 : comma + 1;
    std::uint64_t a = 0, b = 0;
    if (item == "all") {
      std::fill(pick.begin(), pick.end(), true);
    } else if (item.rfind("hot:", 0) == 0) {
      if (!parse_u64(item.substr(4), a)) {
        error = "bad host set item '" + std::string(item) + "'";
        return std::nullopt;
      }
      for (std::uint64_t i = 0; i < std::min<std::uint64_t>(a, hosts); ++i) pick[i] = true;
    } else if (item.rfind("random:", 0) == 0) {
      std::string_view rest = item.substr(7);
      std::uint64_t seed = 1;
      if (auto c = rest.find(':'); c != std::string_view::npos) {
        if (!parse_u64(rest.substr(c + 1), seed)) {
          error = "bad seed in '" + std::string(item) + "'";
          return std::nullopt;
        }
        rest = rest.substr(0, c);
      }
      if (!parse_u64(rest, a)) {
        error = "bad host set item '" + std::string(item) + "'";
        return std::nullopt;
      }
      std::vector<std::uint32_t> all(hosts);
      for (std::uint32_t i = 0; i < hosts; ++i) all[i] = i;
      std::mt19937_64 rng(seed);
      std::shuffle(all.begin(), all.end(), rng);
      for (std::uint64_t i = 0; i < std::min<std::uint64_t>(a, hosts); ++i) pick[all[i]] = true;
    } else if (auto dash = item.find('-'); dash != std::string_view::npos) {
      if (!parse_u64(item.substr(0, dash), a) || !parse_u64(item.substr(dash + 1), b) || a > b || b >= hosts) {
        error = "bad host range '" + std::string(item) + "' (hosts are 0.." + std::to_string(hosts - 1) + ")";
        return std::nullopt;
      }
      for (std::uint64_t i = a; i <= b; ++i) pick[i] = true;
    } else {
      if (!parse_u64(item, a) || a >= hosts) {
        error = "bad host '" + std::string(item) + "' (hosts are 0.." + std::to_string(hosts - 1) + ")";
        return std::nullopt;
      }
      pick[a] = true;
    }
  }
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < hosts; ++i)
    if (pick[i]) out.push_back(i);
  return out;
}

std::optional<proto::Defect> defect_from_name(std::string_view name) {
  for (int i = 1; i < proto::kDefectCount; ++i) {
    auto d = static_cast<proto::Defect>(i);
    if (name == proto::defect_name(d)) return d;
  }
  return std::nullopt;
}

std::optional<Command> parse_command(std::string_view action, const std::vector<std::pair<std::string, std::string>>& params,
                                     std::string& error) {
  Command c;
  auto param = [&](std::string_view k) -> std::optional<std::string_view> {
    for (const auto& [n, v] : params)
      if (n == k) return std::string_view(v);
    return std::nullopt;
  };
  auto num = [&](std::string_view k, double& out, double lo, double hi) {
    auto v = param(k);
    if (!v) return true;
    if (!parse_double(*v, out) || out < lo || out > hi) {
      error = "bad " + std::string(k) + " '" + std::string(*v) + "'";
      return false;
    }
    return true;
  };
  if (action == "drop") {
    c.action = Command::Action::drop;
    if (!num("every_s", c.every_s, 0, 86400)) return std::nullopt;
  } else if (action == "stall") {
    c.action = Command::Action::stall;
    c.seconds = 5;
    if (!num("seconds", c.seconds, 0, 86400)) return std::nullopt;
  } else if (action == "split") {
    c.action = Command::Action::split;
    double pieces = c.pieces, pause = c.pause_ms, on = 1;
    if (!num("pieces", pieces, 2, 16) || !num("pause_ms", pause, 0, 5000) || !num("crlf", c.crlf_bias, 0, 1) ||
        !num("on", on, 0, 1))
      return std::nullopt;
    c.pieces = static_cast<int>(pieces);
    c.pause_ms = static_cast<int>(pause);
    c.on = on != 0;
  } else if (action == "invalid") {
    c.action = Command::Action::invalid;
    double count = 1;
    if (!num("count", count, 1, 1e9)) return std::nullopt;
    c.count = static_cast<std::uint32_t>(count);
    if (auto d = param("defect"); d && *d != "random") {
      c.defect = defect_from_name(*d);
      if (!c.defect) {
        error = "unknown defect '" + std::string(*d) + "'";
        return std::nullopt;
      }
    }
  } else if (action == "reset-seq") {
    c.action = Command::Action::reset_seq;
  } else if (action == "clear") {
    c.action = Command::Action::clear;
  } else {
    error = "unknown action '" + std::string(action) + "'";
    return std::nullopt;
  }
  return c;
}

// ---- the host ----

struct Fleet::Spec {
  std::int64_t seq = 0;
  std::int64_t time_us = 0;
  std::uint32_t account = 0;
  std::uint8_t kind = 0;  // 0 commit, 1 identity, 2 account
  std::uint8_t defect = 0;
};

struct Fleet::Host {
  std::uint32_t index = 0;
  std::uint16_t port = 0;
  io::Socket listener;
  double base_rate = 0;
  std::uint32_t accounts = 1;
  std::size_t ring_cap = 1024;

  std::mutex mu;
  SplitMix64 rng;
  std::deque<Spec> ring;
  std::vector<bool> validity;  // per seq of the current numbering (index seq - 1)
  std::int64_t next_seq = 1;
  std::int64_t last_time_us = 0;
  std::int64_t max_seq_prev = 0;  // highest seq before the last reset
  std::uint64_t numbering = 0;    // bumped by reset-seq
  double next_due_us = 0;         // scheduled time of the next event
  double rate = 0;                // current events/s
  // counters
  std::uint64_t emitted = 0, valid = 0, invalid = 0, lost = 0, regressed = 0;
  std::uint64_t frames_sent = 0, bytes_sent = 0, connections = 0, outdated = 0, future = 0, splits = 0, drops = 0;
  std::uint64_t live_skips = 0;  // reconnects without a cursor that skipped unsent events
  std::array<std::uint64_t, proto::kDefectCount> invalid_by_defect{};
  // misbehaviour
  std::int64_t stall_until_us = 0;  // steady clock µs
  bool split = false;
  int split_pieces = 3, split_pause_ms = 5;
  double split_crlf = 0.5;
  std::uint32_t invalid_pending = 0;
  std::optional<proto::Defect> invalid_defect;
  double drop_every_s = 0;
  std::int64_t next_drop_us = 0;  // steady clock µs
  bool reset = false;
  // the current connection
  std::uint64_t conn_gen = 0;
  int conn_fd = -1;
  std::int64_t sent_upto = 0;  // highest seq a connection wrote (or the relay's cursor said it had)
};

Fleet::Fleet(io::Io& io, FleetOptions options) : io_(io), opt_(std::move(options)) {
  const std::uint32_t n = std::clamp<std::uint32_t>(opt_.hosts, 1, kMaxHosts);
  std::vector<double> w(n);
  double total = 0;
  for (std::uint32_t i = 0; i < n; ++i) total += w[i] = 1.0 / std::pow(static_cast<double>(i) + 1.0, opt_.zipf_s);
  rate_scale_ = 1.0;
  hosts_.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto h = std::make_unique<Host>();
    h->index = i;
    h->base_rate = opt_.rate * w[i] / total;
    h->rate = h->base_rate;
    h->accounts = std::clamp<std::uint32_t>(
        static_cast<std::uint32_t>(std::lround(opt_.accounts * w[i] / total)), 1, kMaxAccounts);
    h->ring_cap = std::clamp<std::size_t>(static_cast<std::size_t>(h->base_rate * opt_.ring_seconds), opt_.ring_min,
                                          std::max(opt_.ring_min, opt_.ring_max));
    h->rng.seed(opt_.seed * 1'000'003ull + i);
    hosts_.push_back(std::move(h));
  }
  emit_until_us_ = opt_.start_paused ? -1 : std::numeric_limits<std::int64_t>::max();
  emit_from_us_ = opt_.start_paused ? std::numeric_limits<std::int64_t>::max() : now_unix_us();
}

Fleet::~Fleet() { stop(); }

std::uint16_t Fleet::host_port(std::uint32_t i) const { return i < hosts_.size() ? hosts_[i]->port : 0; }
double Fleet::host_rate(std::uint32_t i) const {
  return i < hosts_.size() ? hosts_[i]->base_rate * rate_scale_.load() : 0;
}

relay::net::Result<std::uint16_t> Fleet::start() {
  if (started_.exchange(true)) return net::failure<std::uint16_t>(EINVAL, "start() once");
  for (auto& h : hosts_) {
    auto l = io_.listen(io::Endpoint::loopback_v4(0), 128);
    if (!l)
      return net::failure<std::uint16_t>(
          l.error, "listening for host " + std::to_string(h->index) + " (raise the open-file limit: ulimit -n)");
    h->listener = std::move(l.value);
    h->port = h->listener.local_endpoint().port();
  }
  if (!opt_.start_paused) {
    const std::int64_t now = now_unix_us();
    for (auto& h : hosts_) {
      std::lock_guard lk(h->mu);
      std::exponential_distribution<double> e(std::max(h->rate, 1e-9));
      h->next_due_us = static_cast<double>(now) + e(h->rng) * 1e6;
    }
  }
  control_ = std::make_unique<net::HttpServer>(io_);
  route_control();
  auto p = control_->listen(io::Endpoint::loopback_v4(opt_.control_port));
  if (!p) return net::failure<std::uint16_t>(p.error, "control port: " + p.message());
  control_port_ = p.value;
  std::lock_guard lk(tasks_mu_);
  for (auto& h : hosts_) {
    Host* hp = h.get();
    acceptors_.push_back(io_.spawn([this, hp] { accept_loop(*hp); }, "fleet.accept"));
  }
  return net::success(control_port_);
}

void Fleet::stop() {
  if (stopping_.exchange(true)) return;
  if (control_) control_->stop();
  std::vector<io::TaskHandle> acc;
  {
    std::lock_guard lk(tasks_mu_);
    acc = acceptors_;
  }
  for (auto& a : acc) a.cancel();
  for (auto& a : acc) {
    try {
      a.join();
    } catch (...) {
    }
  }
  for (auto& h : hosts_) {
    std::lock_guard lk(h->mu);
    if (h->conn_fd >= 0) ::shutdown(h->conn_fd, SHUT_RDWR);
  }
  for (int round = 0; round < 1000; ++round) {
    std::vector<io::TaskHandle> live;
    {
      std::lock_guard lk(tasks_mu_);
      for (auto& [id, t] : conns_)
        if (t.valid()) live.push_back(t);
      if (conns_.empty()) break;
    }
    for (auto& t : live) t.cancel();
    for (auto& t : live) {
      try {
        t.join();
      } catch (...) {
      }
    }
    if (live.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& h : hosts_)
    if (h->listener.valid()) io_.close(h->listener);
}

// ---- emission ----

void Fleet::generate(Host& h, std::int64_t time_us) {
  Spec s;
  s.time_us = std::max(time_us, h.last_time_us + 1);
  h.last_time_us = s.time_us;
  s.seq = h.next_seq++;
  s.account = static_cast<std::uint32_t>(h.rng() % h.accounts);
  const double u = std::uniform_real_distribution<double>(0, 1)(h.rng);
  s.kind = u < opt_.identity_share ? 1 : u < opt_.identity_share + opt_.account_share ? 2 : 0;
  if (h.invalid_pending > 0) {
    --h.invalid_pending;
    const auto& pool = random_defects();
    auto d = h.invalid_defect ? *h.invalid_defect : pool[h.rng() % pool.size()];
    s.defect = static_cast<std::uint8_t>(d);
    s.kind = 0;  // every defect applies to #commit
  }
  ++h.emitted;
  if (s.defect == 0) {
    ++h.valid;
    if (s.seq <= h.max_seq_prev) ++h.regressed;
  } else {
    ++h.invalid;
    ++h.invalid_by_defect[s.defect];
  }
  h.validity.push_back(s.defect == 0);
  h.ring.push_back(s);
  while (h.ring.size() > h.ring_cap) h.ring.pop_front();
}

void Fleet::catch_up(Host& h, std::int64_t now_us) {
  const std::int64_t until = std::min(now_us, emit_until_us_.load());
  if (until < emit_from_us_.load()) return;
  std::exponential_distribution<double> e(std::max(h.rate, 1e-9));
  for (std::size_t n = 0; n < kMaxCatchUp && h.next_due_us <= static_cast<double>(until); ++n) {
    generate(h, static_cast<std::int64_t>(h.next_due_us));
    h.next_due_us += e(h.rng) * 1e6;
  }
}

void Fleet::set_emitting(bool on, double delay_s) {
  std::int64_t now = now_unix_us();
  if (on) {
    if (emitting()) return;
    now += static_cast<std::int64_t>(std::clamp(delay_s, 0.0, 60.0) * 1e6);
    emit_from_us_ = now;
    emit_until_us_ = std::numeric_limits<std::int64_t>::max();
    for (auto& h : hosts_) {
      std::lock_guard lk(h->mu);
      std::exponential_distribution<double> e(std::max(h->rate, 1e-9));
      h->next_due_us = static_cast<double>(now) + e(h->rng) * 1e6;
    }
  } else {
    if (!emitting()) return;
    emit_until_us_ = now;
    for (auto& h : hosts_) {
      std::lock_guard lk(h->mu);
      catch_up(*h, now);
    }
  }
}

bool Fleet::emitting() const {
  return emit_until_us_.load() == std::numeric_limits<std::int64_t>::max() &&
         emit_from_us_.load() != std::numeric_limits<std::int64_t>::max();
}

void Fleet::set_rate(double total) {
  const double scale = opt_.rate > 0 ? std::max(total, 0.0) / opt_.rate : 0;
  const std::int64_t now = now_unix_us();
  rate_scale_ = scale;
  for (auto& h : hosts_) {
    std::lock_guard lk(h->mu);
    catch_up(*h, now);
    h->rate = h->base_rate * scale;
    std::exponential_distribution<double> e(std::max(h->rate, 1e-9));
    if (emitting()) h->next_due_us = static_cast<double>(std::max(now, emit_from_us_.load())) + e(h->rng) * 1e6;
  }
}

double Fleet::rate() const { return opt_.rate * rate_scale_.load(); }

void Fleet::emit(std::uint32_t i, std::size_t n) {
  if (i >= hosts_.size()) return;
  Host& h = *hosts_[i];
  std::lock_guard lk(h.mu);
  const std::int64_t now = now_unix_us();
  for (std::size_t k = 0; k < n && k < kMaxCatchUp; ++k) generate(h, now);
}

std::uint64_t Fleet::valid_between(Host& h, std::int64_t from_seq, std::int64_t to_seq) {
  std::uint64_t n = 0;
  from_seq = std::max<std::int64_t>(from_seq, 1);
  to_seq = std::min<std::int64_t>(to_seq, static_cast<std::int64_t>(h.validity.size()) + 1);
  for (std::int64_t s = from_seq; s < to_seq; ++s)
    if (h.validity[static_cast<std::size_t>(s - 1)]) ++n;
  return n;
}

std::vector<std::uint8_t> Fleet::build_frame(const Host& h, const Spec& s) const {
  const std::string did = make_did(h.index, s.account);
  const std::string time = format_time_us(s.time_us);
  const auto defect = static_cast<proto::Defect>(s.defect);
  switch (s.kind) {
    case 1: {
      proto::IdentitySpec i;
      i.seq = s.seq;
      i.did = did;
      i.handle = "a" + std::to_string(s.account) + ".h" + std::to_string(h.index) + ".test";
      i.time = time;
      i.defect = defect;
      return proto::make_identity_frame(i);
    }
    case 2: {
      proto::AccountSpec a;
      a.seq = s.seq;
      a.did = did;
      a.active = true;
      a.time = time;
      a.defect = defect;
      return proto::make_account_frame(a);
    }
    default: {
      proto::CommitSpec c;
      c.seq = s.seq;
      c.did = did;
      c.rev = proto::make_tid(static_cast<std::uint64_t>(s.time_us), h.index & 1023);
      c.time = time;
      proto::OpSpec op;
      op.rkey = c.rev;
      c.ops.push_back(std::move(op));
      c.defect = defect;
      return proto::make_commit_frame(c);
    }
  }
}

// ---- connections ----

void Fleet::accept_loop(Host& h) {
  while (!stopping_) {
    auto c = io_.accept(h.listener);
    if (!c) {
      if (stopping_) return;
      io_.sleep_for(std::chrono::milliseconds(c.error == EMFILE || c.error == ENFILE ? 100 : 10));
      continue;
    }
    auto sock = std::make_shared<io::Socket>(std::move(c.value));
    std::uint64_t id;
    {
      std::lock_guard lk(tasks_mu_);
      id = next_conn_id_++;
      conns_.emplace_back(id, io::TaskHandle());
    }
    auto t = io_.spawn(
        [this, &h, sock, id] {
          struct Forget {
            Fleet* f;
            std::uint64_t id;
            ~Forget() {
              std::lock_guard lk(f->tasks_mu_);
              auto& v = f->conns_;
              v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& p) { return p.first == id; }), v.end());
            }
          } forget{this, id};
          try {
            serve(h, std::move(*sock));
          } catch (const io::Cancelled&) {
            throw;
          } catch (const std::exception& e) {
            std::fprintf(stderr, "fleet: host %u: connection ended by an exception: %s\n", h.index, e.what());
          }
        },
        "fleet.conn");
    std::lock_guard lk(tasks_mu_);
    for (auto& [cid, handle] : conns_)
      if (cid == id) handle = std::move(t);
  }
}

void Fleet::serve(Host& h, io::Socket sock) {
  live_conns_.fetch_add(1);
  struct Dec {
    std::atomic<std::size_t>& c;
    ~Dec() { c.fetch_sub(1); }
  } dec{live_conns_};
  // ---- the upgrade request ----
  net::RequestHeadReader reader;
  std::vector<std::byte> buf(4096);
  const auto head_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reader.status() == net::HeadStatus::need_more) {
    auto left = head_deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return;
    auto r = io_.recv(sock, buf, std::chrono::duration_cast<io::Duration>(left));
    if (!r || r.value == 0) return;
    reader.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), r.value));
  }
  if (reader.status() == net::HeadStatus::error) {
    io_.send_all(sock, net::write_response(reader.error_status(), "application/json",
                                           net::xrpc_error_body("InvalidRequest", reader.error()), {{"Connection", "close"}}),
                 std::chrono::seconds(5));
    return;
  }
  const net::RequestHead head = reader.take_head();
  std::string leftover = reader.take_leftover();
  if (head.path() != kSubscribePath) {
    io_.send_all(sock, net::write_response(404, "application/json", net::xrpc_error_body("NotFound", "no such method"),
                                           {{"Connection", "close"}}),
                 std::chrono::seconds(5));
    return;
  }
  std::string why;
  if (int status = net::check_upgrade_request(head, why)) {
    io_.send_all(sock, net::write_response(status, "application/json", net::xrpc_error_body("InvalidRequest", why),
                                           {{"Connection", "close"}}),
                 std::chrono::seconds(5));
    return;
  }
  std::optional<std::int64_t> cursor;
  if (auto c = net::query_param(head.target, "cursor")) {
    std::uint64_t v;
    if (!parse_u64(*c, v) || v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      io_.send_all(sock, net::write_response(400, "application/json",
                                             net::xrpc_error_body("InvalidRequest", "cursor must be an integer"),
                                             {{"Connection", "close"}}),
                   std::chrono::seconds(5));
      return;
    }
    cursor = static_cast<std::int64_t>(v);
  }
  // ---- the 101, whole or in pieces ----
  const std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
      wssplit::compute_accept(*head.header("Sec-WebSocket-Key")) + "\r\n\r\n";
  bool split;
  int pieces, pause_ms;
  double crlf;
  std::vector<std::size_t> cuts;
  {
    std::lock_guard lk(h.mu);
    split = h.split;
    pieces = h.split_pieces;
    pause_ms = h.split_pause_ms;
    crlf = h.split_crlf;
    if (split) {
      ++h.splits;
      std::vector<std::size_t> mid_crlf;  // cut positions between '\r' and '\n'
      for (std::size_t i = 1; i + 1 < resp.size(); ++i)
        if (resp[i - 1] == '\r' && resp[i] == '\n') mid_crlf.push_back(i);
      std::uniform_real_distribution<double> u(0, 1);
      for (int k = 0; k < pieces - 1; ++k) {
        std::size_t at = u(h.rng) < crlf ? mid_crlf[h.rng() % mid_crlf.size()] : 1 + h.rng() % (resp.size() - 1);
        cuts.push_back(at);
      }
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    }
  }
  if (!split) {
    if (!io_.send_all(sock, resp, std::chrono::seconds(10))) return;
  } else {
    std::size_t from = 0;
    cuts.push_back(resp.size());
    for (std::size_t at : cuts) {
      if (at <= from) continue;
      if (!io_.send_all(sock, std::string_view(resp).substr(from, at - from), std::chrono::seconds(10))) return;
      from = at;
      if (from < resp.size()) io_.sleep_for(std::chrono::milliseconds(pause_ms));
    }
  }
  // ---- register as the host's connection, find where to start ----
  std::uint64_t gen;
  std::int64_t pos;
  std::uint64_t numbering;
  std::string first_frames;
  bool future = false;
  {
    std::lock_guard lk(h.mu);
    catch_up(h, now_unix_us());
    numbering = h.numbering;
    const std::int64_t current = h.next_seq - 1;
    const std::int64_t first = h.ring.empty() ? h.next_seq : h.ring.front().seq;
    if (!cursor) {
      pos = h.next_seq;
      // Live from now: events emitted since the last write that no connection
      // carried are skipped by the subscriber's choice (a relay with no durable
      // cursor for the host resubscribes without one) — never deliverable.
      if (h.next_seq - 1 > h.sent_upto && h.connections > 0) {
        ++h.live_skips;
        h.lost += valid_between(h, h.sent_upto + 1, h.next_seq);
      }
    } else if (*cursor > current) {
      future = true;
      ++h.future;
      pos = h.next_seq;
    } else if (*cursor + 1 < first) {
      ++h.outdated;
      h.lost += valid_between(h, *cursor + 1, first);
      pos = first;
      first_frames = ws_binary(proto::encode_info_frame(proto::kInfoOutdatedCursor,
                                                        "cursor is older than the host's replay ring"));
    } else {
      pos = *cursor + 1;
    }
    ++h.connections;
    gen = 0;  // not registered (the guard below then never matches a live connection)
    if (!future) {  // a FutureCursor request does not displace the host's live connection
      gen = ++h.conn_gen;
      if (h.conn_fd >= 0) ::shutdown(h.conn_fd, SHUT_RDWR);  // a newer connection replaces the older one
      h.conn_fd = sock.fd();
      h.sent_upto = pos - 1;
      if (h.drop_every_s > 0) h.next_drop_us = mono_us() + static_cast<std::int64_t>(h.drop_every_s * 1e6);
    }
  }
  // Whatever way this task ends (cancellation included), the host must not
  // keep our descriptor: it is closed when `sock` goes.
  struct Unregister {
    Host& h;
    std::uint64_t gen;
    ~Unregister() {
      std::lock_guard lk(h.mu);
      if (h.conn_gen == gen) h.conn_fd = -1;
    }
  } unregister_guard{h, gen};
  if (future) {
    std::string out = ws_binary(proto::encode_error_frame(proto::kErrorFutureCursor, "cursor is ahead of the host"));
    net::append_frame(out, net::Opcode::close, net::close_payload(net::close_code::normal, {}));
    io_.send_all(sock, out, std::chrono::seconds(5));
    io_.shutdown(sock, SHUT_RDWR);
    return;
  }

  // ---- the writer loop ----
  net::FrameParser incoming(net::Role::server);
  incoming.feed(leftover);
  std::vector<Spec> batch;
  std::string out = std::move(first_frames);
  char rbuf[2048];
  bool done = false;
  std::int64_t last_poll_us = 0;
  while (!done && !stopping_) {
    std::int64_t sleep_us = 0;
    batch.clear();
    {
      std::lock_guard lk(h.mu);
      if (h.conn_gen != gen) break;  // replaced
      const std::int64_t mnow = mono_us();
      if (h.drop_every_s > 0 && h.next_drop_us > 0 && mnow >= h.next_drop_us) {
        ++h.drops;
        h.next_drop_us = 0;
        break;  // a scheduled drop: close without a close frame
      }
      const std::int64_t now = now_unix_us();
      catch_up(h, now);
      if (h.numbering != numbering) {  // seq reset: continue with the new numbering
        numbering = h.numbering;
        pos = h.ring.empty() ? h.next_seq : h.ring.front().seq;
        h.sent_upto = pos - 1;
      }
      if (mnow < h.stall_until_us) {
        sleep_us = std::min<std::int64_t>(h.stall_until_us - mnow, kIdleWakeUs);
      } else {
        if (!h.ring.empty() && pos < h.ring.front().seq) {  // overran while we could not write
          h.lost += valid_between(h, pos, h.ring.front().seq);
          pos = h.ring.front().seq;
        }
        if (!h.ring.empty() && pos <= h.ring.back().seq) {
          std::size_t i = static_cast<std::size_t>(pos - h.ring.front().seq);
          for (; i < h.ring.size() && batch.size() < opt_.batch_frames; ++i) batch.push_back(h.ring[i]);
        }
        if (batch.empty()) {
          const double due = emitting() ? h.next_due_us - static_cast<double>(now) : 1e18;
          sleep_us = std::clamp<std::int64_t>(static_cast<std::int64_t>(due), opt_.min_tick.count(), kIdleWakeUs);
          if (h.drop_every_s > 0 && h.next_drop_us > 0)
            sleep_us = std::clamp<std::int64_t>(h.next_drop_us - mnow, opt_.min_tick.count(), sleep_us);
        }
      }
    }
    if (!batch.empty()) {
      std::size_t frames = 0;
      for (const auto& s : batch) {
        auto f = build_frame(h, s);
        net::append_frame_header(out, net::Opcode::binary, f.size());
        out.append(reinterpret_cast<const char*>(f.data()), f.size());
        ++frames;
      }
      pos = batch.back().seq + 1;
      auto w = io_.send_all(sock, out, std::chrono::seconds(30));
      if (!w) break;
      {
        std::lock_guard lk(h.mu);
        h.frames_sent += frames;
        h.bytes_sent += out.size();
        if (h.conn_gen == gen && h.numbering == numbering) h.sent_upto = std::max(h.sent_upto, pos - 1);
      }
      out.clear();
    } else if (!out.empty()) {
      if (!io_.send_all(sock, out, std::chrono::seconds(30))) break;
      out.clear();
    }
    // Control frames from the relay (a close; the relay does not ping its
    // upstreams): never blocks, and at most every kControlPollUs. Polling
    // after every batch cost a recv syscall per batch — for hot hosts one per
    // millisecond, for quiet ones two per event — on the cores the relay
    // under test shares; a close answered up to 50 ms late changes nothing.
    const std::int64_t poll_now = mono_us();
    const bool poll = poll_now - last_poll_us >= kControlPollUs;
    if (poll) last_poll_us = poll_now;
    for (int k = 0; poll && k < 16; ++k) {
      ssize_t n = ::recv(sock.fd(), rbuf, sizeof rbuf, MSG_DONTWAIT);
      if (n == 0) {
        done = true;
        break;
      }
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) done = true;
        break;
      }
      incoming.feed(std::string_view(rbuf, static_cast<std::size_t>(n)));
    }
    for (int k = 0; k < 64 && !done; ++k) {
      net::Message m;
      auto st = incoming.next(m);
      if (st == net::FrameParser::Status::need_more) break;
      if (st == net::FrameParser::Status::error) {
        done = true;
        break;
      }
      if (m.opcode == net::Opcode::ping) {
        std::string pong;
        net::append_frame(pong, net::Opcode::pong, m.payload);
        io_.send_all(sock, pong, std::chrono::seconds(5));
      } else if (m.opcode == net::Opcode::close) {
        std::string c;
        net::append_frame(c, net::Opcode::close, m.payload.size() >= 2 ? m.payload.substr(0, 2) : std::string());
        io_.send_all(sock, c, std::chrono::seconds(5));
        done = true;
      }
    }
    if (!done && batch.empty() && sleep_us > 0) io_.sleep_for(std::chrono::microseconds(sleep_us));
  }
  io_.shutdown(sock, SHUT_RDWR);
}

// ---- commands and statistics ----

void Fleet::apply(const std::vector<std::uint32_t>& which, const Command& c) {
  const std::int64_t mnow = mono_us();
  for (std::uint32_t i : which) {
    if (i >= hosts_.size()) continue;
    Host& h = *hosts_[i];
    std::lock_guard lk(h.mu);
    switch (c.action) {
      case Command::Action::drop:
        h.drop_every_s = c.every_s;
        h.next_drop_us = c.every_s > 0 ? mnow + static_cast<std::int64_t>(c.every_s * 1e6) : 0;
        if (h.conn_fd >= 0) {
          ::shutdown(h.conn_fd, SHUT_RDWR);
          ++h.drops;
        }
        break;
      case Command::Action::stall:
        h.stall_until_us = mnow + static_cast<std::int64_t>(c.seconds * 1e6);
        break;
      case Command::Action::split:
        h.split = c.on;
        h.split_pieces = std::clamp(c.pieces, 2, 16);
        h.split_pause_ms = std::max(0, c.pause_ms);
        h.split_crlf = std::clamp(c.crlf_bias, 0.0, 1.0);
        break;
      case Command::Action::invalid:
        h.invalid_pending += c.count;
        h.invalid_defect = c.defect;
        break;
      case Command::Action::reset_seq:
        catch_up(h, now_unix_us());
        h.max_seq_prev = std::max(h.max_seq_prev, h.next_seq - 1);
        h.next_seq = 1;
        h.ring.clear();
        h.validity.clear();
        h.sent_upto = 0;
        ++h.numbering;
        h.reset = true;
        break;
      case Command::Action::clear:
        h.drop_every_s = 0;
        h.next_drop_us = 0;
        h.stall_until_us = 0;
        h.split = false;
        h.invalid_pending = 0;
        h.invalid_defect.reset();
        break;
    }
  }
}

json Fleet::host_json(Host& h) {
  std::lock_guard lk(h.mu);
  catch_up(h, now_unix_us());
  json by_defect = json::object();
  for (int d = 1; d < proto::kDefectCount; ++d)
    if (h.invalid_by_defect[d]) by_defect[proto::defect_name(static_cast<proto::Defect>(d))] = h.invalid_by_defect[d];
  const std::uint64_t expected = h.valid - std::min(h.valid, h.lost + h.regressed);
  return {{"i", h.index},
          {"port", h.port},
          {"rate", h.rate},
          {"accounts", h.accounts},
          {"seq", h.next_seq - 1},
          {"emitted", h.emitted},
          {"valid", h.valid},
          {"invalid", h.invalid},
          {"invalid_by_defect", by_defect},
          {"lost", h.lost},
          {"regressed", h.regressed},
          {"expected", expected},
          {"frames_sent", h.frames_sent},
          {"bytes_sent", h.bytes_sent},
          {"connections", h.connections},
          {"connected", h.conn_fd >= 0},
          {"sent_upto", h.sent_upto},
          {"outdated_cursors", h.outdated},
          {"live_skips", h.live_skips},
          {"future_cursors", h.future},
          {"split_handshakes", h.splits},
          {"drops", h.drops},
          {"reset", h.reset}};
}

FleetTotals Fleet::totals() {
  FleetTotals t;
  const std::int64_t now = now_unix_us();
  for (auto& hp : hosts_) {
    Host& h = *hp;
    std::lock_guard lk(h.mu);
    catch_up(h, now);
    t.emitted += h.emitted;
    t.valid += h.valid;
    t.invalid += h.invalid;
    t.lost += h.lost;
    t.regressed += h.regressed;
    t.expected += h.valid - std::min(h.valid, h.lost + h.regressed);
    t.frames_sent += h.frames_sent;
    t.bytes_sent += h.bytes_sent;
    t.connections += h.connections;
    t.connected_hosts += h.conn_fd >= 0 ? 1 : 0;
    t.unsent_hosts += h.next_seq - 1 > h.sent_upto ? 1 : 0;
    t.outdated_cursors += h.outdated;
    t.live_skips += h.live_skips;
    t.future_cursors += h.future;
    t.split_handshakes += h.splits;
    t.drops += h.drops;
    t.reset_hosts += h.reset ? 1 : 0;
  }
  return t;
}

json Fleet::stats(bool per_host) {
  FleetTotals t = totals();
  json j;
  j["totals"] = {{"hosts", hosts_.size()},
                 {"rate", rate()},
                 {"emitting", emitting()},
                 {"emitted", t.emitted},
                 {"valid", t.valid},
                 {"invalid", t.invalid},
                 {"lost", t.lost},
                 {"regressed", t.regressed},
                 {"expected", t.expected},
                 {"frames_sent", t.frames_sent},
                 {"bytes_sent", t.bytes_sent},
                 {"connections", t.connections},
                 {"connected_hosts", t.connected_hosts},
                 {"unsent_hosts", t.unsent_hosts},
                 {"outdated_cursors", t.outdated_cursors},
                 {"live_skips", t.live_skips},
                 {"future_cursors", t.future_cursors},
                 {"split_handshakes", t.split_handshakes},
                 {"drops", t.drops},
                 {"reset_hosts", t.reset_hosts},
                 {"live_connections", live_conns_.load()}};
  if (per_host) {
    json hosts = json::array();
    for (auto& h : hosts_) hosts.push_back(host_json(*h));
    j["hosts"] = std::move(hosts);
  }
  return j;
}

json Fleet::list_hosts(std::size_t cursor, std::size_t limit) const {
  json hosts = json::array();
  const std::size_t end = std::min(hosts_.size(), cursor + limit);
  for (std::size_t i = cursor; i < end; ++i) {
    Host& h = *hosts_[i];
    std::int64_t seq;
    {
      std::lock_guard lk(h.mu);
      seq = h.next_seq - 1;
    }
    hosts.push_back({{"hostname", "127.0.0.1:" + std::to_string(h.port)},
                     {"seq", seq},
                     {"accountCount", h.accounts},
                     {"status", "active"}});
  }
  json j;
  if (end < hosts_.size()) j["cursor"] = std::to_string(end);
  j["hosts"] = std::move(hosts);
  return j;
}

void Fleet::route_control() {
  control_->route("GET", "/xrpc/com.atproto.sync.listHosts", [this](const net::Request& r) {
    std::uint64_t limit = 200, cursor = 0;
    if (auto l = r.param("limit"); l && (!parse_u64(*l, limit) || limit < 1 || limit > opt_.list_hosts_max))
      return net::Response::error(400, "InvalidRequest",
                                  "limit must be 1.." + std::to_string(opt_.list_hosts_max));
    if (auto c = r.param("cursor"); c && !c->empty() && !parse_u64(*c, cursor))
      return net::Response::error(400, "InvalidRequest", "bad cursor");
    return net::Response::json(200, list_hosts(cursor, limit).dump());
  });
  control_->route("GET", "/stats", [this](const net::Request& r) {
    auto h = r.param("hosts");
    return net::Response::json(200, stats(h && *h != "0").dump());
  });
  control_->route("GET", "/health", [](const net::Request&) { return net::Response::json(200, R"({"ok":true})"); });
  control_->route("GET", "/control", [this](const net::Request& r) {
    auto action = r.param("action");
    if (!action) return net::Response::error(400, "InvalidRequest", "action is required");
    if (*action == "start" || *action == "pause") {
      double delay = 0;
      if (auto d = r.param("delay_s"); d && (!parse_double(*d, delay) || delay < 0 || delay > 60))
        return net::Response::error(400, "InvalidRequest", "delay_s must be 0..60");
      set_emitting(*action == "start", delay);
      return net::Response::json(200, json({{"ok", true}, {"emitting", emitting()}}).dump());
    }
    if (*action == "rate") {
      double total = 0;
      auto t = r.param("total");
      if (!t || !parse_double(*t, total) || total < 0)
        return net::Response::error(400, "InvalidRequest", "rate needs total=EVENTS_PER_S");
      set_rate(total);
      return net::Response::json(200, json({{"ok", true}, {"rate", rate()}}).dump());
    }
    std::string error;
    auto cmd = parse_command(*action, r.query, error);
    if (!cmd) return net::Response::error(400, "InvalidRequest", error);
    auto which = parse_host_set(r.param("hosts").value_or("all"), hosts(), error);
    if (!which) return net::Response::error(400, "InvalidRequest", error);
    apply(*which, *cmd);
    return net::Response::json(200, json({{"ok", true}, {"hosts", which->size()}}).dump());
  });
}

// ---- the fleet process ----

int run_fleet_process(const FleetOptions& options) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread exists: all inherit it
  ::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  io::Options io_opts;
  io_opts.backend = io::Backend::evented;
  io_opts.scheduler_threads = options.scheduler_threads;
  io_opts.bridge_workers = 1;
  auto io = io::Io::create(io_opts);
  Fleet fleet(*io, options);
  auto started = fleet.start();
  if (!started) {
    std::fprintf(stderr, "faultline stress fleet: %s\n", started.message().c_str());
    return 2;
  }
  json ready = {{"control_port", fleet.control_port()},
                {"hosts", fleet.hosts()},
                {"first_port", fleet.host_port(0)},
                {"last_port", fleet.host_port(fleet.hosts() - 1)},
                {"reactor", std::string(io::to_string(io->reactor()))},
                {"pid", ::getpid()}};
  std::printf("%s\n", ready.dump().c_str());
  std::fflush(stdout);
  const timespec tick{0, 200'000'000};
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) break;
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) break;
    if (p.revents & POLLIN) {
      char b[256];
      if (::read(0, b, sizeof b) <= 0) break;  // EOF: the parent is gone
    }
  }
  fleet.stop();
  std::fprintf(stderr, "faultline stress fleet: stopped: %s\n", fleet.stats(false).dump().c_str());
  return 0;
}

}  // namespace faultline::stress
