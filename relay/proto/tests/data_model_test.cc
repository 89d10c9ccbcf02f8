// Interop: DAG-CBOR, CIDs and the JSON form against the atproto
// data-model fixtures (atproto-interop/data-model/*.json):
//  - every fixture: JSON -> CBOR is byte-exact cbor_base64; CBOR -> decode ->
//    encode is byte-exact; the computed CID equals `cid`; decode -> JSON is
//    the fixture's JSON again;
//  - every data-model-valid entry is accepted, every data-model-invalid
//    entry rejected (several are about the JSON form: $link/$bytes shapes,
//    $type and blob rules — handled by cbor_json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "relay/proto/base_encoding.h"
#include "relay/proto/cbor.h"
#include "relay/proto/cbor_json.h"
#include "relay/proto/tests/fixtures.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using nlohmann::json;
using proto::testing::read_fixture;

namespace {

std::optional<json> load(const std::string& name) {
  const auto text = read_fixture("atproto-interop/data-model/" + name);
  if (!text) return std::nullopt;
  return json::parse(*text);
}

TEST(DataModelFixtures, JsonCborCidAgree) {
  const auto fixtures = load("data-model-fixtures.json");
  if (!fixtures) GTEST_SKIP() << "fixtures not found under " << proto::testing::fixtures_dir();
  ASSERT_TRUE(fixtures->is_array());
  ASSERT_GE(fixtures->size(), 3u);
  std::size_t n = 0;
  for (const json& f : *fixtures) {
    SCOPED_TRACE("fixture " + std::to_string(n++));
    const auto expected = proto::base64_decode(f.at("cbor_base64").get<std::string>());
    ASSERT_TRUE(expected);

    // JSON -> CBOR, byte-exact.
    const auto from_json = cbor::from_json(f.at("json"));
    ASSERT_TRUE(from_json.ok()) << from_json.error;
    const auto encoded = cbor::encode(*from_json.value);
    EXPECT_EQ(encoded, *expected);

    // CBOR -> Value -> CBOR, byte-exact; equal to the JSON's Value.
    const auto decoded = cbor::decode(*expected);
    ASSERT_TRUE(decoded.ok()) << decoded.error.message();
    EXPECT_EQ(cbor::encode(*decoded.value), *expected);
    EXPECT_EQ(*decoded.value, *from_json.value);

    // The CID of the block.
    const auto cid = proto::Cid::compute(proto::kCodecDagCbor, *expected);
    EXPECT_EQ(cid.to_string(), f.at("cid").get<std::string>());
    const auto parsed = proto::Cid::parse(f.at("cid").get<std::string>());
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->matches(*expected));

    // Value -> JSON gives the fixture's JSON back.
    EXPECT_EQ(cbor::to_json(*decoded.value), f.at("json"));
  }
}

TEST(DataModelFixtures, ValidEntriesAccepted) {
  const auto entries = load("data-model-valid.json");
  if (!entries) GTEST_SKIP() << "fixtures not found";
  ASSERT_FALSE(entries->empty());
  for (const json& e : *entries) {
    const std::string note = e.at("note").get<std::string>();
    const auto r = cbor::from_json(e.at("json"));
    EXPECT_TRUE(r.ok()) << note << ": " << r.error;
    if (!r.ok()) continue;
    // Whatever is accepted survives the binary form.
    const auto bytes = cbor::encode(*r.value);
    const auto back = cbor::decode(bytes);
    ASSERT_TRUE(back.ok()) << note;
    EXPECT_EQ(*back.value, *r.value) << note;
    EXPECT_FALSE(cbor::check_data_model(*back.value)) << note;
  }
}

TEST(DataModelFixtures, InvalidEntriesRejected) {
  const auto entries = load("data-model-invalid.json");
  if (!entries) GTEST_SKIP() << "fixtures not found";
  ASSERT_FALSE(entries->empty());
  for (const json& e : *entries) {
    const std::string note = e.at("note").get<std::string>();
    const auto r = cbor::from_json(e.at("json"));
    EXPECT_FALSE(r.ok()) << note << " was accepted";
    EXPECT_FALSE(r.error.empty()) << note;
  }
}

TEST(CborJson, FloatsOnlyWhenIntegral) {
  EXPECT_EQ(cbor::from_json(json::parse("{\"a\": 123.0}")).value->find("a")->as_int(), 123);
  EXPECT_FALSE(cbor::from_json(json::parse("{\"a\": 1.5}")).ok());
  EXPECT_FALSE(cbor::from_json(json::parse("{\"a\": 1e300}")).ok());
  EXPECT_FALSE(cbor::from_json(json::parse("{\"a\": 18446744073709551615}")).ok());
  EXPECT_EQ(cbor::from_json(json::parse("{\"a\": -9223372036854775808}")).value->find("a")->as_int(), INT64_MIN);
}

TEST(CborJson, OptionsAndTextForm) {
  cbor::JsonOptions any;
  any.require_object = false;
  EXPECT_FALSE(cbor::from_json(json("blah")).ok());
  EXPECT_EQ(cbor::from_json(json("blah"), any).value->as_text(), "blah");
  EXPECT_FALSE(cbor::from_json_text("{not json").ok());
  const auto r = cbor::from_json_text(R"({"b": {"$bytes": "AQID"}, "a": [null, true]})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(*r.value->find("b")->as_bytes(), (cbor::Bytes{1, 2, 3}));
  // Map keys come out in canonical order whatever the JSON order.
  EXPECT_EQ(r.value->as_map()->begin()->key, "a");
  cbor::JsonOptions shallow;
  shallow.max_depth = 2;
  EXPECT_FALSE(cbor::from_json_text(R"({"a": {"b": {"c": 1}}})", shallow).ok());
}

}  // namespace
