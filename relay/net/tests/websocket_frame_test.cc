// The RFC 6455 frame codec: round trips at every length encoding, masking,
// fragmentation with interleaved control frames, every protocol error, and
// UTF-8 validation.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "relay/net/utf8.h"
#include "relay/net/websocket.h"
#include "tests/test_util.h"

namespace faultline::relay::net {
namespace {

using testing::pattern;

const MaskKey kKey{0x37, 0xfa, 0x21, 0x3d};

// Parses a whole stream (buffered form); returns the messages, stops at an error.
std::vector<Message> parse_all(FrameParser& p, const std::string& wire, std::size_t step = 0) {
  std::vector<Message> out;
  if (step == 0) step = wire.size() ? wire.size() : 1;
  for (std::size_t at = 0; at < wire.size(); at += step) {
    p.feed(std::string_view(wire).substr(at, step));
    for (int guard = 0; guard < 100000; ++guard) {
      Message m;
      auto st = p.next(m);
      if (st == FrameParser::Status::message) {
        out.push_back(std::move(m));
        continue;
      }
      if (st == FrameParser::Status::error) return out;
      break;
    }
  }
  return out;
}

TEST(FrameCodec, RfcExamples) {
  // RFC 6455 §5.7.
  EXPECT_EQ(encode_frame(Opcode::text, "Hello"), std::string("\x81\x05Hello", 7));
  EXPECT_EQ(encode_frame(Opcode::text, "Hello", true, kKey),
            std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  EXPECT_EQ(encode_frame(Opcode::text, "Hel", false), std::string("\x01\x03Hel", 5));
  EXPECT_EQ(encode_frame(Opcode::continuation, "lo"), std::string("\x80\x02lo", 4));
  EXPECT_EQ(encode_frame(Opcode::ping, "Hello"), std::string("\x89\x05Hello", 7));
  EXPECT_EQ(encode_frame(Opcode::binary, pattern(256)).substr(0, 4), std::string("\x82\x7E\x01\x00", 4));
  EXPECT_EQ(encode_frame(Opcode::binary, pattern(65536)).substr(0, 10), std::string("\x82\x7F\0\0\0\0\0\x01\0\0", 10));
}

TEST(FrameCodec, RoundTripsEveryLengthEncodingMaskedAndUnmasked) {
  for (std::size_t len : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    for (bool masked : {false, true}) {
      SCOPED_TRACE("len " + std::to_string(len) + (masked ? " masked" : " unmasked"));
      const std::string payload = pattern(len);
      std::string wire = encode_frame(Opcode::binary, payload, true, masked ? std::optional(kKey) : std::nullopt);
      EXPECT_EQ(wire.size(), frame_header_size(len, masked) + len);
      if (masked && len > 0) {
        EXPECT_NE(wire.substr(wire.size() - len), payload);
      }
      for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{4096}, wire.size()}) {
        if (step == 1 && len > 1000) continue;
        FrameParser p(masked ? Role::server : Role::client);
        auto msgs = parse_all(p, wire, step);
        ASSERT_FALSE(p.failed()) << p.error().reason;
        ASSERT_EQ(msgs.size(), 1u) << "step " << step;
        EXPECT_EQ(msgs[0].opcode, Opcode::binary);
        EXPECT_EQ(msgs[0].payload, payload);
      }
    }
  }
}

TEST(FrameCodec, NonMinimalLengthsAreAccepted) {
  std::string wire(
      "\x82\x7E\x00\x03"
      "abc",
      7);
  FrameParser p(Role::client);
  auto msgs = parse_all(p, wire);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].payload, "abc");
}

TEST(FrameCodec, StreamingParseStopsAtEachMessage) {
  std::string wire = encode_frame(Opcode::text, "one") + encode_frame(Opcode::binary, "two") + "\x82";
  FrameParser p(Role::client);
  Message m;
  std::size_t used = 0;
  ASSERT_EQ(p.parse(wire, used, m), FrameParser::Status::message);
  EXPECT_EQ(used, 5u);
  EXPECT_EQ(m, (Message{Opcode::text, "one"}));
  std::string_view rest = std::string_view(wire).substr(used);
  ASSERT_EQ(p.parse(rest, used, m), FrameParser::Status::message);
  EXPECT_EQ(m, (Message{Opcode::binary, "two"}));
  rest.remove_prefix(used);
  EXPECT_EQ(p.parse(rest, used, m), FrameParser::Status::need_more);
  EXPECT_EQ(used, 1u) << "a partial header is kept by the parser";
  EXPECT_EQ(p.parse(std::string_view("\x01z", 2), used, m), FrameParser::Status::message);
  EXPECT_EQ(m.payload, "z");
}

