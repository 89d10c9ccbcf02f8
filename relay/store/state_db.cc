#include "relay/store/state_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <utility>

namespace faultline::relay::store {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHostStatusNames[] = {"active", "idle", "offline", "banned"};
constexpr std::string_view kAccountStatusNames[] = {"active",  "takendown",      "suspended", "deactivated",
                                                    "deleted", "desynchronized", "throttled"};
static_assert(std::size(kAccountStatusNames) == kAccountStatusCount);

// migrations[v] takes the schema from user_version v to v + 1.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE hosts (
  id              INTEGER PRIMARY KEY,
  hostname        TEXT    NOT NULL UNIQUE,
  status          TEXT    NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'idle', 'offline', 'banned')),
  cursor          INTEGER NOT NULL DEFAULT 0,
  rate_per_second INTEGER,
  rate_per_hour   INTEGER,
  rate_per_day    INTEGER,
  account_count   INTEGER NOT NULL DEFAULT 0,
  last_seen       INTEGER,
  failures        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE accounts (
  did         TEXT    NOT NULL PRIMARY KEY,
  host        TEXT    NOT NULL,
  status      TEXT    NOT NULL
              CHECK (status IN ('active', 'takendown', 'suspended', 'deactivated',
                                'deleted', 'desynchronized', 'throttled')),
  rev         TEXT,
  commit_cid  TEXT,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX accounts_by_host ON accounts (host);
CREATE INDEX accounts_by_status ON accounts (status);
CREATE TRIGGER accounts_count_insert AFTER INSERT ON accounts BEGIN
  UPDATE hosts SET account_count = account_count + 1 WHERE hostname = NEW.host;
END;
CREATE TRIGGER accounts_count_delete AFTER DELETE ON accounts BEGIN
  UPDATE hosts SET account_count = account_count - 1 WHERE hostname = OLD.host;
END;
CREATE TRIGGER accounts_count_move AFTER UPDATE OF host ON accounts
WHEN OLD.host IS NOT NEW.host BEGIN
  UPDATE hosts SET account_count = account_count - 1 WHERE hostname = OLD.host;
  UPDATE hosts SET account_count = account_count + 1 WHERE hostname = NEW.host;
END;
CREATE TRIGGER hosts_count_init AFTER INSERT ON hosts BEGIN
  UPDATE hosts SET account_count = (SELECT count(*) FROM accounts WHERE host = NEW.hostname)
  WHERE id = NEW.id;
END;
)sql",
};
static_assert(std::size(kMigrations) == StateDb::kSchemaVersion);

constexpr const char* kHostColumns =
    "hostname, status, cursor, rate_per_second, rate_per_hour, rate_per_day, account_count, last_seen, failures";
constexpr const char* kAccountColumns = "did, host, status, rev, commit_cid, updated_at";

// Owns the connection; declared first in Impl so it is closed last.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() {
    if (db) sqlite3_close_v2(db);
  }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() {
    if (s) sqlite3_finalize(s);
  }
};

// Resets a statement and drops its bindings when a call is done with it.
struct Use {
  explicit Use(Stmt& st) : s(st.s) {}
  ~Use() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* s;
};

// Bindings outlive their step: every Use clears them before the data goes.
void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_STATIC);
}
void bind_text_or_null(sqlite3_stmt* s, int i, std::string_view v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    bind_text(s, i, v);
  }
}
void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  if (v) {
    sqlite3_bind_int64(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}
std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}
std::optional<std::int64_t> column_opt(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}
Timestamp to_timestamp(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

}  // namespace

std::string_view to_string(HostStatus s) {
  return kHostStatusNames[static_cast<std::size_t>(s)];
}
std::string_view to_string(AccountStatus s) {
  return kAccountStatusNames[static_cast<std::size_t>(s)];
}

std::optional<HostStatus> parse_host_status(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kHostStatusNames); ++i) {
    if (kHostStatusNames[i] == s) return static_cast<HostStatus>(i);
  }
  return std::nullopt;
}

std::optional<AccountStatus> parse_account_status(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kAccountStatusNames); ++i) {
    if (kAccountStatusNames[i] == s) return static_cast<AccountStatus>(i);
  }
  return std::nullopt;
}

