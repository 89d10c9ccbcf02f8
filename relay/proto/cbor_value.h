// The atproto data model as a value tree (`cbor::Value`): null, boolean,
// integer (int64 range), bytes, text, array, map with text keys, and link
// (a CID). There are no floats — the atproto data model forbids them — and no
// other CBOR kinds (undefined, simple values, other tags).
//
// Contract:
//  - A Map keeps its entries in DAG-CBOR canonical key order — shorter keys
//    first, then bytewise — with unique keys, whatever order they were set
//    in; iteration visits them in that order, so encoding a Value needs no
//    sorting and is canonical by construction.
//  - Text is stored as given; callers building Values from untrusted bytes
//    go through the decoder, which validates UTF-8. encode() does not
//    re-validate.
//  - The checked accessors (as_int(), as_text(), find(), ...) return
//    nullopt/nullptr when the value has another type; they never throw.
//    The unchecked ones (int_value(), text(), ...) require the type (assert).
//  - Values are ordinary copyable/movable types; equality is deep.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "relay/proto/cid.h"

namespace faultline::relay::proto::cbor {

enum class Type : std::uint8_t { kNull, kBool, kInt, kBytes, kText, kArray, kMap, kLink };

// "null", "bool", "integer", "bytes", "text", "array", "map", "link".
const char* type_name(Type t);

// DAG-CBOR map key order: length first, then bytewise.
inline bool key_less(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;  // char_traits<char>::compare is unsigned-bytewise
}

class Value;
struct MapEntry;

using Bytes = std::vector<std::uint8_t>;
using Array = std::vector<Value>;

class Map {
 public:
  using const_iterator = std::vector<MapEntry>::const_iterator;
  using iterator = std::vector<MapEntry>::iterator;

  // Special members are defined after MapEntry is complete (std::vector's
  // members are constexpr in C++20, and clang instantiates them eagerly).
  Map();
  Map(const Map&);
  Map(Map&&) noexcept;
  Map& operator=(const Map&);
  Map& operator=(Map&&) noexcept;
  ~Map();
  // Builds from key/value pairs in any order; later duplicates replace
  // earlier ones.
  Map(std::initializer_list<std::pair<std::string, Value>> entries);

  std::size_t size() const;
  bool empty() const;
  const_iterator begin() const;
  const_iterator end() const;
  iterator begin();
  iterator end();

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  // Inserts or replaces, keeping canonical order; returns the stored value.
  Value& set(std::string key, Value value);
  bool erase(std::string_view key);

  // Appends when `key` sorts strictly after the last key (the decoder's
  // fast path); returns false and changes nothing otherwise.
  bool append_sorted(std::string key, Value value);

  void reserve(std::size_t n);

  friend bool operator==(const Map& a, const Map& b);

 private:
  std::vector<MapEntry> entries_;
};

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(std::int64_t{i}) {}
  Value(long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(long long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(const char* s) : v_(std::string(s)) {}
  // Any other pointer would silently become a bool.
  template <typename T>
  Value(const T*) = delete;
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Map m) : v_(std::move(m)) {}
  Value(Cid c) : v_(std::move(c)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_bytes() const { return type() == Type::kBytes; }
  bool is_text() const { return type() == Type::kText; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_map() const { return type() == Type::kMap; }
  bool is_link() const { return type() == Type::kLink; }

  // Checked accessors.
  std::optional<bool> as_bool() const;
  std::optional<std::int64_t> as_int() const;
  std::optional<std::string_view> as_text() const;
  const Bytes* as_bytes() const { return std::get_if<Bytes>(&v_); }
  const Array* as_array() const { return std::get_if<Array>(&v_); }
  const Map* as_map() const { return std::get_if<Map>(&v_); }
  const Cid* as_link() const { return std::get_if<Cid>(&v_); }
  Bytes* as_bytes() { return std::get_if<Bytes>(&v_); }
  Array* as_array() { return std::get_if<Array>(&v_); }
  Map* as_map() { return std::get_if<Map>(&v_); }

  // Map lookup: nullptr if this is not a map or has no such key.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);

  // Unchecked accessors (the type must match).
  bool bool_value() const { return std::get<bool>(v_); }
  std::int64_t int_value() const { return std::get<std::int64_t>(v_); }
  const std::string& text() const { return std::get<std::string>(v_); }
  const Bytes& bytes() const { return std::get<Bytes>(v_); }
  const Array& array() const { return std::get<Array>(v_); }
  const Map& map() const { return std::get<Map>(v_); }
  const Cid& link() const { return std::get<Cid>(v_); }
  Array& array() { return std::get<Array>(v_); }
  Map& map() { return std::get<Map>(v_); }

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  // Alternative order == Type order.
  std::variant<std::monostate, bool, std::int64_t, Bytes, std::string, Array, Map, Cid> v_;
};

struct MapEntry {
  std::string key;
  Value value;
  friend bool operator==(const MapEntry& a, const MapEntry& b) { return a.key == b.key && a.value == b.value; }
};

inline Map::Map() = default;
inline Map::Map(const Map&) = default;
inline Map::Map(Map&&) noexcept = default;
inline Map& Map::operator=(const Map&) = default;
inline Map& Map::operator=(Map&&) noexcept = default;
inline Map::~Map() = default;
inline std::size_t Map::size() const { return entries_.size(); }
inline bool Map::empty() const { return entries_.empty(); }
inline Map::const_iterator Map::begin() const { return entries_.begin(); }
inline Map::const_iterator Map::end() const { return entries_.end(); }
inline Map::iterator Map::begin() { return entries_.begin(); }
inline Map::iterator Map::end() { return entries_.end(); }
inline void Map::reserve(std::size_t n) { entries_.reserve(n); }
inline bool operator==(const Map& a, const Map& b) { return a.entries_ == b.entries_; }

}  // namespace faultline::relay::proto::cbor
