#include "relay/net/chunked.h"

#include <algorithm>

namespace faultline::relay::net {
namespace {

constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxTrailers = 64 * 1024;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::ChunkedDecoder(std::size_t max_body_bytes) : max_(max_body_bytes) {}

ChunkedDecoder::Status ChunkedDecoder::fail(std::string reason) {
  status_ = Status::error;
  error_ = std::move(reason);
  return status_;
}

// line_ holds "1a;ext=x" (without CRLF).
bool ChunkedDecoder::finish_size_line() {
  std::uint64_t size = 0;
  std::size_t digits = 0;
  while (digits < line_.size() && hex_digit(line_[digits]) >= 0) {
    size = size * 16 + static_cast<std::uint64_t>(hex_digit(line_[digits]));
    if (++digits > 16) {
      fail("chunk size has more than 16 hex digits");
      return false;
    }
  }
  if (digits == 0) {
    fail("malformed chunk size line");
    return false;
  }
  // What may follow the digits: optional whitespace, then ';' extensions.
  std::size_t i = digits;
  while (i < line_.size() && (line_[i] == ' ' || line_[i] == '\t')) ++i;
  if (i < line_.size() && line_[i] != ';') {
    fail("malformed chunk size line");
    return false;
  }
  if (size > max_ - std::min(max_, total_)) {
    too_large_ = true;
    fail("chunked body larger than " + std::to_string(max_) + " bytes");
    return false;
  }
  remaining_ = size;
  line_.clear();
  state_ = size == 0 ? State::trailer_line : State::data;
  return true;
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, std::size_t& consumed, std::string& body) {
  consumed = 0;
  std::size_t i = 0;
  while (status_ == Status::need_more && i < in.size()) {
    switch (state_) {
      case State::size_line:
      case State::trailer_line: {
        char c = in[i++];
        if (c == '\n') {
          if (line_.empty() || line_.back() != '\r') {
            fail("bare LF in chunked framing");
            break;
          }
          line_.pop_back();
          if (state_ == State::size_line) {
            finish_size_line();
          } else if (line_.empty()) {
            status_ = Status::done;  // the blank line after the trailers
          } else {
            trailer_bytes_ += line_.size() + 2;
            if (trailer_bytes_ > kMaxTrailers) fail("trailer section too large");
            line_.clear();
          }
          break;
        }
        if (!line_.empty() && line_.back() == '\r') {
          fail("bare CR in chunked framing");
          break;
        }
        line_.push_back(c);
        if (line_.size() > kMaxLine) fail("chunk size or trailer line too long");
        break;
      }
      case State::data: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        body.append(in.substr(i, n));
        i += n;
        total_ += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (in[i++] != '\r') {
          fail("chunk data not followed by CRLF");
          break;
        }
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (in[i++] != '\n') {
          fail("chunk data not followed by CRLF");
          break;
        }
        state_ = State::size_line;
        break;
    }
  }
  consumed = i;
  return status_;
}

}  // namespace faultline::relay::net
