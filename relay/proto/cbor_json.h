// The JSON form of the atproto data model (the form of the interop fixtures
// and of XRPC bodies): links are {"$link": "<cid string>"}, bytes are
// {"$bytes": "<base64>"}; everything else maps directly.
//
// Contract of from_json():
//  - Returns a Value or an error string, never throws on any JSON value.
//  - Integers must fit int64. A JSON number with a fraction or exponent is
//    accepted only if it is finite, integral and within +-2^53 (JSON has one
//    number type: "123.0" is the integer 123 in atproto); any other float is
//    rejected — the data model has no floats.
//  - An object with a "$link" key must have no other key and a string value
//    that Cid::parse accepts; likewise "$bytes" with strict base64 (padding
//    optional). Otherwise objects become maps (keys re-sorted canonically).
//  - With JsonOptions::require_object the top level must be an object (a
//    record / data node); with check_data_model (default) check_data_model()
//    must also pass. Nesting deeper than max_depth is rejected.
// check_data_model(): every map with "$type" has a non-empty text $type;
// a {"$type": "blob"} map has a link `ref`, a text `mimeType` and an integer
// `size`. nullopt = valid.
// to_json() is total and inverse to from_json() on accepted input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "relay/proto/cbor_value.h"

namespace faultline::relay::proto::cbor {

struct JsonOptions {
  bool require_object = true;
  bool check_data_model = true;
  std::size_t max_depth = 64;
};

struct JsonResult {
  std::optional<Value> value;
  std::string error;
  bool ok() const { return value.has_value(); }
};

JsonResult from_json(const nlohmann::json& j, const JsonOptions& opts = {});
// Parses JSON text first (syntax errors are reported, not thrown).
JsonResult from_json_text(std::string_view text, const JsonOptions& opts = {});

nlohmann::json to_json(const Value& v);

std::optional<std::string> check_data_model(const Value& v);

}  // namespace faultline::relay::proto::cbor
