// libFuzzer target: FrameParser in both roles. The first input byte picks the
// role, the message bound and the segmentation. Properties:
//  - the streaming form in random pieces and the buffered form in one piece
//    give the same messages and the same error (code);
//  - every parsed message, re-encoded as one frame (masked for a server-role
//    parser), parses back equal;
//  - no message exceeds the bound, every text message and close reason is
//    UTF-8, every control payload is at most 125 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/net/utf8.h"
#include "relay/net/websocket.h"

namespace net = faultline::relay::net;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  std::vector<net::Message> messages;
  bool failed = false;
  std::uint16_t code = 0;
};

Outcome streaming(net::Role role, std::size_t max, std::string_view in, std::uint32_t seed) {
  Outcome o;
  net::FrameParser p(role, net::FrameParserOptions{max});
  std::size_t at = 0;
  while (at < in.size() && !o.failed) {
    seed = seed * 1103515245u + 12345u;
    std::string_view piece = in.substr(at, 1 + (seed >> 16) % 64);
    at += piece.size();
    for (int guard = 0; guard < 1 << 20; ++guard) {
      net::Message m;
      std::size_t used = 0;
      auto st = p.parse(piece, used, m);
      check(used <= piece.size());
      piece.remove_prefix(used);
      if (st == net::FrameParser::Status::message) {
        o.messages.push_back(std::move(m));
        continue;
      }
      if (st == net::FrameParser::Status::error) {
        o.failed = true;
        o.code = p.error().code;
      } else {
        check(piece.empty());  // need_more consumes everything
      }
      break;
    }
  }
  return o;
}

Outcome buffered(net::Role role, std::size_t max, std::string_view in) {
  Outcome o;
  net::FrameParser p(role, net::FrameParserOptions{max});
  p.feed(in);
  for (int guard = 0; guard < 1 << 20; ++guard) {
    net::Message m;
    auto st = p.next(m);
    if (st == net::FrameParser::Status::message) {
      o.messages.push_back(std::move(m));
      continue;
    }
    if (st == net::FrameParser::Status::error) {
      o.failed = true;
      o.code = p.error().code;
    }
    break;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t ctl = data[0];
  const net::Role role = (ctl & 1) ? net::Role::server : net::Role::client;
  const std::size_t max = (ctl & 2) ? 64 : 1 << 16;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome a = streaming(role, max, in, ctl);
  Outcome b = buffered(role, max, in);
  check(a.failed == b.failed && a.code == b.code);
  check(a.messages == b.messages);
  if (a.failed) check(a.code == 1002 || a.code == 1007 || a.code == 1009);

  for (const auto& m : a.messages) {
    if (net::is_control(m.opcode)) {
      check(m.payload.size() <= net::kMaxControlPayload);
    } else {
      check(m.payload.size() <= max);
      check(m.opcode == net::Opcode::text || m.opcode == net::Opcode::binary);
    }
    if (m.opcode == net::Opcode::text) check(net::is_valid_utf8(m.payload));
    if (m.opcode == net::Opcode::close && !m.payload.empty()) {
      check(net::is_valid_close_code(m.close_code()));
      check(net::is_valid_utf8(m.close_reason()));
    }
    // Re-encode as one frame and parse it back.
    std::optional<net::MaskKey> key;
    if (role == net::Role::server) key = net::MaskKey{ctl, 0x5a, 0xa5, static_cast<std::uint8_t>(size)};
    std::string wire = net::encode_frame(m.opcode, m.payload, true, key);
    net::FrameParser p(role, net::FrameParserOptions{max});
    net::Message back;
    std::size_t used = 0;
    check(p.parse(wire, used, back) == net::FrameParser::Status::message);
    check(used == wire.size());
    check(back == m);
  }
  return 0;
}
