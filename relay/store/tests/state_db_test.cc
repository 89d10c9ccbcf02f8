#include "relay/store/state_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "relay/store/tests/test_util.h"

namespace faultline::relay::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
namespace fs = std::filesystem;

Timestamp at_ms(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

StateDb open_db(const fs::path& file) {
  auto db = StateDb::open(file);
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  return std::move(db).value();
}

Host host(std::string name) {
  Host h;
  h.hostname = std::move(name);
  return h;
}

Account account(std::string did, std::string host_name, AccountStatus status = AccountStatus::active) {
  Account a;
  a.did = std::move(did);
  a.host = std::move(host_name);
  a.status = status;
  a.rev = "3l" + a.did.substr(a.did.size() - 3);
  a.commit_cid = "bafyrei" + a.did.substr(a.did.size() - 3);
  a.updated_at = at_ms(1'700'000'000'123);
  return a;
}

TEST(StateDb, CreatesTheSchemaOnFirstOpenInWalMode) {
  TempDir dir;
  const fs::path file = StateDb::default_path(dir.path());
  EXPECT_EQ(file.filename(), "relay.sqlite");
  StateDb db = open_db(file);
  EXPECT_EQ(*db.schema_version(), StateDb::kSchemaVersion);
  ASSERT_TRUE(db.upsert_host(host("pds.example.com")).ok());
  EXPECT_TRUE(fs::exists(fs::path(file.string() + "-wal")));
  EXPECT_EQ(*db.count_hosts(), 1);
}

TEST(StateDb, HostUpsertGetAndUpdate) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  EXPECT_FALSE(db.get_host("nope.example")->has_value());

  Host h = host("pds.example.com");
  ASSERT_TRUE(db.upsert_host(h).ok());
  auto got = db.get_host("pds.example.com");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status, HostStatus::active);
  EXPECT_EQ((*got)->cursor, 0);
  EXPECT_EQ((*got)->limits, RateLimits{});
  EXPECT_FALSE((*got)->last_seen.has_value());
  EXPECT_EQ((*got)->failures, 0);

  h.status = HostStatus::idle;
  h.cursor = 12345;
  h.limits.per_second = 50;
  h.limits.per_day = 1'000'000;
  h.last_seen = at_ms(1'700'000'000'000);
  h.failures = 3;
  h.account_count = 999;  // ignored: the database maintains it
  ASSERT_TRUE(db.upsert_host(h).ok());
  got = db.get_host("pds.example.com");
  ASSERT_TRUE(got->has_value());
  const Host& g = **got;
  EXPECT_EQ(g.status, HostStatus::idle);
  EXPECT_EQ(g.cursor, 12345);
  EXPECT_EQ(g.limits.per_second, 50);
  EXPECT_FALSE(g.limits.per_hour.has_value());
  EXPECT_EQ(g.limits.per_day, 1'000'000);
  EXPECT_EQ(g.last_seen, at_ms(1'700'000'000'000));
  EXPECT_EQ(g.failures, 3);
  EXPECT_EQ(g.account_count, 0);
  EXPECT_EQ(*db.count_hosts(), 1);
  EXPECT_EQ(db.upsert_host(host("")).code(), Status::Code::kInvalidArgument);
}

TEST(StateDb, StatusLimitsAndFailures) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  ASSERT_TRUE(db.upsert_host(host("a.example")).ok());
  ASSERT_TRUE(db.set_host_status("a.example", HostStatus::banned).ok());
  EXPECT_EQ((*db.get_host("a.example"))->status, HostStatus::banned);
  EXPECT_EQ(db.set_host_status("b.example", HostStatus::banned).code(), Status::Code::kNotFound);

  RateLimits limits{.per_second = 10, .per_hour = 2000, .per_day = std::nullopt};
  ASSERT_TRUE(db.set_host_limits("a.example", limits).ok());
  EXPECT_EQ((*db.get_host("a.example"))->limits, limits);
  ASSERT_TRUE(db.set_host_limits("a.example", RateLimits{}).ok());  // back to the defaults
  EXPECT_EQ((*db.get_host("a.example"))->limits, RateLimits{});
  EXPECT_EQ(db.set_host_limits("b.example", limits).code(), Status::Code::kNotFound);

  EXPECT_EQ(*db.add_host_failure("a.example"), 1);
  EXPECT_EQ(*db.add_host_failure("a.example"), 2);
  EXPECT_EQ((*db.get_host("a.example"))->failures, 2);
  EXPECT_EQ(db.add_host_failure("b.example").status().code(), Status::Code::kNotFound);
  for (auto s : {HostStatus::active, HostStatus::idle, HostStatus::offline, HostStatus::banned}) {
    EXPECT_EQ(parse_host_status(to_string(s)), s);
  }
}

