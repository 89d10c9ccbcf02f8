#include "cli/selftest.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace faultline::cli {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Threads of this process right now (from /proc/self/status).
int process_threads() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "Threads:") {
      int n = 0;
      in >> n;
      return n;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

struct Check {
  const char* name;
  bool ok;
  std::string detail;
};

Check check_tasks(io::Io& io, unsigned n) {
  std::atomic<unsigned> ran{0};
  std::atomic<int> peak_threads{0};
  auto t0 = Clock::now();
  std::vector<io::TaskHandle> hs;
  hs.reserve(n);
  auto hold = io.make_event("selftest.hold");
  for (unsigned i = 0; i < n; ++i)
    hs.push_back(io.spawn([&] {
      if (++ran == n) {
        peak_threads = process_threads();
        hold->set();
      }
      hold->wait();  // every task alive at once
    }));
  for (auto& h : hs) h.join();
  char buf[160];
  std::snprintf(buf, sizeof buf, "%u tasks alive at once, spawned+joined in %.1f ms, %d threads in the process", n,
                ms_since(t0), peak_threads.load());
  return {"tasks", ran == n, buf};
}

Check check_primitives(io::Io& io) {
  auto m = io.make_mutex("selftest.mutex");
  auto ch = io.make_channel<int>(8, "selftest.channel");
  auto sem = io.make_semaphore(2, "selftest.sem");
  long counter = 0;
  std::atomic<long> received{0};
  std::vector<io::TaskHandle> hs;
  for (int p = 0; p < 4; ++p)
    hs.push_back(io.spawn([&] {
      for (int i = 1; i <= 250; ++i) {
        sem->acquire();
        {
          io::LockGuard g(*m);
          ++counter;
        }
        sem->release();
        ch->send(i);
      }
    }));
  auto consumer = io.spawn([&] {
    while (auto v = ch->recv()) received += *v;
  });
  for (auto& h : hs) h.join();
  io.block_on([&] { ch->close(); });
  consumer.join();
  bool ok = counter == 1000 && received == 4L * 250 * 251 / 2;
  char buf[160];
  std::snprintf(buf, sizeof buf, "mutex counted %ld/1000, channel delivered sum %ld/%ld, semaphore(2) held", counter,
                received.load(), 4L * 250 * 251 / 2);
  return {"primitives", ok, buf};
}

Check check_echo(io::Io& io, const io::Endpoint& where) {
  auto listener = io.listen(where);
  if (!listener) return {"echo", false, "listen " + where.to_string() + ": " + listener.message()};
  auto at = listener.value.local_endpoint();
  std::string payload(256 * 1024, 'x');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131);
  auto t0 = Clock::now();
  auto server = io.spawn([&] {
    auto c = io.accept(listener.value, 5s);
    if (!c) return;
    std::vector<std::byte> buf(32 * 1024);
    for (;;) {
      auto r = io.recv(c.value, buf, 5s);
      if (!r || r.value == 0) break;
      if (!io.send_all(c.value, std::span(buf.data(), r.value), 5s)) break;
    }
    io.shutdown(c.value, SHUT_WR);
  });
  std::string echoed;
  std::string error;
  io.block_on([&] {
    auto c = io.connect(at, 5s);
    if (!c) {
      error = "connect: " + c.message();
      return;
    }
    auto writer = io.spawn([&] {
      if (io.send_all(c.value, payload, 5s)) io.shutdown(c.value, SHUT_WR);
    });
    std::vector<std::byte> buf(32 * 1024);
    for (;;) {
      auto r = io.recv(c.value, buf, 5s);
      if (!r) {
        error = "recv: " + r.message();
        break;
      }
      if (r.value == 0) break;
      echoed.append(reinterpret_cast<const char*>(buf.data()), r.value);
    }
    writer.join();
  });
  server.join();
  bool ok = error.empty() && echoed == payload;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%zu KiB echoed both ways over %s in %.1f ms%s%s", payload.size() / 1024,
                at.to_string().c_str(), ms_since(t0), error.empty() ? "" : "; ", error.c_str());
  return {"echo", ok, buf};
}

