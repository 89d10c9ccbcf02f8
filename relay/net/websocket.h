// The RFC 6455 frame codec: encode_frame() and FrameParser, the incremental
// parser that turns bytes into complete messages. No I/O here (see
// websocket_conn.h for the connection).
//
// Contract of FrameParser:
//  - It parses what one endpoint receives. Role::server parses what clients
//    send: every frame must be masked. Role::client parses what servers send:
//    no frame may be masked (RFC 6455 §5.1).
//  - Bytes may arrive in any segmentation (a header split anywhere, one byte
//    at a time); the messages produced never depend on it. Two forms:
//      parse(in, consumed, out)  streaming: consumes `in` up to the end of the
//                                next complete message; keeps at most a
//                                partial frame header (≤ 14 bytes) itself.
//      feed(bytes) + next(out)   buffered: the parser keeps the bytes.
//    Use one form per parser.
//  - A message is a whole data message (text or binary, reassembled from its
//    fragments) or one control frame (close, ping, pong). Control frames may
//    arrive between the fragments of a data message and come out first.
//  - Protocol errors give status error with a close code and a reason, and
//    the state is final:
//      1002 RSV bits set (no extension is ever negotiated), a reserved opcode,
//           a masked frame to a client or an unmasked one to a server, a
//           control frame fragmented or above 125 bytes, a continuation
//           without a message or a new message inside a fragmented one, a
//           64-bit length with its top bit set, a close payload of one byte
//           or with a code that must not be sent (§7.4);
//      1007 a text message or close reason that is not UTF-8 (found at the
//           first bad byte, even mid-message);
//      1009 a data message above max_message_bytes (found from the frame
//           header, before its payload is buffered).
//  - Lengths need not use the shortest encoding (accepted, as npm ws does).
//  - Memory: the message being assembled (≤ max_message_bytes), one control
//    payload (≤ 125 bytes), and for feed() the unparsed bytes.
//
// encode_frame() writes exactly what it is told (it also produces invalid
// frames for tests): the caller must respect the rules above.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "relay/net/utf8.h"

namespace faultline::relay::net {

enum class Opcode : std::uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };
std::string_view to_string(Opcode op);
inline bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

// Which end of the connection we are.
enum class Role { client, server };

using MaskKey = std::array<std::uint8_t, 4>;

inline constexpr std::size_t kDefaultMaxMessageBytes = 5'000'000;  // the relay's frame limit
inline constexpr std::size_t kMaxControlPayload = 125;

namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  // never sent: "the close frame had no code"
inline constexpr std::uint16_t abnormal = 1006;   // never sent: "no close frame at all"
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// A code a peer may put in a close frame: 1000-1003, 1007-1014, 3000-4999.
bool is_valid_close_code(std::uint16_t code);

struct Message {
  Opcode opcode = Opcode::binary;  // text, binary, close, ping or pong
  std::string payload;

  std::span<const std::uint8_t> bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
  }
  // For close messages: the code (1005 when the payload is empty) and reason.
  std::uint16_t close_code() const;
  std::string_view close_reason() const;
  bool operator==(const Message&) const = default;
};

struct ProtocolError {
  std::uint16_t code = 0;  // 1002, 1007 or 1009
  std::string reason;
};

// A close payload: the code big-endian, then the reason cut to fit 125 bytes
// (on a UTF-8 character boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

// XORs `n` bytes with the key; `offset` is the index of data[0] within the
// frame payload (masking continues across calls).
void apply_mask(std::uint8_t* data, std::size_t n, MaskKey key, std::size_t offset = 0);

// Header bytes of a frame with this payload size.
std::size_t frame_header_size(std::size_t payload_size, bool masked);

// Appends only the header of a frame whose payload follows separately
// (unmasked frames: the payload can then be sent from the caller's buffer).
void append_frame_header(std::string& out, Opcode op, std::size_t payload_size, bool fin = true,
                         std::optional<MaskKey> mask = std::nullopt);
// Appends one frame to `out`.
void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin = true,
                  std::optional<MaskKey> mask = std::nullopt);
std::string encode_frame(Opcode op, std::span<const std::uint8_t> payload, bool fin = true,
                         std::optional<MaskKey> mask = std::nullopt);
std::string encode_frame(Opcode op, std::string_view payload, bool fin = true,
                         std::optional<MaskKey> mask = std::nullopt);

struct FrameParserOptions {
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class FrameParser {
 public:
  using Options = FrameParserOptions;
  enum class Status { need_more, message, error };

  explicit FrameParser(Role role, Options options = {});

  // Streaming form (see the contract above).
  Status parse(std::span<const std::uint8_t> in, std::size_t& consumed, Message& out);
  Status parse(std::string_view in, std::size_t& consumed, Message& out) {
    return parse(std::span(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()), consumed, out);
  }

  // Buffered form.
  void feed(std::string_view bytes);
  Status next(Message& out);

  bool failed() const { return failed_; }
  const ProtocolError& error() const { return error_; }
  Role role() const { return role_; }
  // A fragmented data message has started and not ended.
  bool mid_message() const { return msg_active_; }
  // Bytes fed but not yet parsed (buffered form).
  std::size_t buffered() const { return pending_.size() - pending_off_; }

 private:
  Status fail(std::uint16_t code, std::string reason);
  bool reject(std::uint16_t code, std::string reason);  // fail(), then false
  bool check_first_two();                               // after 2 header bytes
  bool begin_frame();                                   // after the whole header

  Role role_;
  Options options_;
  // Header being collected.
  std::array<std::uint8_t, 14> hdr_{};
  std::size_t hdr_have_ = 0;
  std::size_t hdr_need_ = 2;
  // Frame whose payload is arriving.
  bool in_frame_ = false;
  Opcode frame_op_ = Opcode::continuation;
  bool frame_fin_ = false;
  bool masked_ = false;
  MaskKey key_{};
  std::uint64_t frame_left_ = 0;
  std::size_t frame_pos_ = 0;
  // Data message being assembled.
  bool msg_active_ = false;
  Opcode msg_op_ = Opcode::binary;
  std::string msg_;
  Utf8Validator utf8_;
  // Control frame payload.
  std::string ctrl_;
  // Buffered form.
  std::string pending_;
  std::size_t pending_off_ = 0;

  bool failed_ = false;
  ProtocolError error_;
};

}  // namespace faultline::relay::net
