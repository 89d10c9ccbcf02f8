// AccountTable: per-account state the relay checks every event against —
// status (from #account), newest rev and commit CID (from #commit/#sync) —
// kept in memory and written to SQLite in batches by the relay's flusher.
//
// Rules (those of the reference relay, checked against the recorded indigo
// scenarios in ../shared/fixtures/indigo-relay-scenarios):
//  - #commit / #sync: rev must be greater than the account's newest rev
//    (TIDs sort as strings), else the event is dropped ("rev-not-newer");
//    an account that is not active has its commits dropped ("account-inactive").
//  - #account: updates status/active; always passed on.
//  - #identity: passed on; creates the account if unknown.
//
// Synchronisation: one Mutex of the relay's backend (`make_mutex`), held for
// a map lookup and a few assignments. With --inject crossio-mutex the check
// is made from a bridge worker thread under that same Evented mutex — the
// catalogued "Evented mutex from a plain thread" defect.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <map>
#include <optional>
#include <vector>

#include "io/io.h"
#include "relay/store/state_db.h"

namespace faultline::relay {

enum class AccountVerdict { pass, rev_not_newer, inactive };
std::string_view to_string(AccountVerdict v);

class AccountTable {
 public:
  explicit AccountTable(io::Io& io);

  // Loads what the database had (start-up).
  void load(const std::vector<store::Account>& accounts);

  // #commit / #sync: checks and, when it passes, records rev + commit CID.
  AccountVerdict on_commit(std::string_view did, std::string_view host, std::string_view rev,
                           std::string_view commit_cid);
  // #account: records the status ("" status with active=true means active).
  void on_account(std::string_view did, std::string_view host, bool active, std::string_view status);
  void on_identity(std::string_view did, std::string_view host);

  // Accounts changed since the last call, for the flusher.
  std::vector<store::Account> take_dirty();
  std::size_t size() const;
  std::optional<store::Account> get(std::string_view did) const;
  // Accounts with a commit, did > after, in did order (listRepos).
  std::vector<store::Account> list(std::string_view after, std::size_t limit) const;
  std::int64_t count_for_host(std::string_view host) const;

 private:
  struct Entry {
    store::Account account;
    bool dirty = false;
  };
  Entry& entry_locked(std::string_view did, std::string_view host);

  std::unique_ptr<io::Mutex> mutex_;
  std::map<std::string, Entry, std::less<>> accounts_;
  std::map<std::string, std::int64_t, std::less<>> per_host_;
  std::vector<std::string> dirty_;
};

}  // namespace faultline::relay