Check check_bridge(io::Io& io) {
  auto t0 = Clock::now();
  std::atomic<long> sum{0};
  std::vector<io::TaskHandle> hs;
  for (int t = 0; t < 16; ++t)
    hs.push_back(io.spawn([&, t] {
      for (int j = 0; j < 4; ++j)
        sum += io.offload([&] {
          std::this_thread::sleep_for(2ms);  // blocking work
          return t + j;
        });
    }));
  for (auto& h : hs) h.join();
  long expect = 0;
  for (int t = 0; t < 16; ++t)
    for (int j = 0; j < 4; ++j) expect += t + j;
  char buf[160];
  std::snprintf(buf, sizeof buf, "64 blocking jobs (2 ms each) through the bridge in %.1f ms", ms_since(t0));
  return {"bridge", sum == expect, buf};
}

}  // namespace

bool run_selftest(const SelftestOptions& o) {
  io::Options opts;
  opts.backend = o.backend;
  if (o.reactor == "uring") opts.reactor = io::ReactorKind::uring;
  if (o.reactor == "epoll") opts.reactor = io::ReactorKind::epoll;
  std::unique_ptr<io::Io> io;
  try {
    io = io::Io::create(opts);
  } catch (const std::exception& e) {
    std::printf("  %-18s FAIL  cannot start: %s\n", std::string(io::to_string(o.backend)).c_str(), e.what());
    return false;
  }
  std::string label(io::to_string(o.backend));
  if (o.backend == io::Backend::evented) label += "/" + std::string(io::to_string(io->reactor()));
  unsigned tasks = o.tasks ? o.tasks : (o.backend == io::Backend::evented ? 10000u : 1000u);
  std::printf("  %s backend%s\n", label.c_str(),
              o.backend == io::Backend::evented
                  ? (" (" + std::to_string(io->scheduler_threads()) + " scheduler threads)").c_str()
                  : " (one OS thread per task)");
  std::vector<Check> checks;
  checks.push_back(check_tasks(*io, tasks));
  checks.push_back(check_primitives(*io));
  checks.push_back(check_echo(*io, io::Endpoint::loopback_v4(0)));
  checks.push_back(check_echo(*io, io::Endpoint::loopback_v6(0)));
  checks.push_back(check_bridge(*io));
  bool all = true;
  for (const auto& c : checks) {
    std::printf("    %-11s %s  %s\n", c.name, c.ok ? "ok  " : "FAIL", c.detail.c_str());
    all &= c.ok;
  }
  std::fflush(stdout);
  return all;
}

void add_selftest_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("selftest", "Exercise one io backend end to end (tasks, primitives, TCP, bridge)");
  auto opts = std::make_shared<SelftestOptions>();
  auto backend = std::make_shared<std::string>("evented");
  cmd->add_option("--backend", *backend, "threaded | evented | both")
      ->check(CLI::IsMember({"threaded", "evented", "both"}))
      ->capture_default_str();
  cmd->add_option("--reactor", opts->reactor, "Evented reactor: auto | uring | epoll")
      ->check(CLI::IsMember({"auto", "uring", "epoll"}))
      ->capture_default_str();
  cmd->add_option("--tasks", opts->tasks, "tasks alive at once (default: 10000 fibers or 1000 threads)");
  cmd->callback([opts, backend] {
    bool ok = true;
    if (*backend == "threaded" || *backend == "both") {
      opts->backend = io::Backend::threaded;
      ok &= run_selftest(*opts);
    }
    if (*backend == "evented" || *backend == "both") {
      opts->backend = io::Backend::evented;
      ok &= run_selftest(*opts);
    }
    if (!ok) throw CLI::RuntimeError(1);
  });
}

}  // namespace faultline::cli