struct StateDb::Impl {
  Connection conn;  // first: destroyed last
  fs::path path;
  std::mutex mu;
  Stmt begin, commit, rollback, user_version;
  Stmt upsert_host, get_host, list_hosts, set_host_status, set_host_limits, add_host_failure, save_cursor, count_hosts;
  Stmt update_account_head, upsert_account, get_account, list_accounts, count_accounts;

  sqlite3* db() const { return conn.db; }

  Status error(std::string_view what, int rc) const {
    std::string msg = path.string() + ": " + std::string(what) + ": ";
    msg += conn.db ? sqlite3_errmsg(conn.db) : sqlite3_errstr(rc);
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::busy(std::move(msg));
    return Status::db_error(std::move(msg));
  }

  Status prepare(Stmt& st, const std::string& sql) {
    const int rc =
        sqlite3_prepare_v3(db(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st.s, nullptr);
    if (rc != SQLITE_OK) return error("prepare \"" + sql.substr(0, 40) + "...\"", rc);
    return Status();
  }

  // Steps a statement that returns no row (or whose rows are ignored).
  Status run(Stmt& st, std::string_view what) {
    Use u(st);
    int rc;
    do {
      rc = sqlite3_step(st.s);
    } while (rc == SQLITE_ROW);
    if (rc != SQLITE_DONE) return error(what, rc);
    return Status();
  }

  Status exec(const char* sql, std::string_view what) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      const int primary = rc & 0xff;
      std::string full = path.string() + ": " + std::string(what) + ": " + msg;
      if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::busy(std::move(full));
      return Status::db_error(std::move(full));
    }
    return Status();
  }

  Result<std::int64_t> query_int(const char* sql, std::string_view what) {
    Stmt st;
    if (Status s = prepare(st, sql); !s.ok()) return s;
    const int rc = sqlite3_step(st.s);
    if (rc != SQLITE_ROW) return error(what, rc);
    return sqlite3_column_int64(st.s, 0);
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on failure.
  template <class F>
  Status transaction(F&& body, std::string_view what) {
    if (Status s = run(begin, std::string(what) + ": begin"); !s.ok()) return s;
    Status s = body();
    if (s.ok()) s = run(commit, std::string(what) + ": commit");
    if (!s.ok()) (void)run(rollback, std::string(what) + ": rollback");
    return s;
  }

  Status migrate();
  Status prepare_all();

  static Host read_host(sqlite3_stmt* s) {
    Host h;
    h.hostname = column_text(s, 0);
    h.status = parse_host_status(column_text(s, 1)).value_or(HostStatus::offline);
    h.cursor = sqlite3_column_int64(s, 2);
    h.limits.per_second = column_opt(s, 3);
    h.limits.per_hour = column_opt(s, 4);
    h.limits.per_day = column_opt(s, 5);
    h.account_count = sqlite3_column_int64(s, 6);
    if (auto v = column_opt(s, 7)) h.last_seen = to_timestamp(*v);
    h.failures = sqlite3_column_int64(s, 8);
    return h;
  }

  static Account read_account(sqlite3_stmt* s) {
    Account a;
    a.did = column_text(s, 0);
    a.host = column_text(s, 1);
    a.status = parse_account_status(column_text(s, 2)).value_or(AccountStatus::desynchronized);
    a.rev = column_text(s, 3);
    a.commit_cid = column_text(s, 4);
    a.updated_at = to_timestamp(sqlite3_column_int64(s, 5));
    return a;
  }
};

Status StateDb::Impl::migrate() {
  auto v = query_int("PRAGMA user_version", "open: read schema version");
  if (!v.ok()) return v.status();
  if (*v > kSchemaVersion) {
    return Status::db_error(path.string() + ": schema version " + std::to_string(*v) + " is newer than this build's " +
                            std::to_string(kSchemaVersion));
  }
  if (*v == kSchemaVersion) return Status();
  if (Status s = exec("BEGIN IMMEDIATE", "open: begin migration"); !s.ok()) return s;
  Status s;
  // Re-read inside the transaction: another process may have migrated.
  auto cur = query_int("PRAGMA user_version", "open: read schema version");
  if (!cur.ok()) s = cur.status();
  for (std::int64_t i = cur.ok() ? *cur : kSchemaVersion; s.ok() && i < kSchemaVersion; ++i) {
    s = exec(kMigrations[i], "open: migrate schema to version " + std::to_string(i + 1));
  }
  if (s.ok()) s = exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(), "open: set version");
  if (s.ok()) s = exec("COMMIT", "open: commit migration");
  if (!s.ok()) (void)exec("ROLLBACK", "open: rollback migration");
  return s;
}

