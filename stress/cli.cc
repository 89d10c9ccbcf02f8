// `faultline stress` (see stress/README.md).
#include "stress/cli.h"

#include <CLI/CLI.hpp>

#include <memory>

#include "stress/fleet.h"
#include "stress/stress.h"

namespace faultline::stress {

void add_commands(CLI::App& app) {
  auto o = std::make_shared<StressOptions>();
  auto* cmd = app.add_subcommand(
      "stress", "Run ~2,800 fake upstream hosts against the relay with verifying consumers; sample it every second");
  cmd->add_option("--hosts", o->hosts, "Fake upstream hosts (default 2800)")->check(CLI::Range(1u, 99'999u));
  cmd->add_option("--rate", o->rate, "Events/s over all hosts, Zipf-skewed (default 2000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--consumers", o->consumers,
                  "Consumers (default 8): K-2 normal, 1 deliberately slow, 1 reconnecting with a cursor")
      ->check(CLI::Range(1u, 256u));
  cmd->add_option("--duration", o->duration_s, "Seconds of emission (default 30; hours for a soak)")
      ->check(CLI::PositiveNumber);
  auto* ci = cmd->add_flag("--ci", o->ci, "The short CI profile: 2,800 hosts, 2,000 events/s for 20 s");
  cmd->add_option("--backend", o->backend, "Relay backend: evented (default) or threaded")
      ->check(CLI::IsMember({"evented", "threaded"}));
  cmd->add_option("--inject", o->inject,
                  "Passed to `faultline relay --inject` (ws-split-bug, crossio-mutex, blocking-in-fiber, spin-wait, "
                  "consumer-uaf)");
  cmd->add_flag("--json", o->json, "One summary object on stdout");
  cmd->add_option("--out", o->out, "Results directory (default <root>/results/stress-<run id>)");
  cmd->add_flag("--compare", o->compare, "Run both backends and print threads, RSS and CPU per event side by side");
  cmd->add_flag("--find-max-rate", o->find_max_rate,
                "Step the rate up (×1.5, then bisect) until p99 > --max-p99-ms or not every event is delivered");
  cmd->add_option("--max-p99-ms", o->max_p99_ms, "--find-max-rate: latency bound (default 100)");
  cmd->add_option("--step", o->step_s, "--find-max-rate: measured seconds per step (default 8)");
  cmd->add_option("--fsync", o->fsync, "Passed to the relay: never, interval or every-batch")
      ->check(CLI::IsMember({"never", "interval", "every-batch"}));
  cmd->add_option("--seed", o->seed, "Seed of the fleet's rates and events (default 1)");
  cmd->add_option("--zipf", o->zipf, "Skew of the per-host rates (default 1.0)");
  cmd->add_option("--accounts", o->accounts, "Accounts over all hosts (default 20000)");
  cmd->add_option("--fleet-command", o->fleet_commands,
                  "Misbehaviour for the fleet, '[@SECONDS:]action=drop|stall|split|invalid|reset-seq|clear&hosts=SET&...'"
                  " (repeatable; see stress/README.md)");
  cmd->add_flag("--chaos", o->chaos, "Standard misbehaviour mix: split handshakes, drops, invalid frames, stalls");
  cmd->add_option("--relay-arg", o->relay_args, "Extra argument for `faultline relay` (repeatable)");
  cmd->add_option("--relay-exe", o->relay_exe, "The faultline binary that runs the relay (default: this one)");
  cmd->add_option("--startup-timeout", o->startup_timeout_s, "Seconds for the relay to connect to every host (90)");
  cmd->add_option("--reconnect-every", o->reconnect_every_s, "The reconnecting consumer's period in seconds (5)");
  cmd->add_option("--slow-threshold", o->slow_threshold,
                  "Events behind (own count) before the slow consumer reads again when the relay does not report "
                  "its lag (default 32768)");
  cmd->add_option("--consumer-buffer", o->consumer_buffer,
                  "The relay's per-consumer buffer (passed as --consumer-buffer; default 16384)");
  cmd->add_flag("--keep-data", o->keep_data, "Keep the relay's data directory");
  auto no_progress = std::make_shared<bool>(false);
  cmd->add_flag("--no-progress", *no_progress, "No progress line on stderr");
  cmd->footer("Exit: 0 every invariant held, 1 an invariant broke (the summary says which), 2 usage, 77 cannot run "
              "here (no relay in this build, limits).");

  // The fleet process the suite starts (internal).
  auto f = std::make_shared<FleetOptions>();
  auto paused = std::make_shared<bool>(false);
  auto* fleet = cmd->add_subcommand("fleet", "Internal: run the fake upstream hosts in this process");
  fleet->group("");
  fleet->add_option("--hosts", f->hosts)->check(CLI::Range(1u, 99'999u));
  fleet->add_option("--rate", f->rate);
  fleet->add_option("--seed", f->seed);
  fleet->add_option("--zipf", f->zipf_s);
  fleet->add_option("--accounts", f->accounts);
  fleet->add_option("--control-port", f->control_port);
  fleet->add_option("--ring-seconds", f->ring_seconds);
  fleet->add_option("--threads", f->scheduler_threads);
  fleet->add_flag("--paused", *paused, "Start with emission paused (GET /control?action=start)");
  fleet->callback([f, paused] {
    f->start_paused = *paused;
    int rc = run_fleet_process(*f);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
  cmd->require_subcommand(0, 1);
  cmd->callback([o, cmd, fleet, ci, no_progress] {
    if (fleet->parsed()) return;
    StressOptions opts = *o;
    if (ci->count() > 0) {
      StressOptions defaults;
      StressOptions profile = defaults;
      apply_ci_profile(profile);
      // --ci sets what the user did not set explicitly.
      if (cmd->count("--hosts") == 0) opts.hosts = profile.hosts;
      if (cmd->count("--rate") == 0) opts.rate = profile.rate;
      if (cmd->count("--duration") == 0) opts.duration_s = profile.duration_s;
      if (cmd->count("--startup-timeout") == 0) opts.startup_timeout_s = profile.startup_timeout_s;
      if (cmd->count("--reconnect-every") == 0) opts.reconnect_every_s = profile.reconnect_every_s;
      opts.drain_timeout_s = profile.drain_timeout_s;
    }
    opts.progress = !*no_progress;
    int rc = run_stress(opts);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace faultline::stress
