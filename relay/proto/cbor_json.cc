#include "relay/proto/cbor_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "relay/proto/base_encoding.h"
#include "relay/proto/utf8.h"

namespace faultline::relay::proto::cbor {
namespace {

using nlohmann::json;

bool convert(const json& j, std::size_t depth, const JsonOptions& opts, Value& out, std::string& err) {
  if (depth > opts.max_depth) {
    err = "nesting deeper than " + std::to_string(opts.max_depth);
    return false;
  }
  switch (j.type()) {
    case json::value_t::null:
      out = Value(nullptr);
      return true;
    case json::value_t::boolean:
      out = Value(j.get<bool>());
      return true;
    case json::value_t::number_integer:
      out = Value(j.get<std::int64_t>());
      return true;
    case json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        err = "integer out of int64 range";
        return false;
      }
      out = Value(static_cast<std::int64_t>(u));
      return true;
    }
    case json::value_t::number_float: {
      const double d = j.get<double>();
      constexpr double kSafe = 9007199254740992.0;  // 2^53
      if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > kSafe) {
        err = "float values are not allowed in the atproto data model";
        return false;
      }
      out = Value(static_cast<std::int64_t>(d));
      return true;
    }
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (!is_valid_utf8(s)) {
        err = "string is not valid UTF-8";
        return false;
      }
      out = Value(s);
      return true;
    }
    case json::value_t::array: {
      Array items;
      items.reserve(j.size());
      for (const json& e : j) {
        items.emplace_back();
        if (!convert(e, depth + 1, opts, items.back(), err)) return false;
      }
      out = Value(std::move(items));
      return true;
    }
    case json::value_t::object: {
      if (auto it = j.find("$link"); it != j.end()) {
        if (j.size() != 1) {
          err = "$link object with extra fields";
          return false;
        }
        if (!it->is_string()) {
          err = "$link value is not a string";
          return false;
        }
        auto cid = Cid::parse(it->get_ref<const std::string&>());
        if (!cid) {
          err = "$link is not a valid CID: " + it->get<std::string>();
          return false;
        }
        out = Value(*cid);
        return true;
      }
      if (auto it = j.find("$bytes"); it != j.end()) {
        if (j.size() != 1) {
          err = "$bytes object with extra fields";
          return false;
        }
        if (!it->is_string()) {
          err = "$bytes value is not a string";
          return false;
        }
        auto bytes = base64_decode(it->get_ref<const std::string&>());
        if (!bytes) {
          err = "$bytes is not valid base64";
          return false;
        }
        out = Value(std::move(*bytes));
        return true;
      }
      Map map;
      map.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!is_valid_utf8(it.key())) {
          err = "object key is not valid UTF-8";
          return false;
        }
        Value v;
        if (!convert(it.value(), depth + 1, opts, v, err)) return false;
        map.set(it.key(), std::move(v));
      }
      out = Value(std::move(map));
      return true;
    }
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  err = "unsupported JSON value";
  return false;
}

std::optional<std::string> check_node(const Value& v, std::size_t depth) {
  if (depth > 256) return "nesting too deep";
  if (const Array* a = v.as_array()) {
    for (const Value& e : *a) {
      if (auto err = check_node(e, depth + 1)) return err;
    }
    return std::nullopt;
  }
  const Map* m = v.as_map();
  if (m == nullptr) return std::nullopt;
  if (const Value* type = m->find("$type")) {
    const auto t = type->as_text();
    if (!t) return std::string("$type is not a string");
    if (t->empty()) return std::string("$type is empty");
    if (*t == "blob") {
      const Value* ref = m->find("ref");
      const Value* mime = m->find("mimeType");
      const Value* size = m->find("size");
      if (ref == nullptr || !ref->is_link()) return std::string("blob without a link `ref`");
      if (mime == nullptr || !mime->is_text()) return std::string("blob without a string `mimeType`");
      if (size == nullptr || !size->is_int()) return std::string("blob without an integer `size`");
    }
  }
  for (const MapEntry& e : *m) {
    if (auto err = check_node(e.value, depth + 1)) return err;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_data_model(const Value& v) { return check_node(v, 0); }

JsonResult from_json(const json& j, const JsonOptions& opts) {
  JsonResult r;
  if (opts.require_object && !j.is_object()) {
    r.error = "top level is not an object";
    return r;
  }
  Value v;
  if (!convert(j, 0, opts, v, r.error)) return r;
  if (opts.check_data_model) {
    if (auto err = check_data_model(v)) {
      r.error = *err;
      return r;
    }
  }
  r.value = std::move(v);
  return r;
}

JsonResult from_json_text(std::string_view text, const JsonOptions& opts) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    JsonResult r;
    r.error = "not valid JSON";
    return r;
  }
  return from_json(j, opts);
}

json to_json(const Value& v) {
  switch (v.type()) {
    case Type::kNull:
      return nullptr;
    case Type::kBool:
      return v.bool_value();
    case Type::kInt:
      return v.int_value();
    case Type::kBytes:
      return json{{"$bytes", base64_encode(v.bytes())}};
    case Type::kText:
      return v.text();
    case Type::kArray: {
      json a = json::array();
      for (const Value& e : v.array()) a.push_back(to_json(e));
      return a;
    }
    case Type::kMap: {
      json o = json::object();
      for (const MapEntry& e : v.map()) o[e.key] = to_json(e.value);
      return o;
    }
    case Type::kLink:
      return json{{"$link", v.link().to_string()}};
  }
  return nullptr;
}

}  // namespace faultline::relay::proto::cbor
