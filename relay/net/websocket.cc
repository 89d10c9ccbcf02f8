#include "relay/net/websocket.h"

#include <algorithm>
#include <cstring>

namespace faultline::relay::net {
namespace {

// Reserve at most this much for a message from its header alone: a header may
// promise 5 MB and send nothing.
constexpr std::size_t kMaxReserve = 1 << 20;

void append_header(std::string& out, Opcode op, std::size_t len, bool fin, const std::optional<MaskKey>& mask) {
  std::uint8_t h[14];
  std::size_t n = 0;
  h[n++] = static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(op));
  const std::uint8_t m = mask ? 0x80 : 0x00;
  if (len <= 125) {
    h[n++] = static_cast<std::uint8_t>(m | len);
  } else if (len <= 0xFFFF) {
    h[n++] = static_cast<std::uint8_t>(m | 126);
    h[n++] = static_cast<std::uint8_t>(len >> 8);
    h[n++] = static_cast<std::uint8_t>(len);
  } else {
    h[n++] = static_cast<std::uint8_t>(m | 127);
    for (int i = 7; i >= 0; --i) h[n++] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(len) >> (8 * i));
  }
  if (mask) {
    std::memcpy(h + n, mask->data(), 4);
    n += 4;
  }
  out.append(reinterpret_cast<const char*>(h), n);
}

}  // namespace

std::string_view to_string(Opcode op) {
  switch (op) {
    case Opcode::continuation:
      return "continuation";
    case Opcode::text:
      return "text";
    case Opcode::binary:
      return "binary";
    case Opcode::close:
      return "close";
    case Opcode::ping:
      return "ping";
    case Opcode::pong:
      return "pong";
  }
  return "reserved";
}

bool is_valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

std::uint16_t Message::close_code() const {
  if (opcode != Opcode::close || payload.size() < 2) return close_code::no_status;
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                    static_cast<std::uint8_t>(payload[1]));
}

std::string_view Message::close_reason() const {
  if (opcode != Opcode::close || payload.size() < 2) return {};
  return std::string_view(payload).substr(2);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  if (reason.size() > kMaxControlPayload - 2) {
    std::size_t cut = kMaxControlPayload - 2;
    // Do not cut a multi-byte character in two.
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  out.append(reason);
  return out;
}

void apply_mask(std::uint8_t* data, std::size_t n, MaskKey key, std::size_t offset) {
  // Rotate the key so that rotated[0] applies to data[0].
  std::uint8_t rk[8];
  for (std::size_t i = 0; i < 8; ++i) rk[i] = key[(offset + i) & 3];
  std::uint64_t k64;
  std::memcpy(&k64, rk, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    w ^= k64;
    std::memcpy(data + i, &w, 8);
  }
  for (; i < n; ++i) data[i] ^= rk[i & 7];
}

std::size_t frame_header_size(std::size_t payload_size, bool masked) {
  std::size_t n = payload_size <= 125 ? 2 : payload_size <= 0xFFFF ? 4 : 10;
  return n + (masked ? 4 : 0);
}

void append_frame_header(std::string& out, Opcode op, std::size_t payload_size, bool fin, std::optional<MaskKey> mask) {
  append_header(out, op, payload_size, fin, mask);
}

void append_frame(std::string& out, Opcode op, std::string_view payload, bool fin, std::optional<MaskKey> mask) {
  out.reserve(out.size() + frame_header_size(payload.size(), mask.has_value()) + payload.size());
  append_header(out, op, payload.size(), fin, mask);
  std::size_t at = out.size();
  out.append(payload);
  if (mask) apply_mask(reinterpret_cast<std::uint8_t*>(out.data() + at), payload.size(), *mask, 0);
}

std::string encode_frame(Opcode op, std::string_view payload, bool fin, std::optional<MaskKey> mask) {
  std::string out;
  append_frame(out, op, payload, fin, mask);
  return out;
}

std::string encode_frame(Opcode op, std::span<const std::uint8_t> payload, bool fin, std::optional<MaskKey> mask) {
  return encode_frame(op, std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), fin, mask);
}

// ---- FrameParser ----

FrameParser::FrameParser(Role role, Options options) : role_(role), options_(options) {}

FrameParser::Status FrameParser::fail(std::uint16_t code, std::string reason) {
  failed_ = true;
  error_.code = code;
  error_.reason = std::move(reason);
  return Status::error;
}

bool FrameParser::reject(std::uint16_t code, std::string reason) {
  fail(code, std::move(reason));
  return false;
}

bool FrameParser::check_first_two() {
  const std::uint8_t b0 = hdr_[0], b1 = hdr_[1];
  const std::uint8_t op = b0 & 0x0F;
  if (b0 & 0x70) return reject(close_code::protocol_error, "RSV bits set without a negotiated extension");
  if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xA)
    return reject(close_code::protocol_error, "reserved opcode " + std::to_string(op));
  const bool masked = (b1 & 0x80) != 0;
  if (role_ == Role::server && !masked) return reject(close_code::protocol_error, "unmasked frame from a client");
  if (role_ == Role::client && masked) return reject(close_code::protocol_error, "masked frame from a server");
  const bool fin = (b0 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7F;
  if (op & 0x8) {
    if (!fin) return reject(close_code::protocol_error, "fragmented control frame");
    if (len7 > kMaxControlPayload) return reject(close_code::protocol_error, "control frame payload above 125 bytes");
  } else if (op == 0x0 && !msg_active_) {
    return reject(close_code::protocol_error, "continuation frame without a message to continue");
  } else if (op != 0x0 && msg_active_) {
    return reject(close_code::protocol_error, "new data frame inside a fragmented message");
  }
  hdr_need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
  return true;
}

