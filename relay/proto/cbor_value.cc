#include "relay/proto/cbor_value.h"

#include <algorithm>

namespace faultline::relay::proto::cbor {

const char* type_name(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "integer";
    case Type::kBytes:
      return "bytes";
    case Type::kText:
      return "text";
    case Type::kArray:
      return "array";
    case Type::kMap:
      return "map";
    case Type::kLink:
      return "link";
  }
  return "unknown";
}

Map::Map(std::initializer_list<std::pair<std::string, Value>> entries) {
  entries_.reserve(entries.size());
  for (const auto& [k, v] : entries) set(k, v);
}

namespace {

template <typename Vec>
auto lower_bound_key(Vec& entries, std::string_view key) {
  return std::lower_bound(entries.begin(), entries.end(), key,
                          [](const MapEntry& e, std::string_view k) { return key_less(e.key, k); });
}

}  // namespace

const Value* Map::find(std::string_view key) const {
  // Maps in frames are small: a linear scan on the length-sorted keys beats
  // the binary search's branch misses below ~16 entries.
  if (entries_.size() <= 16) {
    for (const MapEntry& e : entries_) {
      if (e.key.size() == key.size() && e.key == key) return &e.value;
      if (e.key.size() > key.size()) break;
    }
    return nullptr;
  }
  auto it = lower_bound_key(entries_, key);
  return it != entries_.end() && it->key == key ? &it->value : nullptr;
}

Value* Map::find(std::string_view key) { return const_cast<Value*>(std::as_const(*this).find(key)); }

Value& Map::set(std::string key, Value value) {
  auto it = lower_bound_key(entries_, key);
  if (it != entries_.end() && it->key == key) {
    it->value = std::move(value);
    return it->value;
  }
  it = entries_.insert(it, MapEntry{std::move(key), std::move(value)});
  return it->value;
}

bool Map::erase(std::string_view key) {
  auto it = lower_bound_key(entries_, key);
  if (it == entries_.end() || it->key != key) return false;
  entries_.erase(it);
  return true;
}

bool Map::append_sorted(std::string key, Value value) {
  if (!entries_.empty() && !key_less(entries_.back().key, key)) return false;
  entries_.push_back(MapEntry{std::move(key), std::move(value)});
  return true;
}

std::optional<bool> Value::as_bool() const {
  if (const bool* b = std::get_if<bool>(&v_)) return *b;
  return std::nullopt;
}

std::optional<std::int64_t> Value::as_int() const {
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v_)) return *i;
  return std::nullopt;
}

std::optional<std::string_view> Value::as_text() const {
  if (const std::string* s = std::get_if<std::string>(&v_)) return std::string_view(*s);
  return std::nullopt;
}

const Value* Value::find(std::string_view key) const {
  const Map* m = as_map();
  return m != nullptr ? m->find(key) : nullptr;
}

Value* Value::find(std::string_view key) {
  Map* m = as_map();
  return m != nullptr ? m->find(key) : nullptr;
}

}  // namespace faultline::relay::proto::cbor
