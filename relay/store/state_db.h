// StateDb: the relay's durable state other than events, in one SQLite file
// next to the event log (`<data-dir>/relay.sqlite`, see default_path()).
//
//   hosts     one row per upstream host (PDS): status, the last upstream seq
//             processed (`cursor`), optional per-host rate limits (NULL = the
//             relay's default), an account count, last_seen, failures.
//   accounts  one row per DID: its host, status, latest rev and commit CID.
//
// Blocking code: call it from bridge worker threads, never from a fiber.
//
// Threads. One SQLite connection per StateDb, opened SQLITE_OPEN_NOMUTEX; every
// public call takes an internal std::mutex for its whole duration, so calls
// from any number of threads are serialised (and a multi-statement call such
// as save_cursors() is one transaction no other call can interleave with).
// Another process (e.g. the sqlite3 shell) may read the file concurrently:
// WAL mode; a writer in another process makes our writes wait up to
// busy_timeout, then fail with kBusy.
//
// Durability. journal_mode=WAL, synchronous=NORMAL: a committed transaction
// survives a process crash; a power failure may lose the last transactions
// (never corrupts the file). Same trade-off as the event log's `interval`.
//
// Schema. Versioned with PRAGMA user_version: 0 (new file) is created at the
// current version in one transaction; older versions are migrated step by
// step in one transaction; a newer version than this build knows is refused
// (kDbError "schema version N is newer than this build's M").
//
// Errors. Every SQLite error becomes a failed Status (kDbError, kBusy) whose
// message names the file, the operation and SQLite's message, e.g.
// "/data/relay.sqlite: open: file is not a database". Nothing aborts.
//
// hosts.account_count is maintained by SQL triggers on `accounts` (insert,
// delete, change of host), so it is always exact and cheap to read; callers
// never write it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/store/status.h"

namespace faultline::relay::store {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;  // stored as Unix milliseconds

enum class HostStatus { active, idle, offline, banned };
enum class AccountStatus { active, takendown, suspended, deactivated, deleted, desynchronized, throttled };
inline constexpr std::size_t kAccountStatusCount = 7;

std::string_view to_string(HostStatus s);
std::string_view to_string(AccountStatus s);
std::optional<HostStatus> parse_host_status(std::string_view s);
std::optional<AccountStatus> parse_account_status(std::string_view s);

// Per-host limits on events accepted; nullopt = the relay's default.
struct RateLimits {
  std::optional<std::int64_t> per_second;
  std::optional<std::int64_t> per_hour;
  std::optional<std::int64_t> per_day;
  friend bool operator==(const RateLimits&, const RateLimits&) = default;
};

struct Host {
  std::string hostname;  // unique
  HostStatus status = HostStatus::active;
  std::int64_t cursor = 0;  // last upstream seq processed
  RateLimits limits;
  std::int64_t account_count = 0;  // read-only: maintained by the database
  std::optional<Timestamp> last_seen;
  std::int64_t failures = 0;
};

// One entry of save_cursors().
struct HostCursor {
  std::string hostname;
  std::int64_t cursor = 0;
  std::optional<Timestamp> seen_at;  // also sets last_seen when present
};

struct Account {
  std::string did;  // unique
  std::string host;
  AccountStatus status = AccountStatus::active;
  std::string rev;         // empty: none yet (stored as NULL)
  std::string commit_cid;  // text CID; empty: none yet (stored as NULL)
  Timestamp updated_at{};
};

struct AccountCounts {
  std::int64_t total = 0;
  std::array<std::int64_t, kAccountStatusCount> by_status{};  // indexed by AccountStatus
};

struct StateDbOptions {
  std::chrono::milliseconds busy_timeout{5000};
};

class StateDb {
 public:
  static constexpr int kSchemaVersion = 1;
  using Options = StateDbOptions;

  static std::filesystem::path default_path(const std::filesystem::path& data_dir) { return data_dir / "relay.sqlite"; }
  // Opens or creates the database file (not its directory).
  static Result<StateDb> open(const std::filesystem::path& file, Options options = {});

  StateDb(StateDb&&) noexcept;
  StateDb& operator=(StateDb&&) noexcept;
  ~StateDb();

  const std::filesystem::path& path() const;
  Result<int> schema_version();

  // --- hosts -------------------------------------------------------------
  // Inserts the host or overwrites every field of an existing one except
  // account_count.
  Status upsert_host(const Host& host);
  Result<std::optional<Host>> get_host(std::string_view hostname);
  // Hosts with hostname > after_hostname ("" = from the start), ordered by
  // hostname, at most `limit`: com.atproto.sync.listHosts pagination, the
  // last hostname returned being the next cursor.
  Result<std::vector<Host>> list_hosts(std::string_view after_hostname, std::size_t limit);
  // kNotFound when the host is unknown.
  Status set_host_status(std::string_view hostname, HostStatus status);
  Status set_host_limits(std::string_view hostname, const RateLimits& limits);
  // failures + 1; returns the new count. kNotFound when unknown.
  Result<std::int64_t> add_host_failure(std::string_view hostname);
  // All cursors in one transaction; unknown hosts are skipped. Returns how
  // many hosts were updated.
  Result<std::size_t> save_cursors(std::span<const HostCursor> cursors);
  Result<std::int64_t> count_hosts();

  // --- accounts ----------------------------------------------------------
  // Inserts or overwrites each account, all in one transaction (all or none).
  Status upsert_accounts(std::span<const Account> accounts);
  Result<std::optional<Account>> get_account(std::string_view did);
  // Accounts with did > after_did ("" = from the start), ordered by did, at
  // most `limit`: com.atproto.sync.listRepos pagination.
  Result<std::vector<Account>> list_accounts(std::string_view after_did, std::size_t limit);
  Result<AccountCounts> count_accounts();

 private:
  struct Impl;
  explicit StateDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::relay::store
