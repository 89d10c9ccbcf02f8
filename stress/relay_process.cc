#include "stress/relay_process.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "harness/run/child.h"
#include "harness/run/process.h"
#include "stress/procfs.h"

namespace faultline::stress {

std::vector<std::string> relay_command(const std::string& faultline_exe, const std::string& bootstrap_url,
                                       std::uint16_t port, std::uint16_t metrics_port, const std::string& data_dir,
                                       const std::string& backend, const std::string& inject,
                                       const std::string& fsync, const std::vector<std::string>& extra) {
  std::vector<std::string> c = {faultline_exe,   "relay",          "--bootstrap", bootstrap_url,
                                "--port",        std::to_string(port), "--metrics-port", std::to_string(metrics_port),
                                "--data-dir",    data_dir,         "--backend",   backend,
                                "--rate-limit",  "0",              "--quiet"};
  if (!inject.empty()) c.insert(c.end(), {"--inject", inject});
  if (!fsync.empty()) c.insert(c.end(), {"--fsync", fsync});
  c.insert(c.end(), extra.begin(), extra.end());
  return c;
}

RelayProcess::~RelayProcess() {
  if (thread_.joinable()) {
    if (!finished_) {
      interrupt_ = true;  // run_attempt kills the group and records `error`
    }
    thread_.join();
  }
}

void RelayProcess::start(const RelayLaunch& launch, record::ResultRecord pre) {
  rec_ = std::move(pre);
  started_at_ = harness::now_s();
  harness::ChildOptions opt;
  opt.command = launch.command;
  opt.timeout_s = launch.timeout_s;
  opt.crash_lib = harness::default_crash_lib();
  opt.keep_passing = launch.keep_logs;
  opt.hang_stacks = true;
  opt.gdb_timeout_s = 60;
  const auto dir = launch.attempt_dir;
  thread_ = std::thread([this, opt, dir] {
    try {
      harness::run_attempt(opt, dir, rec_, &interrupt_);
    } catch (const std::exception& e) {
      rec_.outcome = record::Outcome::error;
      rec_.summary = std::string("harness: ") + e.what();
    }
    finished_ = true;
  });
}

pid_t RelayProcess::pid(double wait_s) {
  if (pid_ > 0) return pid_;
  const double until = harness::now_s() + wait_s;
  const std::string self_cmd = slurp("/proc/self/cmdline");
  for (int i = 0; i < 100'000 && !finished_; ++i) {
    // Our child with a "relay" argument whose argv is not ours (between fork
    // and exec the child still shows our own).
    for (pid_t kid : find_children(::getpid(), "relay")) {
      std::string cmd = slurp("/proc/" + std::to_string(kid) + "/cmdline");
      if (!cmd.empty() && cmd != self_cmd) return pid_ = kid;
    }
    if (harness::now_s() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void RelayProcess::terminate() {
  if (pid_ > 0 && !finished_) ::kill(pid_, SIGTERM);
}

bool RelayProcess::wait(double timeout_s) {
  const double until = harness::now_s() + timeout_s;
  for (int i = 0; i < 10'000'000 && !finished_; ++i) {
    if (harness::now_s() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

}  // namespace faultline::stress