Status StateDb::Impl::prepare_all() {
  const std::string host_cols = kHostColumns;
  const std::string acct_cols = kAccountColumns;
  const std::pair<Stmt*, std::string> all[] = {
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&user_version, "PRAGMA user_version"},
      {&upsert_host,
       "INSERT INTO hosts (hostname, status, cursor, rate_per_second, rate_per_hour, rate_per_day, last_seen, "
       "failures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (hostname) DO UPDATE SET "
       "status = excluded.status, cursor = excluded.cursor, rate_per_second = excluded.rate_per_second, "
       "rate_per_hour = excluded.rate_per_hour, rate_per_day = excluded.rate_per_day, "
       "last_seen = excluded.last_seen, failures = excluded.failures"},
      {&get_host, "SELECT " + host_cols + " FROM hosts WHERE hostname = ?1"},
      {&list_hosts, "SELECT " + host_cols + " FROM hosts WHERE hostname > ?1 ORDER BY hostname LIMIT ?2"},
      {&set_host_status, "UPDATE hosts SET status = ?2 WHERE hostname = ?1"},
      {&set_host_limits,
       "UPDATE hosts SET rate_per_second = ?2, rate_per_hour = ?3, rate_per_day = ?4 WHERE hostname = ?1"},
      {&add_host_failure, "UPDATE hosts SET failures = failures + 1 WHERE hostname = ?1 RETURNING failures"},
      {&save_cursor, "UPDATE hosts SET cursor = ?2, last_seen = coalesce(?3, last_seen) WHERE hostname = ?1"},
      {&count_hosts, "SELECT count(*) FROM hosts"},
      // Same parameters as upsert_account. Touches no indexed column, so
      // SQLite leaves accounts_by_host / accounts_by_status alone (it
      // rewrites an index whenever one of its columns is in the SET list,
      // changed or not): about 5x cheaper per row than the upsert.
      {&update_account_head,
       "UPDATE accounts SET rev = ?4, commit_cid = ?5, updated_at = ?6 WHERE did = ?1 AND host = ?2 AND status = ?3"},
      {&upsert_account,
       "INSERT INTO accounts (did, host, status, rev, commit_cid, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
       "ON CONFLICT (did) DO UPDATE SET host = excluded.host, status = excluded.status, rev = excluded.rev, "
       "commit_cid = excluded.commit_cid, updated_at = excluded.updated_at"},
      {&get_account, "SELECT " + acct_cols + " FROM accounts WHERE did = ?1"},
      {&list_accounts, "SELECT " + acct_cols + " FROM accounts WHERE did > ?1 ORDER BY did LIMIT ?2"},
      {&count_accounts, "SELECT status, count(*) FROM accounts GROUP BY status"},
  };
  for (const auto& [st, sql] : all) {
    if (Status s = prepare(*st, sql); !s.ok()) return s;
  }
  return Status();
}

StateDb::StateDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateDb::StateDb(StateDb&&) noexcept = default;
StateDb& StateDb::operator=(StateDb&&) noexcept = default;
StateDb::~StateDb() = default;

Result<StateDb> StateDb::open(const fs::path& file, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->path = file;
  const int rc = sqlite3_open_v2(file.c_str(), &impl->conn.db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return impl->error("open", rc);
  sqlite3_extended_result_codes(impl->db(), 1);
  sqlite3_busy_timeout(impl->db(), static_cast<int>(options.busy_timeout.count()));

  // The first statement that reads the file: a file that is not a database
  // (or is encrypted, or truncated) fails here with "file is not a database".
  {
    Stmt st;
    if (Status s = impl->prepare(st, "PRAGMA journal_mode = WAL"); !s.ok()) return s;
    const int step = sqlite3_step(st.s);
    if (step != SQLITE_ROW) return impl->error("open", step);
    const std::string mode = column_text(st.s, 0);
    if (mode != "wal") return Status::db_error(file.string() + ": open: cannot use WAL (journal mode is " + mode + ")");
  }
  if (Status s = impl->exec("PRAGMA synchronous = NORMAL", "open"); !s.ok()) return s;
  // The relay's flusher upserts every account changed in the last interval
  // in one transaction (tens of thousands of rows under load). With the
  // default 2 MiB page cache such a transaction outgrows the cache, so SQLite
  // spills dirty pages to the WAL mid-transaction and reads them back for
  // the next rows: ~13% of the relay's CPU at 8,000 ev/s. 64 MiB holds the
  // whole working set of any realistic account table; the cache is only
  // allocated as pages are used.
  if (Status s = impl->exec("PRAGMA cache_size = -65536", "open"); !s.ok()) return s;
  if (Status s = impl->migrate(); !s.ok()) return s;
  if (Status s = impl->prepare_all(); !s.ok()) return s;
  return StateDb(std::move(impl));
}

const fs::path& StateDb::path() const {
  return impl_->path;
}

Result<int> StateDb::schema_version() {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->user_version);
  const int rc = sqlite3_step(u.s);
  if (rc != SQLITE_ROW) return impl_->error("schema version", rc);
  return sqlite3_column_int(u.s, 0);
}