TEST(FrameCodec, FragmentationWithInterleavedControlFrames) {
  for (Role role : {Role::client, Role::server}) {
    std::optional<MaskKey> key = role == Role::server ? std::optional(kKey) : std::nullopt;
    std::string wire =
        encode_frame(Opcode::text, "Hel", false, key) + encode_frame(Opcode::ping, "p1", true, key) +
        encode_frame(Opcode::continuation, "", false, key) + encode_frame(Opcode::pong, "p2", true, key) +
        encode_frame(Opcode::continuation, "lo \xc3", false, key) +  // UTF-8 split across frames
        encode_frame(Opcode::continuation, "\xa9", true, key) + encode_frame(Opcode::binary, pattern(300), false, key) +
        encode_frame(Opcode::continuation, pattern(200, 2), true, key) +
        encode_frame(Opcode::close, close_payload(1000, "done"), true, key);
    for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{7}, wire.size()}) {
      FrameParser p(role);
      auto msgs = parse_all(p, wire, step);
      ASSERT_FALSE(p.failed()) << p.error().reason;
      ASSERT_EQ(msgs.size(), 5u);
      EXPECT_EQ(msgs[0], (Message{Opcode::ping, "p1"}));
      EXPECT_EQ(msgs[1], (Message{Opcode::pong, "p2"}));
      EXPECT_EQ(msgs[2], (Message{Opcode::text, "Hello \xc3\xa9"}));
      EXPECT_EQ(msgs[3], (Message{Opcode::binary, pattern(300) + pattern(200, 2)}));
      EXPECT_EQ(msgs[4].opcode, Opcode::close);
      EXPECT_EQ(msgs[4].close_code(), 1000);
      EXPECT_EQ(msgs[4].close_reason(), "done");
      EXPECT_FALSE(p.mid_message());
    }
  }
}

struct Bad {
  const char* name;
  Role role;
  std::string wire;
  std::uint16_t code;
};

std::string with_byte0(std::string f, std::uint8_t b0) {
  f[0] = static_cast<char>(b0);
  return f;
}

TEST(FrameCodec, EveryProtocolErrorGivesItsCloseCode) {
  const std::string ok_text = encode_frame(Opcode::text, "ok");
  const std::vector<Bad> cases = {
      {"RSV1", Role::client, with_byte0(ok_text, 0xC1), 1002},
      {"RSV2", Role::client, with_byte0(ok_text, 0xA1), 1002},
      {"RSV3", Role::client, with_byte0(ok_text, 0x91), 1002},
      {"opcode 3", Role::client, with_byte0(ok_text, 0x83), 1002},
      {"opcode 0xB", Role::client, with_byte0(ok_text, 0x8B), 1002},
      {"unmasked to server", Role::server, ok_text, 1002},
      {"masked to client", Role::client, encode_frame(Opcode::text, "ok", true, kKey), 1002},
      {"fragmented ping", Role::client, encode_frame(Opcode::ping, "x", false), 1002},
      {"ping of 126 bytes", Role::client, encode_frame(Opcode::ping, pattern(126)), 1002},
      {"close of 126 bytes", Role::client, encode_frame(Opcode::close, "\x03\xe8" + std::string(124, 'a')), 1002},
      {"lonely continuation", Role::client, encode_frame(Opcode::continuation, "x"), 1002},
      {"text inside fragmented", Role::client, encode_frame(Opcode::text, "a", false) + encode_frame(Opcode::text, "b"),
       1002},
      {"binary inside fragmented", Role::client,
       encode_frame(Opcode::binary, "a", false) + encode_frame(Opcode::binary, "b"), 1002},
      {"64-bit length top bit", Role::client, std::string("\x82\x7F\x80\0\0\0\0\0\0\x01", 10), 1002},
      {"close with 1 byte", Role::client, encode_frame(Opcode::close, "\x03"), 1002},
      {"close code 999", Role::client, encode_frame(Opcode::close, close_payload(999, "")), 1002},
      {"close code 1004", Role::client, encode_frame(Opcode::close, close_payload(1004, "")), 1002},
      {"close code 1005", Role::client, encode_frame(Opcode::close, close_payload(1005, "")), 1002},
      {"close code 1006", Role::client, encode_frame(Opcode::close, close_payload(1006, "")), 1002},
      {"close code 1015", Role::client, encode_frame(Opcode::close, close_payload(1015, "")), 1002},
      {"close code 2999", Role::client, encode_frame(Opcode::close, close_payload(2999, "")), 1002},
      {"close code 5000", Role::client, encode_frame(Opcode::close, close_payload(5000, "")), 1002},
      {"close reason not UTF-8", Role::client, encode_frame(Opcode::close, "\x03\xe8\xff"), 1007},
      {"text not UTF-8", Role::client, encode_frame(Opcode::text, "a\xc0\xaf"), 1007},
      {"text surrogate", Role::client, encode_frame(Opcode::text, "\xed\xa0\x80"), 1007},
      {"text above U+10FFFF", Role::client, encode_frame(Opcode::text, "\xf4\x90\x80\x80"), 1007},
      {"text ends mid-character", Role::client, encode_frame(Opcode::text, "a\xe2\x82"), 1007},
      {"fragmented text bad", Role::client,
       encode_frame(Opcode::text, "ok", false) + encode_frame(Opcode::continuation, "\xfe", false), 1007},
      {"too big single", Role::client, encode_frame(Opcode::binary, pattern(1001)), 1009},
      {"too big fragments", Role::client,
       encode_frame(Opcode::binary, pattern(600), false) + encode_frame(Opcode::continuation, pattern(401)), 1009},
      {"too big 64-bit", Role::client, std::string("\x82\x7F\x7F\xff\xff\xff\xff\xff\xff\xff", 10), 1009},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {std::size_t{1}, c.wire.size()}) {
      FrameParser p(c.role, FrameParserOptions{1000});
      auto msgs = parse_all(p, c.wire, step);
      EXPECT_TRUE(msgs.empty()) << c.name;
      EXPECT_TRUE(p.failed()) << c.name;
      EXPECT_EQ(p.error().code, c.code) << c.name << ": " << p.error().reason;
      EXPECT_FALSE(p.error().reason.empty()) << c.name;
      Message m;
      EXPECT_EQ(p.next(m), FrameParser::Status::error) << "an error is final";
    }
  }
}