TEST(StateDb, ListHostsPaginatesByHostname) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  for (int i = 24; i >= 0; --i) {
    char name[32];
    std::snprintf(name, sizeof name, "pds%02d.example", i);
    ASSERT_TRUE(db.upsert_host(host(name)).ok());
  }
  std::vector<std::string> all;
  std::string cursor;
  std::vector<std::size_t> pages;
  for (int page = 0; page < 10; ++page) {
    auto r = db.list_hosts(cursor, 10);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    pages.push_back(r->size());
    if (r->empty()) break;
    for (const Host& h : *r) all.push_back(h.hostname);
    cursor = r->back().hostname;
  }
  EXPECT_EQ(pages, (std::vector<std::size_t>{10, 10, 5, 0}));
  ASSERT_EQ(all.size(), 25u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(all.front(), "pds00.example");
  EXPECT_EQ(all.back(), "pds24.example");
  EXPECT_EQ(db.list_hosts("pds24.example", 10)->size(), 0u);
  EXPECT_EQ(db.list_hosts("pds05.example", 2)->front().hostname, "pds06.example");
}

TEST(StateDb, SaveCursorsInOneTransaction) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  for (const char* n : {"a.example", "b.example", "c.example"}) ASSERT_TRUE(db.upsert_host(host(n)).ok());
  ASSERT_TRUE(db.upsert_host([] {
                  Host h = host("d.example");
                  h.last_seen = at_ms(5);
                  return h;
                }())
                  .ok());
  const std::vector<HostCursor> batch = {
      {"a.example", 100, at_ms(1000)},
      {"b.example", 200, at_ms(2000)},
      {"unknown.example", 300, at_ms(3000)},
      {"d.example", 400, std::nullopt},
  };
  auto n = db.save_cursors(batch);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ((*db.get_host("a.example"))->cursor, 100);
  EXPECT_EQ((*db.get_host("a.example"))->last_seen, at_ms(1000));
  EXPECT_EQ((*db.get_host("b.example"))->cursor, 200);
  EXPECT_EQ((*db.get_host("c.example"))->cursor, 0);
  EXPECT_EQ((*db.get_host("d.example"))->cursor, 400);
  EXPECT_EQ((*db.get_host("d.example"))->last_seen, at_ms(5));  // kept when not given
  EXPECT_FALSE(db.get_host("unknown.example")->has_value());
  EXPECT_EQ(*db.save_cursors({}), 0u);
}

TEST(StateDb, AccountsUpsertGetListAndCount) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  ASSERT_TRUE(db.upsert_host(host("a.example")).ok());
  std::vector<Account> batch;
  for (int i = 0; i < 30; ++i) {
    char did[64];
    std::snprintf(did, sizeof did, "did:plc:acct%03d", i);
    batch.push_back(account(did, i < 20 ? "a.example" : "b.example",
                            i % 10 == 0 ? AccountStatus::takendown : AccountStatus::active));
  }
  ASSERT_TRUE(db.upsert_accounts(batch).ok());

  auto got = db.get_account("did:plc:acct007");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->host, "a.example");
  EXPECT_EQ((*got)->status, AccountStatus::active);
  EXPECT_EQ((*got)->rev, "3l007");
  EXPECT_EQ((*got)->commit_cid, "bafyrei007");
  EXPECT_EQ((*got)->updated_at, at_ms(1'700'000'000'123));
  EXPECT_FALSE(db.get_account("did:plc:none")->has_value());

  // Pagination for listRepos.
  std::vector<std::string> dids;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = db.list_accounts(cursor, 7);
    ASSERT_TRUE(r.ok());
    if (r->empty()) break;
    for (const Account& a : *r) dids.push_back(a.did);
    cursor = r->back().did;
  }
  ASSERT_EQ(dids.size(), 30u);
  EXPECT_TRUE(std::is_sorted(dids.begin(), dids.end()));

  auto counts = db.count_accounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 30);
  EXPECT_EQ(counts->by_status[static_cast<std::size_t>(AccountStatus::takendown)], 3);
  EXPECT_EQ(counts->by_status[static_cast<std::size_t>(AccountStatus::active)], 27);

  // Host account counts follow inserts and moves; a host registered after its
  // accounts starts with the right count.
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 20);
  ASSERT_TRUE(db.upsert_host(host("b.example")).ok());
  EXPECT_EQ((*db.get_host("b.example"))->account_count, 10);
  Account moved = batch[0];
  moved.host = "b.example";
  moved.status = AccountStatus::deactivated;
  moved.rev.clear();  // stored as NULL, read back empty
  ASSERT_TRUE(db.upsert_accounts(std::span(&moved, 1)).ok());
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 19);
  EXPECT_EQ((*db.get_host("b.example"))->account_count, 11);
  EXPECT_EQ((*db.get_account(moved.did))->status, AccountStatus::deactivated);
  EXPECT_EQ((*db.get_account(moved.did))->rev, "");
  ASSERT_TRUE(db.upsert_accounts(batch).ok());  // idempotent
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 20);
  EXPECT_EQ(db.count_accounts()->total, 30);

  // A bad batch changes nothing.
  std::vector<Account> bad = {account("did:plc:new001", "a.example"), account("did:plc:new002", "a.example")};
  bad[1].did.clear();
  EXPECT_EQ(db.upsert_accounts(bad).code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(db.get_account("did:plc:new001")->has_value());
  for (std::size_t i = 0; i < kAccountStatusCount; ++i) {
    const auto s = static_cast<AccountStatus>(i);
    EXPECT_EQ(parse_account_status(to_string(s)), s);
  }
}