bool FrameParser::begin_frame() {
  const std::uint8_t b0 = hdr_[0], b1 = hdr_[1];
  frame_fin_ = (b0 & 0x80) != 0;
  frame_op_ = static_cast<Opcode>(b0 & 0x0F);
  masked_ = (b1 & 0x80) != 0;
  std::uint64_t len = b1 & 0x7F;
  std::size_t at = 2;
  if (len == 126) {
    len = (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
    at = 4;
  } else if (len == 127) {
    len = 0;
    for (std::size_t i = 0; i < 8; ++i) len = (len << 8) | hdr_[2 + i];
    at = 10;
    if (len >> 63) return reject(close_code::protocol_error, "64-bit payload length with the top bit set");
  }
  if (masked_) std::memcpy(key_.data(), hdr_.data() + at, 4);
  if (!is_control(frame_op_)) {
    const std::size_t have = msg_active_ ? msg_.size() : 0;
    const std::size_t max = options_.max_message_bytes;
    if (have > max || len > max - have)
      return reject(close_code::message_too_big, "message larger than " + std::to_string(max) + " bytes");
    if (frame_op_ != Opcode::continuation) {
      msg_active_ = true;
      msg_op_ = frame_op_;
      msg_.clear();
      utf8_.reset();
    }
    std::size_t want = have + static_cast<std::size_t>(len);
    if (want > msg_.capacity()) msg_.reserve(std::min(want, have + kMaxReserve));
  } else {
    ctrl_.clear();
  }
  frame_left_ = len;
  frame_pos_ = 0;
  in_frame_ = true;
  hdr_have_ = 0;
  hdr_need_ = 2;
  return true;
}

FrameParser::Status FrameParser::parse(std::span<const std::uint8_t> in, std::size_t& consumed, Message& out) {
  consumed = 0;
  if (failed_) return Status::error;
  const std::size_t n = in.size();
  std::size_t i = 0;
  for (;;) {
    if (!in_frame_) {
      while (hdr_have_ < hdr_need_ && i < n) {
        hdr_[hdr_have_++] = in[i++];
        if (hdr_have_ == 2 && !check_first_two()) {
          consumed = i;
          return Status::error;
        }
      }
      if (hdr_have_ < hdr_need_) {
        consumed = i;
        return Status::need_more;
      }
      if (!begin_frame()) {
        consumed = i;
        return Status::error;
      }
    }
    // Payload bytes of the current frame.
    const bool control = is_control(frame_op_);
    std::string& dest = control ? ctrl_ : msg_;
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, n - i));
    if (take > 0) {
      const std::size_t at = dest.size();
      dest.append(reinterpret_cast<const char*>(in.data() + i), take);
      auto* p = reinterpret_cast<std::uint8_t*>(dest.data() + at);
      if (masked_) apply_mask(p, take, key_, frame_pos_);
      if (!control && msg_op_ == Opcode::text && !utf8_.feed(p, take)) {
        consumed = i + take;
        return fail(close_code::invalid_payload, "text message is not valid UTF-8");
      }
      i += take;
      frame_left_ -= take;
      frame_pos_ += take;
    }
    if (frame_left_ > 0) {
      consumed = i;
      return Status::need_more;
    }
    in_frame_ = false;
    if (control) {
      consumed = i;
      if (frame_op_ == Opcode::close && !ctrl_.empty()) {
        if (ctrl_.size() == 1) return fail(close_code::protocol_error, "close payload of one byte");
        auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(ctrl_[0]) << 8) |
                                               static_cast<std::uint8_t>(ctrl_[1]));
        if (!is_valid_close_code(code))
          return fail(close_code::protocol_error, "invalid close code " + std::to_string(code));
        if (!is_valid_utf8(std::string_view(ctrl_).substr(2)))
          return fail(close_code::invalid_payload, "close reason is not valid UTF-8");
      }
      out.opcode = frame_op_;
      out.payload.assign(ctrl_);
      ctrl_.clear();
      return Status::message;
    }
    if (frame_fin_) {
      consumed = i;
      if (msg_op_ == Opcode::text && !utf8_.complete())
        return fail(close_code::invalid_payload, "text message ends inside a UTF-8 character");
      out.opcode = msg_op_;
      out.payload = std::move(msg_);
      msg_ = std::string();
      msg_active_ = false;
      return Status::message;
    }
    // A non-final fragment: go on with the next frame.
  }
}

void FrameParser::feed(std::string_view bytes) {
  if (pending_off_ > 0 && pending_off_ >= pending_.size() / 2) {
    pending_.erase(0, pending_off_);
    pending_off_ = 0;
  }
  pending_.append(bytes);
}

FrameParser::Status FrameParser::next(Message& out) {
  std::size_t used = 0;
  std::string_view rest = std::string_view(pending_).substr(pending_off_);
  Status s = parse(rest, used, out);
  pending_off_ += used;
  if (pending_off_ == pending_.size()) {
    pending_.clear();
    pending_off_ = 0;
  }
  return s;
}

}  // namespace faultline::relay::net
