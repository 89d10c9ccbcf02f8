#include "stress/stress.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/record/result_record.h"
#include "harness/run/child.h"
#include "harness/run/environment.h"
#include "harness/run/process.h"
#include "io/io.h"
#include "relay/net/http_client.h"
#include "relay/net/url.h"
#include "stress/consumer.h"
#include "stress/histogram.h"
#include "stress/limits.h"
#include "stress/procfs.h"
#include "stress/prometheus.h"
#include "stress/relay_process.h"

extern char** environ;

namespace faultline::stress {

namespace fs = std::filesystem;
namespace net = relay::net;
using nlohmann::json;

namespace {

double mono_s() { return harness::now_s(); }

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

fs::path source_root() {
  if (const char* r = std::getenv("FAULTLINE_ROOT"); r && *r) return r;
  return FAULTLINE_SOURCE_DIR;
}

std::string fmt_num(double v) {
  char b[64];
  if (!std::isfinite(v)) return "n/a";
  std::snprintf(b, sizeof b, "%.0f", v);
  std::string s = b, out;
  std::size_t start = s[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    std::size_t left = s.size() - i - 1;
    if (i >= start && left > 0 && left % 3 == 0) out += ',';
  }
  return out;
}

std::string fmt_bytes(double b) {
  char buf[64];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", b / (1024.0 * 1024));
  return buf;
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// One HTTP GET from the main thread (a task of `io` does the work).
struct HttpText {
  int status = 0;
  std::string body;
  std::string error;
  bool ok() const { return error.empty() && status == 200; }
};
HttpText http(io::Io& io, std::uint16_t port, const std::string& path, double timeout_s) {
  HttpText out;
  if (port == 0) {
    out.error = "no port";
    return out;
  }
  net::Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  u.path_and_query = path;
  try {
    io.block_on([&] {
      auto r = net::http_get(io, u, std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
      if (!r) {
        out.error = r.message();
        return;
      }
      out.status = r.value.status;
      out.body = std::move(r.value.body);
    });
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

std::optional<json> http_json(io::Io& io, std::uint16_t port, const std::string& path, double timeout_s) {
  auto r = http(io, port, path, timeout_s);
  if (!r.ok()) return std::nullopt;
  try {
    return json::parse(r.body);
  } catch (...) {
    return std::nullopt;
  }
}

// ---- the fleet process ----

struct FleetProc {
  pid_t pid = -1;
  int stdin_w = -1;
  std::uint16_t control_port = 0;
  json ready;
  std::string error;

  bool start(const std::string& exe, const std::vector<std::string>& args, const fs::path& log, double timeout_s) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      error = "pipe failed";
      return false;
    }
    int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (logfd >= 0) posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    std::vector<std::string> argv_s = {exe, "stress", "fleet"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    if (logfd >= 0) ::close(logfd);
    if (rc != 0) {
      error = std::string("posix_spawn: ") + std::strerror(rc);
      ::close(in[1]);
      ::close(out[0]);
      pid = -1;
      return false;
    }
    stdin_w = in[1];
    // The first stdout line is the ready object.
    std::string line;
    const double until = mono_s() + timeout_s;
    while (line.find('\n') == std::string::npos) {
      int left_ms = static_cast<int>((until - mono_s()) * 1000);
      if (left_ms <= 0) {
        error = "the fleet did not report ready within " + fmt(timeout_s, 0) + " s (log: " + log.string() + ")";
        break;
      }
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, std::min(left_ms, 500)) <= 0) continue;
      char b[512];
      ssize_t n = ::read(out[0], b, sizeof b);
      if (n <= 0) {
        error = "the fleet exited before it was ready (log: " + log.string() + ")";
        break;
      }
      line.append(b, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (!error.empty()) return false;
    try {
      ready = json::parse(line.substr(0, line.find('\n')));
      control_port = ready.at("control_port").get<std::uint16_t>();
    } catch (const std::exception& e) {
      error = std::string("the fleet's ready line is not JSON: ") + e.what();
      return false;
    }
    return true;
  }

  void stop(double timeout_s = 10) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    const double until = mono_s() + timeout_s;
    int st = 0;
    while (::waitpid(pid, &st, WNOHANG) == 0) {
      if (mono_s() > until) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (stdin_w >= 0) ::close(stdin_w);
    stdin_w = -1;
    pid = -1;
  }
  ~FleetProc() { stop(2); }
};

// ---- relay metrics ----

struct RelayMetrics {
  bool ok = false;
  double received = NAN, accepted = NAN, invalid = NAN, dropped = NAN, sent = NAN, consumers = NAN, log_seq = NAN,
         threads = NAN, fibers = NAN, bridge_depth = NAN, bq_high_water = NAN, reconnects = NAN,
         upstream_connected = NAN, too_slow = NAN, spins = NAN;
  std::map<std::string, double> invalid_by_reason, dropped_by_reason, hosts_by_status, consumer_lag;
  std::map<std::string, double> host_accepted;  // hostname -> accepted
};

RelayMetrics relay_metrics(const PromMetrics& p) {
  RelayMetrics m;
  m.ok = !p.samples().empty();
  auto one = [&](const char* n) { return p.has(n) ? p.sum(n) : NAN; };
  m.received = one("relay_events_received_total");
  m.accepted = one("relay_events_accepted_total");
  m.invalid = one("relay_events_invalid_total");
  m.dropped = one("relay_events_dropped_total");
  m.sent = one("relay_events_sent_total");
  m.consumers = one("relay_consumers");
  m.log_seq = one("relay_log_seq");
  m.threads = one("relay_threads");
  m.fibers = one("relay_fibers");
  m.bridge_depth = one("relay_bridge_queue_depth");
  m.bq_high_water = p.max("relay_broadcast_queue_high_water").value_or(NAN);
  m.reconnects = one("relay_upstream_reconnects_total");
  m.upstream_connected = one("relay_upstream_connected");
  m.too_slow = one("relay_consumers_too_slow_total");
  m.spins = one("relay_broadcast_spins_total");
  m.invalid_by_reason = p.by_label("relay_events_invalid_total", "reason");
  m.dropped_by_reason = p.by_label("relay_events_dropped_total", "reason");
  m.hosts_by_status = p.by_label("relay_hosts", "status");
  m.consumer_lag = p.by_label("relay_consumer_lag", "consumer");
  m.host_accepted = p.by_label("relay_host_events_accepted_total", "host");
  return m;
}

json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json pairs(const std::map<std::string, double>& m) {
  json a = json::array();
  for (const auto& [k, v] : m) a.push_back(json::array({k, v}));
  return a;
}

json as_object(const std::map<std::string, double>& m) {
  json o = json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// ---- fleet commands "[@T:]query" ----

struct TimedCommand {
  double at_s = 0;
  std::string query;
  bool sent = false;
};

std::optional<TimedCommand> parse_timed(const std::string& s, std::string& error) {
  TimedCommand c;
  std::string q = s;
  if (!q.empty() && q[0] == '@') {
    auto colon = q.find(':');
    if (colon == std::string::npos) {
      error = "fleet command '" + s + "': expected @SECONDS:QUERY";
      return std::nullopt;
    }
    char* end = nullptr;
    std::string t = q.substr(1, colon - 1);
    c.at_s = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || c.at_s < 0) {
      error = "fleet command '" + s + "': bad time";
      return std::nullopt;
    }
    q = q.substr(colon + 1);
  }
  if (q.rfind("action=", 0) != 0 && q.find("&action=") == std::string::npos) {
    error = "fleet command '" + s + "': needs action=... (drop, stall, split, invalid, reset-seq, clear, rate)";
    return std::nullopt;
  }
  c.query = q;
  return c;
}

// ---- one run against one backend ----

class Trial {
 public:
  Trial(const StressOptions& o, io::Io& io, std::string backend, fs::path dir, std::string run_id,
        const json& environment)
      : o_(o), io_(io), backend_(std::move(backend)), dir_(std::move(dir)), run_id_(std::move(run_id)),
        environment_(environment) {
    series_ = backend_ + (o_.inject.empty() ? "" : "+" + o_.inject);
  }

  json run();

 private:
  struct Snapshot {
    double t = 0;
    RelayMetrics m;
    double emitted = NAN, frames_sent = NAN, connected_hosts = NAN, unsent_hosts = NAN;
    std::optional<ProcSample> proc, fleet_proc, self_proc;
    std::vector<std::uint64_t> consumer_events;
  };

  bool setup(std::string& error);
  Snapshot snapshot();
  json tick(const char* phase);
  void sample_for(double seconds, const char* phase);
  void consider_failures(const Snapshot& s, const char* phase);
  void mark_failure(const std::string& kind, const std::string& what, const Snapshot& s);
  void apply_commands(double t_run);
  bool send_fleet(const std::string& query);
  void drain();
  json finish();
  void progress(const json& point, bool final_line = false);
  bool relay_alive() { return !relay_.finished(); }

  const StressOptions& o_;
  io::Io& io_;
  std::string backend_, series_;
  fs::path dir_;
  std::string run_id_;
  const json& environment_;

  FleetProc fleet_;
  RelayProcess relay_;
  pid_t relay_pid_ = -1;
  std::uint16_t port_ = 0, metrics_port_ = 0;
  fs::path data_dir_;
  double t_relay_start_ = 0, t_emit_start_ = -1, t_emit_end_ = -1;
  bool hosts_all_connected_ = false;
  double connect_s_ = NAN;
  std::vector<TimedCommand> commands_;

  Histogram latency_;
  HistogramSnapshot lat_prev_;
  std::atomic<std::int64_t> relay_seq_{0};
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::size_t normal_count_ = 0;
  Consumer* slow_ = nullptr;
  Consumer* reconnect_ = nullptr;

  std::ofstream ts_;
  std::vector<json> points_;
  std::optional<Snapshot> prev_;
  std::optional<Snapshot> at_emit_start_, at_emit_end_, last_good_;
  double last_progress_ = 0;
  bool tty_ = false;
  double max_threads_ = 0, max_rss_ = 0, max_fibers_ = 0, max_bq_ = 0, max_cpu_pct_ = 0;
  double last_metrics_ok_ = 0, last_progress_seq_t_ = 0, last_received_ = -1;
  double last_emitted_at_stall_ = -1;
  double target_rate_ = 0;
  double fleet_rss_max_ = 0, fleet_threads_max_ = 0;
  std::mutex lag_mu_;
  std::vector<std::string> relay_cmd_;
  std::map<std::uint16_t, double> lag_by_port_;

  json failures_ = json::array();
  std::set<std::string> failure_kinds_;
  std::vector<std::string> violations_, notes_;
  // --find-max-rate
  json steps_ = json::array();
  double max_rate_ok_ = 0;
  std::string max_rate_note_;
};

bool Trial::send_fleet(const std::string& query) {
  auto r = http(io_, fleet_.control_port, "/control?" + query, 5);
  if (!r.ok()) {
    notes_.push_back("fleet command '" + query + "' failed: " + (r.error.empty() ? r.body : r.error));
    return false;
  }
  return true;
}

bool Trial::setup(std::string& error) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  tty_ = o_.progress && ::isatty(2);
  ts_.open(dir_ / "timeseries.jsonl", std::ios::app);
  for (const auto& c : o_.fleet_commands) {
    auto tc = parse_timed(c, error);
    if (!tc) return false;
    commands_.push_back(*tc);
  }
  // Injected defects are made to show up fast: the handshake bug needs split
  // 101s and reconnects, the consumer lifetime bug needs consumer churn.
  if (o_.inject.find("ws-split-bug") != std::string::npos) {
    commands_.push_back({0, "action=split&hosts=all&pieces=3&pause_ms=2&crlf=0.7", false});
    commands_.push_back({0, "action=drop&hosts=random:" + std::to_string(std::max<std::uint32_t>(1, o_.hosts / 10)) +
                                "&every_s=2",
                         false});
  }
  if (o_.chaos) {
    const std::uint32_t n = o_.hosts;
    auto some = [&](double f) { return std::to_string(std::max<std::uint32_t>(1, static_cast<std::uint32_t>(n * f))); };
    commands_.push_back({0, "action=split&hosts=all&pieces=3&pause_ms=1&crlf=0.5", false});
    commands_.push_back({0, "action=drop&hosts=random:" + some(0.05) + ":7&every_s=10", false});
    commands_.push_back({2, "action=invalid&hosts=random:" + some(0.02) + ":11&count=3", false});
    commands_.push_back({3, "action=stall&hosts=hot:3&seconds=2", false});
  }

  // The fleet.
  std::vector<std::string> fargs = {"--hosts",    std::to_string(o_.hosts), "--rate",     fmt(o_.rate, 3),
                                    "--seed",     std::to_string(o_.seed),  "--zipf",     fmt(o_.zipf, 3),
                                    "--accounts", std::to_string(o_.accounts), "--paused"};
  const std::string exe = self_exe();
  if (!fleet_.start(exe, fargs, dir_ / ("fleet-" + backend_ + ".log"), 60)) {
    error = "fleet: " + fleet_.error;
    return false;
  }
  // The relay.
  port_ = free_port();
  metrics_port_ = free_port();
  while (metrics_port_ == port_) metrics_port_ = free_port();
  data_dir_ = dir_ / ("relay-data-" + backend_);
  fs::remove_all(data_dir_, ec);
  fs::create_directories(data_dir_, ec);
  const std::string relay_exe = o_.relay_exe.empty() ? exe : o_.relay_exe;
  RelayLaunch launch;
  std::vector<std::string> extra = o_.relay_args;
  if (o_.consumer_buffer != 16'384) extra.insert(extra.end(), {"--consumer-buffer", std::to_string(o_.consumer_buffer)});
  launch.command = relay_command(relay_exe, "http://127.0.0.1:" + std::to_string(fleet_.control_port), port_,
                                 metrics_port_, data_dir_.string(), backend_, o_.inject, o_.fsync, extra);
  double plan_s = o_.duration_s;
  if (o_.find_max_rate) plan_s = 40 * (o_.step_s + o_.settle_s) + 20 * o_.drain_timeout_s;
  launch.timeout_s = o_.startup_timeout_s + plan_s + o_.drain_timeout_s + 60;
  launch.attempt_dir = dir_ / ("relay-" + backend_);
  relay_cmd_ = launch.command;
  record::ResultRecord pre;
  pre.run_id = run_id_ + "-relay";
  pre.scenario = "stress/relay-" + backend_;
  pre.variant = o_.inject.empty() ? "none" : o_.inject;
  pre.build = harness::infer_build(relay_exe);
  pre.environment = environment_;
  t_relay_start_ = mono_s();
  relay_.start(launch, pre);
  relay_pid_ = relay_.pid(10);
  if (relay_pid_ <= 0) {
    error = "the relay did not start (" +
            (relay_.finished() ? relay_.record().summary : std::string("no process after 10 s")) + ")";
    return false;
  }
  return true;
}

Trial::Snapshot Trial::snapshot() {
  Snapshot s;
  s.t = mono_s() - t_relay_start_;
  if (relay_pid_ > 0) s.proc = sample_process(relay_pid_);
  if (fleet_.pid > 0) s.fleet_proc = sample_process(fleet_.pid);
  s.self_proc = sample_process(::getpid());
  if (s.fleet_proc) {
    fleet_rss_max_ = std::max(fleet_rss_max_, static_cast<double>(s.fleet_proc->rss_bytes));
    fleet_threads_max_ = std::max(fleet_threads_max_, static_cast<double>(s.fleet_proc->threads));
  }
  auto text = http(io_, metrics_port_, "/metrics", 2);
  if (text.ok()) {
    s.m = relay_metrics(PromMetrics::parse(text.body));
    if (s.m.ok) last_metrics_ok_ = mono_s();
  }
  if (auto f = http_json(io_, fleet_.control_port, "/stats", 2)) {
    const json& t = (*f)["totals"];
    s.emitted = t.value("emitted", NAN);
    s.frames_sent = t.value("frames_sent", NAN);
    s.connected_hosts = t.value("connected_hosts", NAN);
    s.unsent_hosts = t.value("unsent_hosts", NAN);
  }
  for (auto& c : consumers_) s.consumer_events.push_back(c->events());
  if (s.m.ok && s.proc) last_good_ = s;
  if (std::isfinite(s.m.log_seq)) relay_seq_.store(static_cast<std::int64_t>(s.m.log_seq));
  if (s.m.ok) {
    // relay_consumer_lag{consumer="127.0.0.1:PORT#N"}: by our consumers' local ports.
    std::map<std::uint16_t, double> by_port;
    for (const auto& [name, lag] : s.m.consumer_lag) {
      auto colon = name.rfind(':', name.find('#'));
      if (colon == std::string::npos) continue;
      int port = std::atoi(name.c_str() + colon + 1);
      if (port > 0 && port < 65536) by_port[static_cast<std::uint16_t>(port)] = lag;
    }
    std::lock_guard lk(lag_mu_);
    lag_by_port_ = std::move(by_port);
  }
  return s;
}

void Trial::mark_failure(const std::string& kind, const std::string& what, const Snapshot& now) {
  if (!failure_kinds_.insert(kind).second) return;
  // A dead or silent relay answers no /metrics: count from the last sample that had them.
  Snapshot s = now;
  if (!s.m.ok && last_good_) {
    s.m = last_good_->m;
    if (!std::isfinite(s.emitted)) s.emitted = last_good_->emitted;
  }
  // The relay accepted at least what a consumer already received.
  double seen = 0;
  for (auto& c : consumers_) seen = std::max(seen, static_cast<double>(c->last_seq()));
  if (!std::isfinite(s.m.accepted) || s.m.accepted < seen) s.m.accepted = seen;
  json f = {{"kind", kind},
            {"what", what},
            {"t_s", s.t},
            {"after_emission_s", t_emit_start_ >= 0 ? json(s.t - (t_emit_start_ - t_relay_start_)) : json(nullptr)},
            {"events_accepted", num_or_null(s.m.accepted)},
            {"events_emitted", num_or_null(s.emitted)}};
  failures_.push_back(f);
}

void Trial::consider_failures(const Snapshot& s, const char* phase) {
  if (!relay_alive()) {
    mark_failure("relay-exit", "the relay process ended", s);
    return;
  }
  const bool running = std::string(phase) == "run";
  if (running && mono_s() - last_metrics_ok_ > 10)
    mark_failure("unresponsive", "no /metrics answer for 10 s", s);
  // No progress while the fleet emits: a hang (or a stall of the pipeline).
  if (running && std::isfinite(s.m.received)) {
    if (s.m.received != last_received_) {
      last_received_ = s.m.received;
      last_progress_seq_t_ = mono_s();
      last_emitted_at_stall_ = s.emitted;
    } else if (mono_s() - last_progress_seq_t_ > 10 && std::isfinite(s.emitted) && s.emitted > last_emitted_at_stall_) {
      mark_failure("stuck", "the relay received nothing for 10 s while the fleet emitted", s);
    }
  }
  // Drops of resent events (a replay after a reconnect, a seq reset) are the
  // per-host dedup doing its job; any other reason means lost events.
  for (const auto& [reason, n] : s.m.dropped_by_reason)
    if (n > 0 && reason != "seq-not-newer")
      mark_failure("dropped", "the relay dropped events (" + reason + ")", s);
  for (std::size_t i = 0; i < consumers_.size(); ++i) {
    auto& c = *consumers_[i];
    if (c.gaps() > 0) mark_failure("gap", "consumer " + c.options().name + " saw a seq gap", s);
    if (c.duplicates() > 0) mark_failure("duplicate", "consumer " + c.options().name + " saw a duplicate seq", s);
    if (c.options().kind != ConsumerKind::slow && c.too_slow() && !o_.find_max_rate)
      mark_failure("consumer-too-slow", "consumer " + c.options().name + " got ConsumerTooSlow", s);
    if (c.options().kind == ConsumerKind::normal && c.disconnects() > 0)
      mark_failure("disconnect", "consumer " + c.options().name + " lost its stream", s);
  }
}

json Trial::tick(const char* phase) {
  Snapshot s = snapshot();
  consider_failures(s, phase);
  const double dt = prev_ ? std::max(1e-3, s.t - prev_->t) : 1;
  auto rate = [&](double now, double before) {
    return prev_ && std::isfinite(now) && std::isfinite(before) ? std::max(0.0, (now - before) / dt) : NAN;
  };
  HistogramSnapshot lat = latency_.snapshot();
  HistogramSnapshot win = lat.since(lat_prev_);
  lat_prev_ = lat;
  json p;
  p["t"] = std::round(s.t * 1000) / 1000;
  p["run_id"] = run_id_;
  p["series"] = series_;
  p["phase"] = phase;
  p["target_events_per_s"] = t_emit_start_ >= 0 && t_emit_end_ < 0 ? json(target_rate_) : json(0);
  if (s.proc) {
    p["relay_threads"] = s.proc->threads;
    p["relay_rss_bytes"] = s.proc->rss_bytes;
    max_threads_ = std::max(max_threads_, static_cast<double>(s.proc->threads));
    max_rss_ = std::max(max_rss_, static_cast<double>(s.proc->rss_bytes));
    if (prev_ && prev_->proc) {
      double pct = (s.proc->cpu_s - prev_->proc->cpu_s) / dt * 100;
      p["relay_cpu_pct"] = std::round(pct * 10) / 10;
      max_cpu_pct_ = std::max(max_cpu_pct_, pct);
    }
  }
  p["relay_fibers"] = num_or_null(s.m.fibers);
  if (std::isfinite(s.m.fibers)) max_fibers_ = std::max(max_fibers_, s.m.fibers);
  p["upstream_connections"] = num_or_null(s.connected_hosts);
  p["events_emitted_per_s"] = num_or_null(rate(s.emitted, prev_ ? prev_->emitted : NAN));
  p["events_in_per_s"] = num_or_null(rate(s.m.received, prev_ ? prev_->m.received : NAN));
  p["events_accepted_per_s"] = num_or_null(rate(s.m.accepted, prev_ ? prev_->m.accepted : NAN));
  if (!s.consumer_events.empty() && prev_ && !prev_->consumer_events.empty())
    p["events_out_per_s"] = num_or_null(rate(static_cast<double>(s.consumer_events[0]),
                                             static_cast<double>(prev_->consumer_events[0])));
  p["relay_fanout_frames"] = num_or_null(rate(s.m.sent, prev_ ? prev_->m.sent : NAN));
  if (win.count() > 0) {
    p["latency_p50_ms"] = static_cast<double>(win.percentile(50)) / 1000.0;
    p["latency_p99_ms"] = static_cast<double>(win.percentile(99)) / 1000.0;
    p["latency_max_ms"] = static_cast<double>(win.max()) / 1000.0;
  }
  double lag_max = 0;
  json lags = json::array();
  for (auto& c : consumers_) {
    double lag = std::isfinite(s.m.log_seq) ? s.m.log_seq - static_cast<double>(c->last_seq()) : NAN;
    lags.push_back(json::array({c->options().name, num_or_null(lag)}));
    if (c->options().kind != ConsumerKind::slow && std::isfinite(lag)) lag_max = std::max(lag_max, lag);
  }
  p["consumer_lag_max"] = lag_max;
  p["consumer_lags"] = lags;
  p["relay_consumer_lags"] = pairs(s.m.consumer_lag);
  p["broadcast_queue_high_water"] = num_or_null(s.m.bq_high_water);
  if (std::isfinite(s.m.bq_high_water)) max_bq_ = std::max(max_bq_, s.m.bq_high_water);
  p["bridge_queue_depth"] = num_or_null(s.m.bridge_depth);
  p["upstream_reconnects"] = num_or_null(s.m.reconnects);
  p["invalid_frames"] = num_or_null(s.m.invalid);
  p["invalid_by_reason"] = pairs(s.m.invalid_by_reason);
  p["dropped_events"] = num_or_null(s.m.dropped);
  p["dropped_by_reason"] = pairs(s.m.dropped_by_reason);
  if (std::isfinite(s.m.spins)) p["broadcast_spins_per_s"] = num_or_null(rate(s.m.spins, prev_ ? prev_->m.spins : NAN));
  p["relay_log_seq"] = num_or_null(s.m.log_seq);
  prev_ = s;
  ts_ << p.dump() << "\n";
  ts_.flush();
  points_.push_back(p);
  progress(p);
  return p;
}

void Trial::progress(const json& p, bool final_line) {
  if (!o_.progress) return;
  const double now = mono_s();
  if (!tty_ && !final_line && now - last_progress_ < 5) return;
  last_progress_ = now;
  auto g = [&](const char* k) { return p.contains(k) && p[k].is_number() ? p[k].get<double>() : NAN; };
  std::string gaps;
  std::uint64_t gsum = 0;
  for (auto& c : consumers_) gsum += c->gaps();
  char line[400];
  std::snprintf(line, sizeof line,
                "stress %-9s %5.0fs %-5s hosts %s  in %s/s  out %s/s  p99 %s ms  threads %s  fibers %s  rss %s  cpu "
                "%s%%  lag %s  gaps %llu",
                series_.c_str(), g("t"), p.value("phase", "").c_str(), fmt_num(g("upstream_connections")).c_str(),
                fmt_num(g("events_in_per_s")).c_str(), fmt_num(g("events_out_per_s")).c_str(),
                std::isfinite(g("latency_p99_ms")) ? fmt(g("latency_p99_ms")).c_str() : "-",
                fmt_num(g("relay_threads")).c_str(), fmt_num(g("relay_fibers")).c_str(),
                std::isfinite(g("relay_rss_bytes")) ? fmt_bytes(g("relay_rss_bytes")).c_str() : "-",
                fmt_num(g("relay_cpu_pct")).c_str(), fmt_num(g("consumer_lag_max")).c_str(),
                static_cast<unsigned long long>(gsum));
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s", line);
  else
    std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

void Trial::apply_commands(double t_run) {
  for (auto& c : commands_) {
    if (c.sent || t_run < c.at_s) continue;
    c.sent = true;
    send_fleet(c.query);
  }
}

void Trial::sample_for(double seconds, const char* phase) {
  const double end = mono_s() + seconds;
  for (int i = 0; i < 1'000'000; ++i) {
    const double next = mono_s() + 1.0;
    if (t_emit_start_ >= 0) apply_commands(mono_s() - t_emit_start_);
    tick(phase);
    if (!relay_alive()) return;
    const double stop = std::min(next, end);
    while (mono_s() < stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (mono_s() >= end) return;
  }
}

void Trial::drain() {
  const double until = mono_s() + o_.drain_timeout_s;
  double stable_since = -1;
  double last_recv = -1, last_sent = -1;
  for (int i = 0; i < 100'000 && mono_s() < until && relay_alive(); ++i) {
    Snapshot s = snapshot();
    bool caught = std::isfinite(s.m.log_seq);
    for (auto& c : consumers_) {
      if (c->options().kind == ConsumerKind::slow) continue;
      if (static_cast<double>(c->last_seq()) < s.m.log_seq) caught = false;
    }
    // Every host's events written to the relay (a host dropped at the very end
    // must be reconnected and replayed first), nothing moving, consumers at the log's end.
    const bool stable = s.m.received == last_recv && s.frames_sent == last_sent && s.unsent_hosts == 0;
    last_recv = s.m.received;
    last_sent = s.frames_sent;
    if (caught && stable) {
      if (stable_since < 0) stable_since = mono_s();
      if (mono_s() - stable_since >= 1.0) break;
    } else {
      stable_since = -1;
    }
    if (i % 2 == 0) tick("drain");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

json Trial::run() {
  std::string error;
  json summary;
  summary["hosts"] = o_.hosts;
  summary["backend"] = backend_;
  summary["inject"] = o_.inject;
  summary["run_id"] = run_id_;
  summary["out_dir"] = dir_.string();
  if (!setup(error)) {
    summary["error"] = error;
    summary["invariants_ok"] = false;
    summary["violations"] = json::array({error});
    fleet_.stop();
    if (relay_.pid(0) > 0) relay_.terminate();
    relay_.wait(30);
    return summary;
  }
  // ---- start-up: health, then every host connected ----
  const double startup_until = mono_s() + o_.startup_timeout_s;
  bool healthy = false;
  for (int i = 0; i < 100'000 && mono_s() < startup_until && relay_alive(); ++i) {
    auto h = http(io_, port_, "/xrpc/_health", 2);
    if (h.status == 200) {
      healthy = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!healthy) {
    Snapshot s = snapshot();
    mark_failure(relay_alive() ? "startup" : "relay-exit",
                 relay_alive() ? "no /xrpc/_health 200 within the start-up timeout" : "the relay ended during start-up",
                 s);
  }
  double last_tick = 0;
  while (healthy && mono_s() < startup_until && relay_alive()) {
    auto f = http_json(io_, fleet_.control_port, "/stats", 2);
    double connected = f ? (*f)["totals"].value("connected_hosts", 0.0) : 0;
    if (connected >= o_.hosts) {
      hosts_all_connected_ = true;
      connect_s_ = mono_s() - t_relay_start_;
      break;
    }
    if (mono_s() - last_tick >= 1) {
      last_tick = mono_s();
      tick("startup");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (healthy && !hosts_all_connected_) {
    auto f = http_json(io_, fleet_.control_port, "/stats", 2);
    violations_.push_back("only " + fmt_num(f ? (*f)["totals"].value("connected_hosts", 0.0) : 0) + " of " +
                          std::to_string(o_.hosts) + " hosts were connected after the " +
                          fmt(o_.startup_timeout_s, 0) + " s start-up timeout");
  }
  // ---- consumers ----
  if (healthy && relay_alive()) {
    const std::string ep = "127.0.0.1:" + std::to_string(port_);
    const std::uint32_t k = std::max<std::uint32_t>(o_.consumers, 1);
    const std::uint32_t specials = k >= 3 ? 2 : 0;
    normal_count_ = k - specials;
    for (std::uint32_t i = 0; i < k; ++i) {
      ConsumerOptions co;
      co.endpoint = ep;
      co.hosts = o_.hosts;
      co.start_cursor = 0;
      if (i < normal_count_) {
        co.kind = ConsumerKind::normal;
        co.name = "c" + std::to_string(i);
      } else if (i == normal_count_) {
        co.kind = ConsumerKind::slow;
        co.name = "slow";
        co.record_latency = false;
        co.slow_threshold = o_.slow_threshold;
        co.relay_buffer = o_.consumer_buffer;
        co.relay_lag = [this](std::uint16_t port) {
          std::lock_guard lk(lag_mu_);
          auto it = lag_by_port_.find(port);
          return it == lag_by_port_.end() ? NAN : it->second;
        };
        co.slow_deadline = std::chrono::milliseconds(static_cast<long>(o_.duration_s * 750));
      } else {
        co.kind = ConsumerKind::reconnect;
        co.name = "reconnect";
        co.record_latency = false;
        double every = o_.reconnect_every_s;
        if (o_.inject.find("consumer-uaf") != std::string::npos) every = std::min(every, 0.5);
        co.reconnect_every = std::chrono::milliseconds(static_cast<long>(every * 1000));
      }
      auto c = std::make_unique<Consumer>(io_, co, co.record_latency ? &latency_ : nullptr, &relay_seq_);
      if (co.kind == ConsumerKind::slow) slow_ = c.get();
      if (co.kind == ConsumerKind::reconnect) reconnect_ = c.get();
      consumers_.push_back(std::move(c));
    }
    for (auto& c : consumers_) c->start();
    for (int i = 0; i < 200; ++i) {
      bool all = true;
      for (auto& c : consumers_) all = all && c->connected();
      if (all || !relay_alive()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // ---- emission ----
  if (healthy && relay_alive()) {
    target_rate_ = o_.rate;
    // The fleet's writers sleep up to 1 s while paused: start 1.1 s from now so
    // every one of them is awake for its first event.
    send_fleet("action=start&delay_s=1.1");
    t_emit_start_ = mono_s() + 1.1;
    while (mono_s() < t_emit_start_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    at_emit_start_ = snapshot();
    prev_ = at_emit_start_;
    lat_prev_ = latency_.snapshot();
    last_progress_seq_t_ = mono_s();
    if (!o_.find_max_rate) {
      sample_for(o_.duration_s, "run");
    } else {
      // Step the rate up until p99 > max_p99_ms or events are not all delivered.
      double r = o_.rate, ok = 0, bad = 0;
      for (int step = 0; step < 40 && relay_alive(); ++step) {
        send_fleet("action=rate&total=" + fmt(r, 1));
        target_rate_ = r;
        sample_for(o_.settle_s, "run");
        Snapshot a = snapshot();
        auto lat0 = latency_.snapshot();
        std::vector<std::uint64_t> too_slow0, disc0;
        for (auto& c : consumers_) {
          too_slow0.push_back(c->too_slow());
          disc0.push_back(c->disconnects());
        }
        std::uint64_t gaps0 = 0;
        for (auto& c : consumers_) gaps0 += c->gaps();
        sample_for(o_.step_s, "run");
        Snapshot b = snapshot();
        HistogramSnapshot w = latency_.snapshot().since(lat0);
        const double dt = std::max(1e-3, b.t - a.t);
        const double emitted = (b.emitted - a.emitted) / dt, in = (b.m.received - a.m.received) / dt;
        const double out = b.consumer_events.empty() ? NAN
                                                      : static_cast<double>(b.consumer_events[0] - a.consumer_events[0]) / dt;
        const double p99 = static_cast<double>(w.percentile(99)) / 1000.0;
        std::string why;
        std::uint64_t gaps1 = 0;
        for (auto& c : consumers_) gaps1 += c->gaps();
        bool cut = false;
        for (std::size_t i = 0; i < consumers_.size(); ++i)
          if (consumers_[i]->options().kind == ConsumerKind::normal &&
              (consumers_[i]->too_slow() != static_cast<bool>(too_slow0[i]) || consumers_[i]->disconnects() != disc0[i]))
            cut = true;
        double lag = 0;
        for (std::size_t i = 0; i < normal_count_; ++i)
          lag = std::max(lag, b.m.log_seq - static_cast<double>(consumers_[i]->last_seq()));
        bool fleet_limited = emitted < 0.9 * r;
        if (!relay_alive()) why = "the relay ended";
        else if (gaps1 != gaps0) why = "a consumer saw a gap";
        else if (cut) why = "a consumer was cut off (ConsumerTooSlow or disconnect)";
        else if (w.count() == 0) why = "no events delivered";
        else if (p99 > o_.max_p99_ms) why = "p99 " + fmt(p99) + " ms > " + fmt(o_.max_p99_ms, 0) + " ms";
        else if (in < 0.95 * emitted) why = "the relay took in " + fmt_num(in) + "/s of " + fmt_num(emitted) + "/s emitted";
        else if (out < 0.95 * in) why = "consumers got " + fmt_num(out) + "/s of " + fmt_num(in) + "/s";
        else if (lag > std::max(1000.0, r)) why = "consumers fell " + fmt_num(lag) + " events behind";
        const bool held = why.empty();
        steps_.push_back({{"rate", r},
                          {"emitted_per_s", emitted},
                          {"in_per_s", in},
                          {"out_per_s", num_or_null(out)},
                          {"latency_p50_ms", static_cast<double>(w.percentile(50)) / 1000.0},
                          {"latency_p99_ms", p99},
                          {"latency_max_ms", static_cast<double>(w.max()) / 1000.0},
                          {"relay_cpu_pct", a.proc && b.proc ? json((b.proc->cpu_s - a.proc->cpu_s) / dt * 100) : json(nullptr)},
                          {"fleet_cpu_pct", a.fleet_proc && b.fleet_proc
                                                ? json((b.fleet_proc->cpu_s - a.fleet_proc->cpu_s) / dt * 100)
                                                : json(nullptr)},
                          {"stress_cpu_pct", a.self_proc && b.self_proc
                                                 ? json((b.self_proc->cpu_s - a.self_proc->cpu_s) / dt * 100)
                                                 : json(nullptr)},
                          {"fleet_limited", fleet_limited},
                          {"held", held},
                          {"why", why}});
        if (o_.progress)
          std::fprintf(stderr, "%sstep %.0f events/s: emitted %s/s in %s/s out %s/s p99 %.1f ms — %s\n",
                       tty_ ? "\r\033[K" : "", r, fmt_num(emitted).c_str(), fmt_num(in).c_str(), fmt_num(out).c_str(),
                       p99, held ? "held" : why.c_str());
        if (held) {
          ok = std::max(ok, r);
          if (fleet_limited) {
            max_rate_note_ = "the fleet could not emit faster than " + fmt_num(emitted) +
                             " events/s on this machine: the relay was not the limit";
            break;
          }
        } else {
          bad = bad == 0 ? r : std::min(bad, r);
          // Let the relay and the consumers catch up before a lower step.
          send_fleet("action=pause");
          drain();
          send_fleet("action=start&delay_s=1.1");
        }
        if (bad == 0) {
          r = std::min(r * 1.5, o_.rate_cap);
          if (r <= ok) break;
        } else {
          if (ok == 0 || bad - ok <= std::max(250.0, 0.08 * ok)) break;
          r = std::round((ok + bad) / 2);
        }
      }
      max_rate_ok_ = ok;
    }
    at_emit_end_ = snapshot();
    if (!at_emit_end_->m.ok && last_good_) {  // the relay is gone: its last numbers
      auto proc = at_emit_end_->proc;
      at_emit_end_->m = last_good_->m;
      at_emit_end_->consumer_events = last_good_->consumer_events;
      at_emit_end_->t = last_good_->t;
      if (!proc) at_emit_end_->proc = last_good_->proc;
    }
    t_emit_end_ = mono_s();
    send_fleet("action=pause");
    drain();
  }
  return finish();
}

json Trial::finish() {
  json summary;
  // ---- final numbers, before anything stops ----
  Snapshot fin = snapshot();
  auto fleet_stats = http_json(io_, fleet_.control_port, "/stats?hosts=1", 10);
  for (auto& c : consumers_) c->stop();
  // ---- the relay: clean shutdown ----
  const bool alive_at_end = relay_alive();
  const double t_term = mono_s();
  if (alive_at_end) relay_.terminate();
  bool exited = relay_.wait(30);
  double shutdown_s = mono_s() - t_term;
  if (!exited) {
    if (o_.progress)
      std::fprintf(stderr, "%sstress: the relay did not exit 30 s after SIGTERM; waiting for the harness's hang capture\n",
                   tty_ ? "\r\033[K" : "");
    relay_.wait(600);  // the harness timeout fires, stacks are collected
  }
  fleet_.stop();
  if (o_.progress && tty_) std::fprintf(stderr, "\n");
  const record::ResultRecord& rrec = relay_.record();

  // ---- per host ----
  const Consumer* c0 = normal_count_ > 0 ? consumers_[0].get() : nullptr;
  std::uint64_t expected_total = 0, strict_expected = 0, strict_delivered = 0, hosts_short = 0, hosts_extra = 0,
                reset_hosts = 0, lost = 0, regressed = 0, emitted = 0, valid = 0, invalid_sent = 0;
  json short_list = json::array();
  json fleet_totals = json::object();
  std::uint64_t relay_host_mismatch = 0;
  if (fleet_stats) {
    std::ofstream(dir_ / ("fleet-hosts-" + series_ + ".json")) << fleet_stats->dump() << "\n";
    fleet_totals = (*fleet_stats)["totals"];
    emitted = fleet_totals.value("emitted", 0ull);
    valid = fleet_totals.value("valid", 0ull);
    invalid_sent = fleet_totals.value("invalid", 0ull);
    lost = fleet_totals.value("lost", 0ull);
    regressed = fleet_totals.value("regressed", 0ull);
    for (const auto& h : (*fleet_stats)["hosts"]) {
      const std::uint32_t i = h.value("i", 0u);
      const std::uint64_t exp = h.value("expected", 0ull);
      expected_total += exp;
      if (h.value("reset", false)) {
        ++reset_hosts;
        continue;
      }
      const std::uint64_t got = c0 && i < c0->per_host().size() ? c0->per_host()[i] : 0;
      strict_expected += exp;
      strict_delivered += std::min(got, exp);
      if (got < exp) {
        ++hosts_short;
        if (short_list.size() < 10) {
          json e = {{"host", i}, {"port", h.value("port", 0)}, {"expected", exp}, {"delivered", got}};
          for (const char* k : {"emitted", "invalid", "drops", "connections", "split_handshakes", "seq"})
            e[k] = h.value(k, json(nullptr));
          e["invalid_by_defect"] = h.value("invalid_by_defect", json::object());
          const std::string hn = "127.0.0.1:" + std::to_string(h.value("port", 0));
          if (auto it = fin.m.host_accepted.find(hn); it != fin.m.host_accepted.end()) e["relay_accepted"] = it->second;
          short_list.push_back(e);
        }
      } else if (got > exp) {
        ++hosts_extra;
      }
      const std::string name = "127.0.0.1:" + std::to_string(h.value("port", 0));
      if (auto it = fin.m.host_accepted.find(name); it != fin.m.host_accepted.end() &&
                                                      static_cast<std::uint64_t>(it->second) != exp)
        ++relay_host_mismatch;
    }
  } else {
    notes_.push_back("the fleet's final statistics could not be read");
  }

  // ---- totals ----
  if (!fin.m.ok && last_good_) {
    notes_.push_back("the relay answered no /metrics at the end: its numbers are from the last sample (t=" +
                     fmt(last_good_->t, 1) + " s)");
    fin.m = last_good_->m;
  }
  double accepted = std::isfinite(fin.m.accepted) ? fin.m.accepted : fin.m.log_seq;
  if (!alive_at_end || rrec.outcome != record::Outcome::pass) {
    // The relay accepted at least what a consumer received (its last metrics may predate that).
    double seen = 0;
    for (auto& c : consumers_) seen = std::max(seen, static_cast<double>(c->last_seq()));
    if (!std::isfinite(accepted) || accepted < seen) accepted = seen;
  }
  if (!std::isfinite(accepted)) {
    notes_.push_back("the relay's metrics had neither relay_events_accepted_total nor relay_log_seq: coverage is "
                     "measured against what the fleet emitted");
    accepted = static_cast<double>(expected_total);
  }
  std::uint64_t delivered = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t gaps = 0, dups = 0, order = 0, unreadable = 0, normal_too_slow = 0, normal_disconnects = 0,
                future = 0;
  json consumers = json::array();
  for (auto& c : consumers_) {
    gaps += c->gaps();
    dups += c->duplicates();
    order += c->order_violations();
    unreadable += c->unreadable();
    future += c->future_cursors();
    if (c->options().kind != ConsumerKind::slow) delivered = std::min<std::uint64_t>(delivered, c->events());
    if (c->options().kind == ConsumerKind::normal) {
      normal_too_slow += c->too_slow() ? 1 : 0;
      normal_disconnects += c->disconnects();
    }
    consumers.push_back({{"name", c->options().name},
                         {"kind", to_string(c->options().kind)},
                         {"events", c->events()},
                         {"last_seq", c->last_seq()},
                         {"gaps", c->gaps()},
                         {"duplicates", c->duplicates()},
                         {"order_violations", c->order_violations()},
                         {"unreadable", c->unreadable()},
                         {"reconnects", c->reconnects()},
                         {"disconnects", c->disconnects()},
                         {"too_slow", c->too_slow()},
                         {"outdated_cursor_infos", c->outdated_infos()},
                         {"max_lag", c->max_lag_seen()},
                         {"notes", c->notes()}});
  }
  if (consumers_.empty()) delivered = 0;
  const double coverage = accepted > 0 ? static_cast<double>(delivered) / accepted : 0;
  const double coverage_fleet = strict_expected > 0 ? static_cast<double>(strict_delivered) / strict_expected : 0;

  // ---- the emission window ----
  double window_s = NAN, in_rate = NAN, out_rate = NAN, frames_rate = NAN, cpu_s = NAN, acc_window = NAN;
  if (at_emit_start_ && at_emit_end_ && at_emit_end_->t - at_emit_start_->t >= 0.5) {
    window_s = at_emit_end_->t - at_emit_start_->t;
    in_rate = (at_emit_end_->m.received - at_emit_start_->m.received) / window_s;
    frames_rate = (at_emit_end_->m.sent - at_emit_start_->m.sent) / window_s;
    acc_window = at_emit_end_->m.accepted - at_emit_start_->m.accepted;
    if (!at_emit_end_->consumer_events.empty() && !at_emit_start_->consumer_events.empty())
      out_rate = static_cast<double>(at_emit_end_->consumer_events[0] - at_emit_start_->consumer_events[0]) / window_s;
    if (at_emit_start_->proc && at_emit_end_->proc) cpu_s = at_emit_end_->proc->cpu_s - at_emit_start_->proc->cpu_s;
  }
  HistogramSnapshot lat = latency_.snapshot();

  // ---- invariants ----
  const bool relay_ok = rrec.outcome == record::Outcome::pass;
  if (!relay_ok)
    violations_.push_back("relay " + std::string(record::to_string(rrec.outcome)) + ": " + rrec.summary);
  if (!alive_at_end) violations_.push_back("the relay process ended before the run did");
  if (consumers_.empty()) violations_.push_back("no consumer ran (the relay never became healthy)");
  if (gaps) violations_.push_back(std::to_string(gaps) + " events missing in seq gaps");
  if (dups) violations_.push_back(std::to_string(dups) + " duplicate seqs delivered");
  if (order) violations_.push_back(std::to_string(order) + " per-host order violations (duplicated or reordered upstream events)");
  if (unreadable) violations_.push_back(std::to_string(unreadable) + " frames the consumers could not read");
  if (!consumers_.empty() && accepted > 0 && static_cast<double>(delivered) != accepted)
    violations_.push_back("coverage " + fmt(coverage * 100, 3) + "%: a consumer got " + fmt_num(static_cast<double>(delivered)) +
                          " of " + fmt_num(accepted) + " accepted events");
  if (!consumers_.empty() && accepted <= 0) violations_.push_back("the relay accepted nothing");
  if (fleet_stats && hosts_short)
    violations_.push_back(std::to_string(hosts_short) + " hosts short of what the fleet emitted (first: host " +
                          std::to_string(short_list[0].value("host", 0)) + ")");
  if (fleet_stats && reset_hosts == 0 && std::isfinite(accepted) && static_cast<std::uint64_t>(accepted) != expected_total)
    violations_.push_back("the relay accepted " + fmt_num(accepted) + " events, the fleet emitted " +
                          fmt_num(static_cast<double>(expected_total)) + " it should accept");
  if (!o_.find_max_rate && normal_too_slow)
    violations_.push_back(std::to_string(normal_too_slow) + " normal consumers got ConsumerTooSlow");
  if (normal_disconnects) violations_.push_back(std::to_string(normal_disconnects) + " normal-consumer streams broke");
  if (future) violations_.push_back(std::to_string(future) + " FutureCursor errors for valid cursors");
  bool slow_exercised = slow_ && slow_->exercised();
  if (slow_ && slow_exercised && !slow_->too_slow())
    violations_.push_back("the slow consumer fell " + fmt_num(static_cast<double>(slow_->max_lag_seen())) +
                          " events behind (the relay reported " + fmt_num(slow_->max_relay_lag_seen()) +
                          " > its buffer of " + std::to_string(o_.consumer_buffer) + ") and never got ConsumerTooSlow");
  if (reconnect_ && reconnect_->gaps()) violations_.push_back("the reconnecting consumer saw gaps across reconnects");
  if (fleet_stats && fleet_totals.value("live_skips", 0) > 0)
    notes_.push_back(std::to_string(fleet_totals.value("live_skips", 0)) +
                     " relay reconnects without a cursor skipped events no connection had carried (counted in "
                     "`lost`, excluded from `expected`)");
  if (fleet_stats && fleet_totals.value("outdated_cursors", 0) > 0)
    notes_.push_back(std::to_string(fleet_totals.value("outdated_cursors", 0)) +
                     " relay reconnects asked for a cursor older than a host's ring (" + std::to_string(lost) +
                     " events could not be replayed; excluded from `expected`)");
  if (relay_host_mismatch)
    notes_.push_back(std::to_string(relay_host_mismatch) +
                     " hosts where relay_host_events_accepted_total differs from the fleet's expected count");
  if (o_.find_max_rate && max_rate_ok_ <= 0) violations_.push_back("no rate step held");
  const bool ok = violations_.empty();

  // ---- summary ----
  summary["hosts"] = o_.hosts;
  summary["backend"] = backend_;
  summary["inject"] = o_.inject;
  summary["consumers"] = consumers_.size();
  summary["rate_target"] = o_.rate;
  summary["duration_s"] = num_or_null(window_s);
  summary["events_emitted"] = emitted;
  summary["events_valid_emitted"] = valid;
  summary["events_invalid_emitted"] = invalid_sent;
  summary["events_expected"] = expected_total;
  summary["events_received"] = num_or_null(fin.m.received);
  summary["events_accepted"] = num_or_null(accepted);
  summary["events_delivered"] = delivered;
  summary["coverage"] = coverage;
  summary["coverage_per_host"] = coverage_fleet;
  summary["hosts_short"] = hosts_short;
  summary["hosts_over"] = hosts_extra;
  summary["hosts_short_first"] = short_list;
  summary["hosts_reset"] = reset_hosts;
  summary["events_lost_by_fleet_ring"] = lost;
  summary["events_regressed_after_reset"] = regressed;
  summary["gaps"] = gaps;
  summary["duplicates"] = dups;
  summary["order_violations"] = order;
  summary["relay_threads_max"] = max_threads_;
  summary["relay_fibers_max"] = max_fibers_;
  summary["relay_rss_max_bytes"] = max_rss_;
  summary["relay_cpu_s"] = num_or_null(cpu_s);
  summary["relay_cpu_us_per_event"] = num_or_null(std::isfinite(cpu_s) && acc_window > 0 ? cpu_s / acc_window * 1e6 : NAN);
  summary["relay_cpu_pct_max"] = max_cpu_pct_;
  summary["relay_cpu_total_s"] = rrec.details.value("user_s", 0.0) + rrec.details.value("system_s", 0.0);
  summary["relay_max_rss_kib_rusage"] = rrec.details.value("max_rss_kib", 0);
  summary["events_per_s_in"] = num_or_null(in_rate);
  summary["events_per_s_out"] = num_or_null(out_rate);
  summary["relay_frames_sent_per_s"] = num_or_null(frames_rate);
  summary["latency_p50_ms"] = static_cast<double>(lat.percentile(50)) / 1000.0;
  summary["latency_p99_ms"] = static_cast<double>(lat.percentile(99)) / 1000.0;
  summary["latency_max_ms"] = static_cast<double>(lat.max()) / 1000.0;
  summary["latency_samples"] = lat.count();
  summary["broadcast_queue_high_water_max"] = max_bq_;
  summary["invalid_by_reason"] = as_object(fin.m.invalid_by_reason);
  summary["dropped_by_reason"] = as_object(fin.m.dropped_by_reason);
  summary["upstream_reconnects"] = num_or_null(fin.m.reconnects);
  summary["hosts_by_status"] = as_object(fin.m.hosts_by_status);
  summary["hosts_connected_at_start"] = hosts_all_connected_;
  summary["startup_connect_s"] = num_or_null(connect_s_);
  summary["relay_shutdown_s"] = alive_at_end ? json(shutdown_s) : json(nullptr);
  summary["slow_consumer"] = slow_ ? json{{"exercised", slow_exercised},
                                          {"got_consumer_too_slow", slow_->too_slow()},
                                          {"max_lag", slow_->max_lag_seen()},
                                          {"max_relay_lag", slow_->max_relay_lag_seen()},
                                          {"relay_buffer", o_.consumer_buffer},
                                          {"threshold", o_.slow_threshold}}
                                   : json(nullptr);
  summary["reconnect_consumer"] = reconnect_ ? json{{"reconnects", reconnect_->reconnects()},
                                                    {"gaps", reconnect_->gaps()},
                                                    {"events", reconnect_->events()}}
                                             : json(nullptr);
  summary["consumer_details"] = consumers;
  {
    json fp = {{"rss_max_bytes", fleet_rss_max_}, {"threads_max", fleet_threads_max_}};
    json sp = json::object();
    if (at_emit_start_ && at_emit_end_ && std::isfinite(window_s) && window_s > 0) {
      if (at_emit_start_->fleet_proc && at_emit_end_->fleet_proc)
        fp["cpu_pct"] = (at_emit_end_->fleet_proc->cpu_s - at_emit_start_->fleet_proc->cpu_s) / window_s * 100;
      if (at_emit_start_->self_proc && at_emit_end_->self_proc)
        sp["cpu_pct"] = (at_emit_end_->self_proc->cpu_s - at_emit_start_->self_proc->cpu_s) / window_s * 100;
      if (at_emit_end_->self_proc) sp["rss_bytes"] = at_emit_end_->self_proc->rss_bytes;
    }
    summary["fleet_process"] = fp;
    summary["stress_process"] = sp;
  }
  summary["fleet"] = fleet_totals;
  summary["relay_exit"] = {{"outcome", record::to_string(rrec.outcome)},
                           {"summary", rrec.summary},
                           {"exit_code", rrec.exit_code ? json(*rrec.exit_code) : json(nullptr)},
                           {"crash", rrec.crash},
                           {"artifacts", rrec.artifacts}};
  if (!relay_ok) summary["crash_classification"] = record::to_string(rrec.outcome);
  // The harness timed the relay to its exit (polled every 10 ms): a sharper
  // time of death than the 1 s sampler tick that noticed it.
  if (!alive_at_end && rrec.duration_s > 0) {
    for (auto& f : failures_)
      if (f.value("kind", "") == "relay-exit") {
        const double died = relay_.started_at() + rrec.duration_s;
        f["t_s"] = died - t_relay_start_;
        f["after_emission_s"] = t_emit_start_ >= 0 ? json(died - t_emit_start_) : json(nullptr);
      }
  }
  summary["failures"] = failures_;
  if (!failures_.empty()) {
    const json* first = &failures_[0];
    for (const auto& f : failures_)
      if (f.value("t_s", 1e18) < first->value("t_s", 1e18)) first = &f;
    summary["first_failure"] = *first;
  }
  if (o_.find_max_rate) {
    summary["max_sustained_rate"] = max_rate_ok_;
    summary["rate_steps"] = steps_;
    if (!max_rate_note_.empty()) summary["max_rate_note"] = max_rate_note_;
  }
  summary["violations"] = violations_;
  summary["notes"] = notes_;
  summary["invariants_ok"] = ok;
  summary["run_id"] = run_id_;
  summary["out_dir"] = dir_.string();
  summary["timeseries"] = (dir_ / "timeseries.jsonl").string();
  summary["samples"] = points_.size();
  summary["wall_s"] = mono_s() - t_relay_start_;

  // ---- the result record ----
  record::ResultRecord rec;
  rec.run_id = run_id_;
  rec.timestamp = record::now_iso8601();
  rec.scenario = "stress/" + backend_;
  rec.variant = o_.inject.empty() ? "none" : "inject:" + o_.inject;
  rec.build = harness::infer_build(self_exe());
  if (rec.build.type.empty()) rec.build = record::this_build();
  rec.environment = environment_;
  rec.duration_s = mono_s() - t_relay_start_;
  if (!relay_ok && rrec.outcome != record::Outcome::exit_failure) {
    rec.outcome = rrec.outcome;
    rec.crash = rrec.crash;
    rec.hang = rrec.hang;
    rec.sanitizer = rrec.sanitizer;
    rec.artifacts = rrec.artifacts;
    rec.summary = "relay " + std::string(record::to_string(rrec.outcome)) + ": " + rrec.summary;
  } else {
    rec.outcome = ok ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = ok ? "stress " + backend_ + ": " + std::to_string(o_.hosts) + " hosts, " + fmt_num(accepted) +
                           " events, coverage 100%, p99 " + fmt(summary["latency_p99_ms"].get<double>()) + " ms"
                     : "stress " + backend_ + ": " + violations_.front();
    if (!relay_ok) rec.artifacts = rrec.artifacts;
  }
  rec.details = summary;
  {
    json argv = json::array();
    const std::string cmd = slurp("/proc/self/cmdline");
    for (std::size_t pos = 0; pos < cmd.size();) {
      std::size_t z = cmd.find('\0', pos);
      argv.push_back(cmd.substr(pos, (z == std::string::npos ? cmd.size() : z) - pos));
      pos = z == std::string::npos ? cmd.size() : z + 1;
    }
    rec.details["command"] = argv;
  }
  rec.details["relay_command"] = relay_cmd_;
  rec.details["relay_record"] = {{"run_id", rrec.run_id},
                                 {"outcome", record::to_string(rrec.outcome)},
                                 {"summary", rrec.summary},
                                 {"details", rrec.details}};
  if (summary.contains("first_failure")) {
    rec.details["time_to_failure_s"] = summary["first_failure"]["after_emission_s"];
    rec.details["events_to_failure"] = summary["first_failure"]["events_accepted"];
  }
  {
    std::ofstream runs(dir_ / "runs.jsonl", std::ios::app);
    runs << record::to_json_line(rec) << "\n";
  }
  {
    std::ofstream sj(dir_ / ("summary-" + series_ + ".json"));
    sj << summary.dump(2) << "\n";
  }
  if (!o_.keep_data) {
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
  }
  return summary;
}

// ---- text output ----

void print_summary(const json& s) {
  auto d = [&](const char* k) { return s.contains(k) && s[k].is_number() ? s[k].get<double>() : NAN; };
  std::printf("stress %s%s · %s hosts · %s s · %s consumers\n", s.value("backend", "").c_str(),
              s.value("inject", "").empty() ? "" : (" --inject " + s.value("inject", "")).c_str(),
              fmt_num(d("hosts")).c_str(), fmt(d("duration_s"), 1).c_str(), fmt_num(d("consumers")).c_str());
  if (s.contains("error")) {
    std::printf("  error: %s\n", s.value("error", "").c_str());
    return;
  }
  std::printf("  relay      threads max %s, fibers max %s, RSS max %s, CPU %s s (%s µs/event, peak %s%%)\n",
              fmt_num(d("relay_threads_max")).c_str(), fmt_num(d("relay_fibers_max")).c_str(),
              fmt_bytes(d("relay_rss_max_bytes")).c_str(), fmt(d("relay_cpu_s"), 2).c_str(),
              fmt(d("relay_cpu_us_per_event"), 1).c_str(), fmt_num(d("relay_cpu_pct_max")).c_str());
  if (s.contains("fleet_process") && s.contains("stress_process"))
    std::printf("  others     fleet RSS max %s, threads %s, CPU %s%%; consumers (this process) CPU %s%%\n",
                fmt_bytes(s["fleet_process"].value("rss_max_bytes", 0.0)).c_str(),
                fmt_num(s["fleet_process"].value("threads_max", 0.0)).c_str(),
                fmt_num(s["fleet_process"].value("cpu_pct", NAN)).c_str(),
                fmt_num(s["stress_process"].value("cpu_pct", NAN)).c_str());
  std::printf("  events     emitted %s, accepted %s, delivered %s — coverage %s%%, per host %s%% (%s hosts short)\n",
              fmt_num(d("events_emitted")).c_str(), fmt_num(d("events_accepted")).c_str(),
              fmt_num(d("events_delivered")).c_str(), fmt(d("coverage") * 100, 3).c_str(),
              fmt(d("coverage_per_host") * 100, 3).c_str(), fmt_num(d("hosts_short")).c_str());
  std::printf("  throughput in %s/s, out %s/s per consumer (%s frames/s to all consumers)\n",
              fmt_num(d("events_per_s_in")).c_str(), fmt_num(d("events_per_s_out")).c_str(),
              fmt_num(d("relay_frames_sent_per_s")).c_str());
  std::printf("  latency    p50 %s ms, p99 %s ms, max %s ms (%s samples)\n", fmt(d("latency_p50_ms"), 2).c_str(),
              fmt(d("latency_p99_ms"), 2).c_str(), fmt(d("latency_max_ms"), 1).c_str(),
              fmt_num(d("latency_samples")).c_str());
  std::printf("  seq        gaps %s, duplicates %s, per-host order violations %s\n", fmt_num(d("gaps")).c_str(),
              fmt_num(d("duplicates")).c_str(), fmt_num(d("order_violations")).c_str());
  if (s["slow_consumer"].is_object()) {
    const auto& sc = s["slow_consumer"];
    std::printf("  slow       %s (fell %s events behind)\n",
                sc.value("got_consumer_too_slow", false) ? "got ConsumerTooSlow"
                : sc.value("exercised", false)           ? "NO ConsumerTooSlow"
                                                         : "not exercised (too few events)",
                fmt_num(sc.value("max_lag", 0.0)).c_str());
  }
  if (s["reconnect_consumer"].is_object())
    std::printf("  reconnect  %s reconnects with a cursor, %s gaps\n",
                fmt_num(s["reconnect_consumer"].value("reconnects", 0.0)).c_str(),
                fmt_num(s["reconnect_consumer"].value("gaps", 0.0)).c_str());
  std::printf("  relay exit %s — %s\n", s["relay_exit"].value("outcome", "").c_str(),
              s["relay_exit"].value("summary", "").c_str());
  if (s.contains("first_failure")) {
    const auto& f = s["first_failure"];
    std::printf("  first failure: %s (%s) %s s after emission started, %s events accepted\n", f.value("kind", "").c_str(),
                f.value("what", "").c_str(),
                f["after_emission_s"].is_number() ? fmt(f["after_emission_s"].get<double>(), 1).c_str() : "n/a",
                f["events_accepted"].is_number() ? fmt_num(f["events_accepted"].get<double>()).c_str() : "n/a");
  }
  if (s.contains("max_sustained_rate")) {
    std::printf("  rate steps:\n");
    for (const auto& st : s["rate_steps"])
      std::printf("    %8s/s  emitted %8s/s  in %8s/s  out %8s/s  p99 %7.1f ms  %s\n",
                  fmt_num(st.value("rate", 0.0)).c_str(), fmt_num(st.value("emitted_per_s", 0.0)).c_str(),
                  fmt_num(st.value("in_per_s", 0.0)).c_str(),
                  fmt_num(st["out_per_s"].is_number() ? st["out_per_s"].get<double>() : NAN).c_str(),
                  st.value("latency_p99_ms", 0.0),
                  st.value("held", false) ? "held" : st.value("why", "").c_str());
    std::printf("  max sustained rate: %s events/s%s\n", fmt_num(d("max_sustained_rate")).c_str(),
                s.contains("max_rate_note") ? (" (" + s.value("max_rate_note", "") + ")").c_str() : "");
  }
  for (const auto& n : s["notes"]) std::printf("  note: %s\n", n.get<std::string>().c_str());
  if (s.value("invariants_ok", false)) {
    std::printf("  invariants OK\n");
  } else {
    std::printf("  INVARIANTS BROKEN:\n");
    for (const auto& v : s["violations"]) std::printf("    - %s\n", v.get<std::string>().c_str());
  }
  std::printf("  results    %s\n", s.value("out_dir", "").c_str());
}

}  // namespace

void apply_ci_profile(StressOptions& o) {
  o.hosts = 2800;
  o.rate = 2000;
  o.duration_s = 20;
  o.startup_timeout_s = 60;
  o.drain_timeout_s = 20;
  o.reconnect_every_s = 4;
}

json compare_summaries(const json& ev, const json& th) {
  auto d = [](const json& s, const char* k) { return s.contains(k) && s[k].is_number() ? s[k].get<double>() : NAN; };
  auto ratio = [&](const char* k) {
    double a = d(th, k), b = d(ev, k);
    return std::isfinite(a) && std::isfinite(b) && b != 0 ? json(a / b) : json(nullptr);
  };
  json r;
  for (const char* k : {"relay_threads_max", "relay_rss_max_bytes", "relay_cpu_us_per_event", "relay_cpu_s",
                        "latency_p50_ms", "latency_p99_ms", "relay_fibers_max"})
    r[k] = ratio(k);
  return {{"evented", ev}, {"threaded", th}, {"threaded_over_evented", r}};
}

int run_stress(StressOptions o) {
  if (o.hosts == 0 || o.hosts > 99'999) {
    std::fprintf(stderr, "faultline stress: --hosts must be 1..99999\n");
    return 2;
  }
  if (o.rate <= 0 || o.duration_s <= 0) {
    std::fprintf(stderr, "faultline stress: --rate and --duration must be positive\n");
    return 2;
  }
  auto backend_ok = [](const std::string& b) { return b == "evented" || b == "threaded"; };
  if (!backend_ok(o.backend)) {
    std::fprintf(stderr, "faultline stress: --backend must be evented or threaded\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  // The relay under test must exist in this build.
  const std::string exe = o.relay_exe.empty() ? self_exe() : o.relay_exe;
  {
    auto probe = harness::run_capture({exe, "relay", "--help"}, 20);
    if (!probe.started || probe.exit_code != 0) {
      std::fprintf(stderr,
                   "faultline stress: skipped: `%s relay --help` failed (exit %d): this build has no relay yet\n",
                   exe.c_str(), probe.exit_code);
      return 77;
    }
  }
  const bool any_threaded = o.compare || o.backend == "threaded";
  LimitCheck lim = check_limits(o.hosts, o.consumers, any_threaded);
  for (const auto& n : lim.notes)
    if (o.progress) std::fprintf(stderr, "faultline stress: %s\n", n.c_str());
  if (!lim.ok) {
    for (const auto& p : lim.problems) std::fprintf(stderr, "faultline stress: cannot run here: %s\n", p.c_str());
    return 77;
  }
  const std::string run_id = "stress-" + record::new_run_id();
  fs::path dir = o.out.empty() ? source_root() / "results" / run_id : fs::path(o.out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "faultline stress: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 2;
  }
  // Probe rr too, so the records say whether it could have recorded here.
  harness::RrProbe rr = harness::probe_rr();
  json environment = harness::collect_environment(&rr);
  environment["limits"] = lim.facts;

  io::Options io_opts;
  io_opts.backend = io::Backend::evented;
  io_opts.scheduler_threads = o.scheduler_threads;
  io_opts.bridge_workers = 2;
  auto io = io::Io::create(io_opts);

  std::vector<std::string> backends = o.compare ? std::vector<std::string>{"evented", "threaded"}
                                                : std::vector<std::string>{o.backend};
  std::vector<json> summaries;
  for (const auto& b : backends) {
    if (o.progress)
      std::fprintf(stderr, "faultline stress: %s backend, %u hosts, %.0f events/s, %.0f s%s → %s\n", b.c_str(),
                   o.hosts, o.rate, o.duration_s, o.find_max_rate ? " (finding the max rate)" : "", dir.c_str());
    Trial t(o, *io, b, dir, run_id + "-" + b, environment);
    summaries.push_back(t.run());
  }
  bool ok = true;
  for (const auto& s : summaries) ok = ok && s.value("invariants_ok", false);
  json out;
  if (o.compare) {
    out = compare_summaries(summaries[0], summaries[1]);
    std::ofstream(dir / "compare.json") << out.dump(2) << "\n";
  } else {
    out = summaries[0];
  }
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    for (const auto& s : summaries) print_summary(s);
    if (o.compare) {
      const json& r = out["threaded_over_evented"];
      auto row = [&](const char* label, const char* key, auto f) {
        double a = summaries[0].contains(key) && summaries[0][key].is_number() ? summaries[0][key].get<double>() : NAN;
        double b = summaries[1].contains(key) && summaries[1][key].is_number() ? summaries[1][key].get<double>() : NAN;
        std::printf("  %-22s %16s %16s %10s\n", label, f(a).c_str(), f(b).c_str(),
                    r[key].is_number() ? (fmt(r[key].get<double>(), 2) + "×").c_str() : "n/a");
      };
      std::printf("\nside by side (%u hosts)       evented         threaded   threaded/evented\n", o.hosts);
      row("relay threads (max)", "relay_threads_max", [](double v) { return fmt_num(v); });
      row("relay RSS (max)", "relay_rss_max_bytes", [](double v) { return fmt_bytes(v); });
      row("relay CPU per event", "relay_cpu_us_per_event", [](double v) { return fmt(v, 1) + " µs"; });
      row("relay CPU", "relay_cpu_s", [](double v) { return fmt(v, 2) + " s"; });
      row("latency p50", "latency_p50_ms", [](double v) { return fmt(v, 2) + " ms"; });
      row("latency p99", "latency_p99_ms", [](double v) { return fmt(v, 2) + " ms"; });
    }
  }
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace faultline::stress