Status StateDb::upsert_host(const Host& h) {
  if (h.hostname.empty()) return Status::invalid_argument("upsert_host: empty hostname");
  std::lock_guard lk(impl_->mu);
  sqlite3_stmt* s = impl_->upsert_host.s;
  bind_text(s, 1, h.hostname);
  bind_text(s, 2, to_string(h.status));
  sqlite3_bind_int64(s, 3, h.cursor);
  bind_opt(s, 4, h.limits.per_second);
  bind_opt(s, 5, h.limits.per_hour);
  bind_opt(s, 6, h.limits.per_day);
  bind_opt(s, 7, h.last_seen ? std::optional<std::int64_t>(h.last_seen->time_since_epoch().count()) : std::nullopt);
  sqlite3_bind_int64(s, 8, h.failures);
  return impl_->run(impl_->upsert_host, "upsert_host " + h.hostname);
}

Result<std::optional<Host>> StateDb::get_host(std::string_view hostname) {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->get_host);
  bind_text(u.s, 1, hostname);
  const int rc = sqlite3_step(u.s);
  if (rc == SQLITE_DONE) return std::optional<Host>();
  if (rc != SQLITE_ROW) return impl_->error("get_host", rc);
  return std::optional<Host>(Impl::read_host(u.s));
}

Result<std::vector<Host>> StateDb::list_hosts(std::string_view after_hostname, std::size_t limit) {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->list_hosts);
  bind_text(u.s, 1, after_hostname);
  sqlite3_bind_int64(u.s, 2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<Host> out;
  int rc;
  while ((rc = sqlite3_step(u.s)) == SQLITE_ROW) out.push_back(Impl::read_host(u.s));
  if (rc != SQLITE_DONE) return impl_->error("list_hosts", rc);
  return out;
}

Status StateDb::set_host_status(std::string_view hostname, HostStatus status) {
  std::lock_guard lk(impl_->mu);
  bind_text(impl_->set_host_status.s, 1, hostname);
  bind_text(impl_->set_host_status.s, 2, to_string(status));
  if (Status s = impl_->run(impl_->set_host_status, "set_host_status"); !s.ok()) return s;
  if (sqlite3_changes(impl_->db()) == 0) return Status::not_found("host " + std::string(hostname));
  return Status();
}

Status StateDb::set_host_limits(std::string_view hostname, const RateLimits& limits) {
  std::lock_guard lk(impl_->mu);
  sqlite3_stmt* s = impl_->set_host_limits.s;
  bind_text(s, 1, hostname);
  bind_opt(s, 2, limits.per_second);
  bind_opt(s, 3, limits.per_hour);
  bind_opt(s, 4, limits.per_day);
  if (Status st = impl_->run(impl_->set_host_limits, "set_host_limits"); !st.ok()) return st;
  if (sqlite3_changes(impl_->db()) == 0) return Status::not_found("host " + std::string(hostname));
  return Status();
}

Result<std::int64_t> StateDb::add_host_failure(std::string_view hostname) {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->add_host_failure);
  bind_text(u.s, 1, hostname);
  int rc = sqlite3_step(u.s);
  if (rc == SQLITE_DONE) return Status::not_found("host " + std::string(hostname));
  if (rc != SQLITE_ROW) return impl_->error("add_host_failure", rc);
  const std::int64_t failures = sqlite3_column_int64(u.s, 0);
  rc = sqlite3_step(u.s);  // finish the statement so the write completes
  if (rc != SQLITE_DONE) return impl_->error("add_host_failure", rc);
  return failures;
}

