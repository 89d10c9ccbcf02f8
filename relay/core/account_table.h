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
// Two views of each account, like a host's last_seq and cursor:
//  - admitted: what the checks above use, updated by on_commit/on_account/
//    on_identity as soon as an event passes them (events of one host are
//    checked one after the other, so the next check sees the previous one);
//  - durable: updated by apply() once the event is in the event log. This is
//    what XRPC reads, what the flusher saves (take_dirty), and what is loaded
//    at start-up. Saving the admitted view instead would let the database run
//    ahead of the log: after a crash the host resends the events that never
//    reached the log, and the rev check would drop them as already seen.
// recover() applies a logged event to both views (start-up replay of the log
// after the last state flush).
//
// Synchronisation: one Mutex of the relay's backend (`make_mutex`), held for
// a map lookup and a few assignments. With --inject crossio-mutex the check
// is made from a bridge worker thread under that same Evented mutex — the
// catalogued "Evented mutex from a plain thread" defect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/io.h"
#include "relay/store/state_db.h"

namespace faultline::relay {

enum class AccountVerdict { pass, rev_not_newer, inactive };
std::string_view to_string(AccountVerdict v);

// What one accepted event does to its account, carried with the event to the
// sequencer and applied to the durable view after the append.
struct AccountEffect {
  enum class Kind : std::uint8_t { none, commit, account, identity };
  Kind kind = Kind::none;
  std::string did;
  std::string host;
  std::string rev;         // commit (#commit / #sync)
  std::string commit_cid;  // commit
  bool active = true;      // account
  std::string status;      // account ("" when absent)
};

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

  // Durable view: events now in the log, in log order.
  void apply(const std::vector<AccountEffect>& effects);
  // Both views: events replayed from the log at start-up, in log order.
  void recover(const std::vector<AccountEffect>& effects);

  // Durable state of the accounts changed since the last call, for the flusher.
  std::vector<store::Account> take_dirty();
  // The rest reads the durable view.
  std::size_t size() const;
  std::optional<store::Account> get(std::string_view did) const;
  // Accounts with a commit, did > after, in did order (listRepos).
  std::vector<store::Account> list(std::string_view after, std::size_t limit) const;
  std::int64_t count_for_host(std::string_view host) const;

 private:
  struct Entry {
    store::Account admitted;
    std::optional<store::Account> durable;
    bool dirty = false;
  };
  Entry& admitted_locked(std::string_view did, std::string_view host);
  void apply_locked(const AccountEffect& e, bool admitted_too);

  // Heterogeneous lookup by string_view: no std::string built per event.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::unique_ptr<io::Mutex> mutex_;
  // Every event looks its DID up here. Hashed, not ordered: DIDs share long
  // prefixes ("did:plc:..."), so each comparison of a tree walk re-reads
  // them; one hash of the key is cheaper than ~15 such comparisons.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> accounts_;
  // The same keys in DID order, only for list() (listRepos pagination).
  // Views into accounts_' keys: its nodes never move and entries are never
  // erased, so the views stay valid.
  std::set<std::string_view> order_;
  std::map<std::string, std::int64_t, std::less<>> per_host_;  // durable accounts per host
  std::size_t durable_count_ = 0;
  std::vector<std::string> dirty_;
};

}  // namespace faultline::relay