TEST(FrameCodec, ValidCloseFrames) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
    FrameParser p(Role::client);
    auto msgs = parse_all(p, encode_frame(Opcode::close, close_payload(code, "r\xc3\xa9")));
    ASSERT_EQ(msgs.size(), 1u) << code << ": " << p.error().reason;
    EXPECT_EQ(msgs[0].close_code(), code);
    EXPECT_EQ(msgs[0].close_reason(), "r\xc3\xa9");
  }
  FrameParser p(Role::client);
  auto empty = parse_all(p, encode_frame(Opcode::close, ""));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].close_code(), close_code::no_status);
  // A long reason is cut on a character boundary to fit 125 bytes.
  std::string long_reason;
  for (int i = 0; i < 100; ++i) long_reason += "\xc3\xa9";
  std::string cp = close_payload(1000, long_reason);
  EXPECT_LE(cp.size(), 125u);
  EXPECT_TRUE(is_valid_utf8(cp.substr(2)));
}

TEST(FrameCodec, MaskingMatchesAByteWiseReference) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::size_t n = rng() % 70;
    std::size_t offset = rng() % 9;
    MaskKey key{static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()),
                static_cast<std::uint8_t>(rng())};
    std::string data = pattern(n, static_cast<unsigned>(round));
    std::string ref = data;
    for (std::size_t i = 0; i < n; ++i) ref[i] = static_cast<char>(ref[i] ^ key[(offset + i) % 4]);
    apply_mask(reinterpret_cast<std::uint8_t*>(data.data()), n, key, offset);
    EXPECT_EQ(data, ref);
  }
}

TEST(Utf8, ValidatesAcrossAnySplit) {
  const std::vector<std::string> good = {"",
                                         "plain ascii text longer than eight",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xef\xbf\xbf",
                                         "\xf4\x8f\xbf\xbf",
                                         "\xed\x9f\xbf"};
  const std::vector<std::string> bad = {"\x80",         "\xc0\x80",         "\xc1\xbf",         "\xe0\x80\x80",
                                        "\xed\xa0\x80", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                                        "\xff"};
  for (const auto& s : good) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      Utf8Validator v;
      EXPECT_TRUE(v.feed(s.substr(0, cut)));
      EXPECT_TRUE(v.feed(s.substr(cut)));
      EXPECT_TRUE(v.complete());
    }
  }
  for (const auto& s : bad) EXPECT_FALSE(is_valid_utf8("ok" + s)) << s;
  EXPECT_FALSE(is_valid_utf8("\xe2\x82")) << "truncated";
}

}  // namespace
}  // namespace faultline::relay::net