Result<std::size_t> StateDb::save_cursors(std::span<const HostCursor> cursors) {
  std::lock_guard lk(impl_->mu);
  std::size_t updated = 0;
  Status s = impl_->transaction(
      [&]() -> Status {
        for (const HostCursor& c : cursors) {
          sqlite3_stmt* st = impl_->save_cursor.s;
          bind_text(st, 1, c.hostname);
          sqlite3_bind_int64(st, 2, c.cursor);
          bind_opt(st, 3,
                   c.seen_at ? std::optional<std::int64_t>(c.seen_at->time_since_epoch().count()) : std::nullopt);
          if (Status r = impl_->run(impl_->save_cursor, "save_cursors " + c.hostname); !r.ok()) return r;
          updated += static_cast<std::size_t>(sqlite3_changes(impl_->db()));
        }
        return Status();
      },
      "save_cursors");
  if (!s.ok()) return s;
  return updated;
}

Result<std::int64_t> StateDb::count_hosts() {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->count_hosts);
  const int rc = sqlite3_step(u.s);
  if (rc != SQLITE_ROW) return impl_->error("count_hosts", rc);
  return sqlite3_column_int64(u.s, 0);
}

Status StateDb::upsert_accounts(std::span<const Account> accounts) {
  for (const Account& a : accounts) {
    if (a.did.empty()) return Status::invalid_argument("upsert_accounts: empty did");
  }
  // Nearly every row of a flush is an existing account whose host and
  // status are unchanged and whose head (rev, commit) moved: those take
  // the narrow UPDATE; a new account, or one that moved host or changed
  // status, matches no row there and takes the full upsert.
  const auto bind = [](sqlite3_stmt* s, const Account& a) {
    bind_text(s, 1, a.did);
    bind_text(s, 2, a.host);
    bind_text(s, 3, to_string(a.status));
    bind_text_or_null(s, 4, a.rev);
    bind_text_or_null(s, 5, a.commit_cid);
    sqlite3_bind_int64(s, 6, a.updated_at.time_since_epoch().count());
  };
  std::lock_guard lk(impl_->mu);
  return impl_->transaction(
      [&]() -> Status {
        for (const Account& a : accounts) {
          bind(impl_->update_account_head.s, a);
          Status r = impl_->run(impl_->update_account_head, "upsert_accounts (update)");
          if (r.ok() && sqlite3_changes(impl_->db()) == 0) {
            bind(impl_->upsert_account.s, a);
            r = impl_->run(impl_->upsert_account, "upsert_accounts (insert)");
          }
          if (!r.ok()) {
            std::string msg = r.message() + " (account " + a.did + ")";
            return r.code() == Status::Code::kBusy ? Status::busy(std::move(msg)) : Status::db_error(std::move(msg));
          }
        }
        return Status();
      },
      "upsert_accounts");
}

Result<std::optional<Account>> StateDb::get_account(std::string_view did) {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->get_account);
  bind_text(u.s, 1, did);
  const int rc = sqlite3_step(u.s);
  if (rc == SQLITE_DONE) return std::optional<Account>();
  if (rc != SQLITE_ROW) return impl_->error("get_account", rc);
  return std::optional<Account>(Impl::read_account(u.s));
}

Result<std::vector<Account>> StateDb::list_accounts(std::string_view after_did, std::size_t limit) {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->list_accounts);
  bind_text(u.s, 1, after_did);
  sqlite3_bind_int64(u.s, 2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<Account> out;
  int rc;
  while ((rc = sqlite3_step(u.s)) == SQLITE_ROW) out.push_back(Impl::read_account(u.s));
  if (rc != SQLITE_DONE) return impl_->error("list_accounts", rc);
  return out;
}

Result<AccountCounts> StateDb::count_accounts() {
  std::lock_guard lk(impl_->mu);
  Use u(impl_->count_accounts);
  AccountCounts c;
  int rc;
  while ((rc = sqlite3_step(u.s)) == SQLITE_ROW) {
    const std::int64_t n = sqlite3_column_int64(u.s, 1);
    c.total += n;
    if (auto st = parse_account_status(column_text(u.s, 0))) c.by_status[static_cast<std::size_t>(*st)] = n;
  }
  if (rc != SQLITE_DONE) return impl_->error("count_accounts", rc);
  return c;
}

}  // namespace faultline::relay::store