// upsert_accounts takes a narrow path for a row whose host and status are
// unchanged; each kind of change must still land in full.
TEST(StateDb, AccountHeadStatusAndHostChangesAreEachStored) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  ASSERT_TRUE(db.upsert_host(host("a.example")).ok());
  ASSERT_TRUE(db.upsert_host(host("b.example")).ok());
  Account a = account("did:plc:head01", "a.example");
  ASSERT_TRUE(db.upsert_accounts(std::span(&a, 1)).ok());

  a.rev = "3l999";
  a.commit_cid = "bafyrei999";
  a.updated_at = at_ms(1'700'000'009'999);
  ASSERT_TRUE(db.upsert_accounts(std::span(&a, 1)).ok());
  auto got = *db.get_account(a.did);
  EXPECT_EQ(got->rev, "3l999");
  EXPECT_EQ(got->commit_cid, "bafyrei999");
  EXPECT_EQ(got->updated_at, at_ms(1'700'000'009'999));

  a.status = AccountStatus::suspended;
  a.rev = "3la00";
  ASSERT_TRUE(db.upsert_accounts(std::span(&a, 1)).ok());
  EXPECT_EQ((*db.get_account(a.did))->status, AccountStatus::suspended);
  EXPECT_EQ((*db.get_account(a.did))->rev, "3la00");
  EXPECT_EQ(db.count_accounts()->by_status[static_cast<std::size_t>(AccountStatus::suspended)], 1);
  EXPECT_EQ(db.count_accounts()->by_status[static_cast<std::size_t>(AccountStatus::active)], 0);

  a.host = "b.example";
  ASSERT_TRUE(db.upsert_accounts(std::span(&a, 1)).ok());
  EXPECT_EQ((*db.get_account(a.did))->host, "b.example");
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 0);
  EXPECT_EQ((*db.get_host("b.example"))->account_count, 1);
  EXPECT_EQ(db.count_accounts()->total, 1);
}

TEST(StateDb, ReopeningKeepsTheData) {
  TempDir dir;
  const fs::path file = dir.path() / "relay.sqlite";
  {
    StateDb db = open_db(file);
    Host h = host("a.example");
    h.cursor = 77;
    ASSERT_TRUE(db.upsert_host(h).ok());
    const Account a = account("did:plc:abc123", "a.example");
    ASSERT_TRUE(db.upsert_accounts(std::span(&a, 1)).ok());
  }
  StateDb db = open_db(file);
  EXPECT_EQ((*db.get_host("a.example"))->cursor, 77);
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 1);
  EXPECT_EQ((*db.get_account("did:plc:abc123"))->commit_cid, "bafyrei123");
}

TEST(StateDb, ABadFileIsReportedNotFatal) {
  TempDir dir;
  const fs::path file = dir.path() / "relay.sqlite";
  std::vector<std::byte> junk(4096, std::byte{'x'});
  testing::write_file(file, junk);
  auto db = StateDb::open(file);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kDbError);
  EXPECT_NE(db.status().message().find(file.string()), std::string::npos) << db.status().message();
  EXPECT_NE(db.status().message().find("file is not a database"), std::string::npos) << db.status().message();
  // The file is left as it was.
  EXPECT_EQ(testing::read_file(file), junk);

  // A directory where the file should be.
  fs::create_directory(dir.path() / "dir.sqlite");
  auto d = StateDb::open(dir.path() / "dir.sqlite");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("dir.sqlite"), std::string::npos) << d.status().message();
}

TEST(StateDb, ANewerSchemaIsRefused) {
  TempDir dir;
  const fs::path file = dir.path() / "relay.sqlite";
  { open_db(file); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto db = StateDb::open(file);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("schema version 99 is newer"), std::string::npos) << db.status().message();
}

TEST(StateDb, CallsFromManyThreadsAreSerialised) {
  TempDir dir;
  StateDb db = open_db(dir.path() / "relay.sqlite");
  ASSERT_TRUE(db.upsert_host(host("a.example")).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        char did[64];
        std::snprintf(did, sizeof did, "did:plc:t%d-%03d", t, i);
        const Account a = account(did, "a.example");
        if (!db.upsert_accounts(std::span(&a, 1)).ok()) ++failures;
        const HostCursor c{"a.example", i, std::nullopt};
        if (!db.save_cursors(std::span(&c, 1)).ok()) ++failures;
        if (!db.get_host("a.example").ok()) ++failures;
        if (!db.list_accounts("", 5).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db.count_accounts()->total, 200);
  EXPECT_EQ((*db.get_host("a.example"))->account_count, 200);
}

}  // namespace
}  // namespace faultline::relay::store
