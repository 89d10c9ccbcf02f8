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

namespace {
store::AccountStatus status_of(bool active, std::string_view status) {
  if (active) return store::AccountStatus::active;
  auto parsed = store::parse_account_status(status);
  // An inactive account with no (or an unknown) status is still inactive.
  return parsed && *parsed != store::AccountStatus::active ? *parsed : store::AccountStatus::deactivated;
}
}  // namespace

void AccountTable::load(const std::vector<store::Account>& accounts) {
  io::LockGuard g(*mutex_);
  for (const auto& a : accounts) {
    auto [it, inserted] = accounts_.try_emplace(a.did);
    if (inserted) order_.insert(it->first);
    if (inserted || !it->second.durable) {
      ++per_host_[a.host];
      ++durable_count_;
    }
    it->second = Entry{a, a, false};
  }
}

AccountTable::Entry& AccountTable::admitted_locked(std::string_view did, std::string_view host) {
  auto it = accounts_.find(did);
  if (it == accounts_.end()) {
    Entry e;
    e.admitted.did = std::string(did);
    e.admitted.host = std::string(host);
    it = accounts_.emplace(e.admitted.did, std::move(e)).first;
    order_.insert(it->first);
  }
  return it->second;
}

AccountVerdict AccountTable::on_commit(std::string_view did, std::string_view host, std::string_view rev,
                                       std::string_view commit_cid) {
  io::LockGuard g(*mutex_);
  // One lookup for the check and the update: this runs for every commit.
  auto it = accounts_.find(did);
  Entry* e = nullptr;
  if (it != accounts_.end()) {
    const auto& a = it->second.admitted;
    if (a.status != store::AccountStatus::active) return AccountVerdict::inactive;
    if (!a.rev.empty() && rev <= a.rev) return AccountVerdict::rev_not_newer;
    e = &it->second;
  } else {
    e = &admitted_locked(did, host);
  }
  e->admitted.rev.assign(rev);
  e->admitted.commit_cid.assign(commit_cid);
  return AccountVerdict::pass;
}

void AccountTable::on_account(std::string_view did, std::string_view host, bool active, std::string_view status) {
  io::LockGuard g(*mutex_);
  admitted_locked(did, host).admitted.status = status_of(active, status);
}

void AccountTable::on_identity(std::string_view did, std::string_view host) {
  io::LockGuard g(*mutex_);
  admitted_locked(did, host);
}

void AccountTable::apply_locked(const AccountEffect& effect, bool admitted_too) {
  if (effect.kind == AccountEffect::Kind::none) return;
  auto& e = admitted_locked(effect.did, effect.host);
  if (!e.durable) {
    e.durable.emplace();
    e.durable->did = effect.did;
    e.durable->host = e.admitted.host;
    ++per_host_[e.durable->host];
    ++durable_count_;
  }
  auto& d = *e.durable;
  switch (effect.kind) {
    case AccountEffect::Kind::commit:
      if (d.rev.empty() || effect.rev > d.rev) {
        d.rev = effect.rev;
        d.commit_cid = effect.commit_cid;
      }
      break;
    case AccountEffect::Kind::account:
      d.status = status_of(effect.active, effect.status);
      break;
    case AccountEffect::Kind::identity:
    case AccountEffect::Kind::none:
      break;
  }
  d.updated_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  if (admitted_too) e.admitted = d;
  if (!e.dirty) {
    e.dirty = true;
    dirty_.push_back(d.did);
  }
}

void AccountTable::apply(const std::vector<AccountEffect>& effects) {
  io::LockGuard g(*mutex_);
  for (const auto& e : effects) apply_locked(e, false);
}

void AccountTable::recover(const std::vector<AccountEffect>& effects) {
  io::LockGuard g(*mutex_);
  for (const auto& e : effects) apply_locked(e, true);
}

std::vector<store::Account> AccountTable::take_dirty() {
  io::LockGuard g(*mutex_);
  std::vector<store::Account> out;
  out.reserve(dirty_.size());
  for (auto& did : dirty_) {
    auto it = accounts_.find(did);
    if (it == accounts_.end()) continue;
    it->second.dirty = false;
    if (it->second.durable) out.push_back(*it->second.durable);
  }
  dirty_.clear();
  return out;
}

std::size_t AccountTable::size() const {
  io::LockGuard g(*mutex_);
  return durable_count_;
}

std::optional<store::Account> AccountTable::get(std::string_view did) const {
  io::LockGuard g(*mutex_);
  auto it = accounts_.find(did);
  if (it == accounts_.end()) return std::nullopt;
  return it->second.durable;
}

std::vector<store::Account> AccountTable::list(std::string_view after, std::size_t limit) const {
  io::LockGuard g(*mutex_);
  std::vector<store::Account> out;
  for (auto k = order_.upper_bound(after); k != order_.end() && out.size() < limit; ++k) {
    const auto& e = accounts_.find(*k)->second;
    if (e.durable && !e.durable->commit_cid.empty()) out.push_back(*e.durable);
  }
  return out;
}

std::int64_t AccountTable::count_for_host(std::string_view host) const {
  io::LockGuard g(*mutex_);
  auto it = per_host_.find(host);
  return it == per_host_.end() ? 0 : it->second;
}

}  // namespace faultline::relay
