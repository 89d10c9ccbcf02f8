// The relay under test as its own process, run through the harness's child
// runner (harness/run/child.h: crash library preloaded, own process group,
// stdout/stderr captured, classification into a ResultRecord), so a crash is
// classified and recorded and does not take the suite down.
//
// run_attempt() blocks until the child ends, so it runs on a thread of its
// own here; the relay's pid is found as our child whose argv has "relay"
// (run_attempt does not expose it — see stress/README.md, "What the harness
// could add"). Stopping is SIGTERM (the relay's clean shutdown, exit 0);
// ChildOptions::timeout_s is the whole run's budget, after which the harness
// collects every thread's stack and classifies a hang.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/record/result_record.h"

namespace faultline::stress {

struct RelayLaunch {
  std::vector<std::string> command;  // faultline relay ... (argv)
  double timeout_s = 600;
  std::filesystem::path attempt_dir;
  bool keep_logs = true;
};

// The argv of `faultline relay` for the contract in stress/README.md.
std::vector<std::string> relay_command(const std::string& faultline_exe, const std::string& bootstrap_url,
                                       std::uint16_t port, std::uint16_t metrics_port, const std::string& data_dir,
                                       const std::string& backend, const std::string& inject,
                                       const std::string& fsync, const std::vector<std::string>& extra);

class RelayProcess {
 public:
  RelayProcess() = default;
  ~RelayProcess();
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  // `pre` arrives pre-filled (run_id, scenario, variant, build, environment).
  void start(const RelayLaunch& launch, record::ResultRecord pre);
  // The relay's pid, waiting up to `wait_s` for it to appear; -1 if it did
  // not (or it already ended).
  pid_t pid(double wait_s = 5);
  bool finished() const { return finished_.load(); }
  // SIGTERM (clean shutdown).
  void terminate();
  // Waits until the attempt is classified; false on timeout.
  bool wait(double timeout_s);
  // Valid once finished().
  const record::ResultRecord& record() const { return rec_; }
  double started_at() const { return started_at_; }

 private:
  std::thread thread_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> interrupt_{false};
  record::ResultRecord rec_;
  pid_t pid_ = -1;
  double started_at_ = 0;
};

}  // namespace faultline::stress
