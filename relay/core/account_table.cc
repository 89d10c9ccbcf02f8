#include "relay/core/account_table.h"

#include <chrono>

namespace faultline::relay {

std::string_view to_string(AccountVerdict v) {
  switch (v) {
    case AccountVerdict::pass: return "pass";
    case AccountVerdict::rev_not_newer: return "rev-not-newer";
    case AccountVerdict::inactive: return "account-inactive";
  }
  return "?";
}

AccountTable::AccountTable(io::Io& io) : mutex_(io.make_mutex("accounts")) {}

void AccountTable::load(const std::vector<store::Account>& accounts) {
  io::LockGuard g(*mutex_);
  for (const auto& a : accounts) {
    if (accounts_.find(a.did) == accounts_.end()) ++per_host_[a.host];
    accounts_[a.did] = Entry{a, false};
  }
}

AccountTable::Entry& AccountTable::entry_locked(std::string_view did, std::string_view host) {
  auto it = accounts_.find(did);
  if (it == accounts_.end()) {
    ++per_host_[std::string(host)];
    Entry e;
    e.account.did = std::string(did);
    e.account.host = std::string(host);
    it = accounts_.emplace(e.account.did, std::move(e)).first;
  }
  auto& e = it->second;
  if (!e.dirty) {
    e.dirty = true;
    dirty_.push_back(e.account.did);
  }
  e.account.updated_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return e;
}

AccountVerdict AccountTable::on_commit(std::string_view did, std::string_view host, std::string_view rev,
                                       std::string_view commit_cid) {
  io::LockGuard g(*mutex_);
  auto it = accounts_.find(did);
  if (it != accounts_.end()) {
    const auto& a = it->second.account;
    if (a.status != store::AccountStatus::active) return AccountVerdict::inactive;
    if (!a.rev.empty() && rev <= a.rev) return AccountVerdict::rev_not_newer;
  }
  auto& e = entry_locked(did, host);
  e.account.rev = std::string(rev);
  e.account.commit_cid = std::string(commit_cid);
  return AccountVerdict::pass;
}

void AccountTable::on_account(std::string_view did, std::string_view host, bool active, std::string_view status) {
  io::LockGuard g(*mutex_);
  auto& e = entry_locked(did, host);
  if (active) {
    e.account.status = store::AccountStatus::active;
  } else {
    auto parsed = store::parse_account_status(status);
    // An inactive account with no (or an unknown) status is still inactive.
    e.account.status = parsed && *parsed != store::AccountStatus::active ? *parsed : store::AccountStatus::deactivated;
  }
}

void AccountTable::on_identity(std::string_view did, std::string_view host) {
  io::LockGuard g(*mutex_);
  entry_locked(did, host);
}

std::vector<store::Account> AccountTable::take_dirty() {
  io::LockGuard g(*mutex_);
  std::vector<store::Account> out;
  out.reserve(dirty_.size());
  for (auto& did : dirty_) {
    auto it = accounts_.find(did);
    if (it == accounts_.end()) continue;
    it->second.dirty = false;
    out.push_back(it->second.account);
  }
  dirty_.clear();
  return out;
}

std::size_t AccountTable::size() const {
  io::LockGuard g(*mutex_);
  return accounts_.size();
}

std::optional<store::Account> AccountTable::get(std::string_view did) const {
  io::LockGuard g(*mutex_);
  auto it = accounts_.find(did);
  if (it == accounts_.end()) return std::nullopt;
  return it->second.account;
}

}  // namespace faultline::relay

namespace faultline::relay {

std::vector<store::Account> AccountTable::list(std::string_view after, std::size_t limit) const {
  io::LockGuard g(*mutex_);
  std::vector<store::Account> out;
  for (auto it = accounts_.upper_bound(after); it != accounts_.end() && out.size() < limit; ++it)
    if (!it->second.account.commit_cid.empty()) out.push_back(it->second.account);
  return out;
}

std::int64_t AccountTable::count_for_host(std::string_view host) const {
  io::LockGuard g(*mutex_);
  auto it = per_host_.find(host);
  return it == per_host_.end() ? 0 : it->second;
}

}  // namespace faultline::relay
