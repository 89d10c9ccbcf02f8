#include "relay/proto/cbor_reader.h"

#include "relay/proto/utf8.h"

namespace faultline::relay::proto::cbor {

std::string DecodeError::message() const { return reason + " at byte " + std::to_string(offset); }

bool Reader::fail(const char* reason, std::size_t offset) {
  error_.reason = reason;
  error_.offset = offset;
  return false;
}

bool Reader::read_head(Head& h) {
  const std::size_t start = pos_;
  if (pos_ >= data_.size()) return fail("truncated", start);
  const std::uint8_t b = data_[pos_];
  h.major = static_cast<std::uint8_t>(b >> 5);
  h.info = static_cast<std::uint8_t>(b & 31);
  if (h.major == 7) {
    // Simple values and floats: the argument is not a length.
    pos_ += 1;
    h.arg = h.info;
    return true;
  }
  if (h.info < 24) {
    h.arg = h.info;
    pos_ += 1;
    return true;
  }
  if (h.info >= 28) {
    if (h.info == 31 && h.major >= 2 && h.major <= 5) return fail("indefinite-length", start);
    return fail("reserved-info", start);
  }
  const std::size_t n = std::size_t{1} << (h.info - 24);
  if (data_.size() - pos_ - 1 < n) return fail("truncated", start);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + 1 + i];
  static constexpr std::uint64_t kMin[4] = {24, 0x100, 0x10000, 0x100000000ull};
  if (v < kMin[h.info - 24]) return fail("non-shortest", start);
  h.arg = v;
  pos_ += 1 + n;
  return true;
}

bool Reader::text_payload(std::size_t start, std::uint64_t len, std::string_view& s) {
  if (len > data_.size() - pos_) return fail("truncated", start);
  const std::uint8_t* p = data_.data() + pos_;
  if (!is_valid_utf8(p, static_cast<std::size_t>(len))) return fail("bad-utf8", start);
  s = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
  pos_ += static_cast<std::size_t>(len);
  return true;
}

bool Reader::item(std::size_t depth, Value* out) {
  const std::size_t start = pos_;
  Head h;
  if (!read_head(h)) return false;
  switch (h.major) {
    case 0:
      if (h.arg > static_cast<std::uint64_t>(INT64_MAX)) return fail("int-out-of-range", start);
      if (out) *out = Value(static_cast<std::int64_t>(h.arg));
      return true;
    case 1:
      if (h.arg > static_cast<std::uint64_t>(INT64_MAX)) return fail("int-out-of-range", start);
      if (out) *out = Value(-1 - static_cast<std::int64_t>(h.arg));
      return true;
    case 2: {
      if (h.arg > data_.size() - pos_) return fail("truncated", start);
      const std::size_t len = static_cast<std::size_t>(h.arg);
      if (out) *out = Value(Bytes(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                  data_.begin() + static_cast<std::ptrdiff_t>(pos_ + len)));
      pos_ += len;
      return true;
    }
    case 3: {
      std::string_view s;
      if (!text_payload(start, h.arg, s)) return false;
      if (out) *out = Value(std::string(s));
      return true;
    }
    case 4: {
      if (depth >= opts_.max_depth) return fail("too-deep", start);
      if (h.arg > data_.size() - pos_) return fail("truncated", start);  // every item takes >= 1 byte
      const std::size_t n = static_cast<std::size_t>(h.arg);
      Array items;
      if (out) items.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (out) {
          items.emplace_back();
          if (!item(depth + 1, &items.back())) return false;
        } else if (!item(depth + 1, nullptr)) {
          return false;
        }
      }
      if (out) *out = Value(std::move(items));
      return true;
    }
    case 5: {
      if (depth >= opts_.max_depth) return fail("too-deep", start);
      if (h.arg > (data_.size() - pos_) / 2) return fail("truncated", start);  // key + value >= 2 bytes
      const std::size_t n = static_cast<std::size_t>(h.arg);
      Map map;
      if (out) map.reserve(n);
      std::string_view prev;
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t key_start = pos_;
        Head kh;
        if (!read_head(kh)) return false;
        if (kh.major != 3) return fail("non-text-key", key_start);
        std::string_view key;
        if (!text_payload(key_start, kh.arg, key)) return false;
        if (i > 0 && !key_less(prev, key)) return fail(prev == key ? "duplicate-key" : "unsorted-keys", key_start);
        prev = key;
        if (out) {
          Value v;
          if (!item(depth + 1, &v)) return false;
          map.append_sorted(std::string(key), std::move(v));
        } else if (!item(depth + 1, nullptr)) {
          return false;
        }
      }
      if (out) *out = Value(std::move(map));
      return true;
    }
    case 6: {
      if (h.arg != 42) return fail("bad-tag", start);
      const std::size_t content = pos_;
      Head bh;
      if (!read_head(bh)) return false;
      if (bh.major != 2) return fail("bad-link", content);
      if (bh.arg > data_.size() - pos_) return fail("truncated", content);
      const std::size_t len = static_cast<std::size_t>(bh.arg);
      if (len < 2 || data_[pos_] != 0x00) return fail("bad-link", content);
      std::size_t used = 0;
      auto cid = Cid::from_bytes(data_.subspan(pos_ + 1, len - 1), &used);
      if (!cid || cid->version() != 1 || used != len - 1) return fail("bad-link", content);
      pos_ += len;
      if (out) *out = Value(*cid);
      return true;
    }
    default:  // 7
      switch (h.info) {
        case 20:
          if (out) *out = Value(false);
          return true;
        case 21:
          if (out) *out = Value(true);
          return true;
        case 22:
          if (out) *out = Value(nullptr);
          return true;
        case 23:
          return fail("undefined", start);
        case 25:
        case 26:
        case 27:
          return fail("float", start);
        case 28:
        case 29:
        case 30:
          return fail("reserved-info", start);
        case 31:
          return fail("unexpected-break", start);
        default:  // 0..19 and 24
          return fail("simple-value", start);
      }
  }
}

bool Reader::read(Value* out) {
  const std::size_t start = pos_;
  if (item(0, out)) return true;
  pos_ = start;
  return false;
}

std::optional<std::uint64_t> Reader::read_map_header() {
  const std::size_t start = pos_;
  Head h;
  if (!read_head(h)) return std::nullopt;
  if (h.major != 5) {
    pos_ = start;
    fail("unexpected-type", start);
    return std::nullopt;
  }
  return h.arg;
}

std::optional<std::uint64_t> Reader::read_array_header() {
  const std::size_t start = pos_;
  Head h;
  if (!read_head(h)) return std::nullopt;
  if (h.major != 4) {
    pos_ = start;
    fail("unexpected-type", start);
    return std::nullopt;
  }
  return h.arg;
}

std::optional<std::string_view> Reader::read_text() {
  const std::size_t start = pos_;
  Head h;
  std::string_view s;
  if (!read_head(h)) return std::nullopt;
  if (h.major != 3) {
    pos_ = start;
    fail("unexpected-type", start);
    return std::nullopt;
  }
  if (!text_payload(start, h.arg, s)) {
    pos_ = start;
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> Reader::read_int() {
  const std::size_t start = pos_;
  Head h;
  if (!read_head(h)) return std::nullopt;
  if ((h.major != 0 && h.major != 1)) {
    pos_ = start;
    fail("unexpected-type", start);
    return std::nullopt;
  }
  if (h.arg > static_cast<std::uint64_t>(INT64_MAX)) {
    pos_ = start;
    fail("int-out-of-range", start);
    return std::nullopt;
  }
  const auto a = static_cast<std::int64_t>(h.arg);
  return h.major == 0 ? a : -1 - a;
}

namespace {

DecodeResult run(std::span<const std::uint8_t> data, bool whole, const DecodeOptions& opts) {
  DecodeResult r;
  Reader reader(data, opts);
  Value v;
  if (!reader.read(&v)) {
    r.error = reader.error();
    return r;
  }
  if (whole && !reader.at_end()) {
    r.error = DecodeError{"trailing-bytes", reader.position()};
    return r;
  }
  r.consumed = reader.position();
  r.value = std::move(v);
  return r;
}

std::optional<DecodeError> run_validate(std::span<const std::uint8_t> data, bool whole, std::size_t* consumed,
                                        const DecodeOptions& opts) {
  Reader reader(data, opts);
  if (!reader.skip()) return reader.error();
  if (whole && !reader.at_end()) return DecodeError{"trailing-bytes", reader.position()};
  if (consumed != nullptr) *consumed = reader.position();
  return std::nullopt;
}

}  // namespace

DecodeResult decode(std::span<const std::uint8_t> data, const DecodeOptions& opts) { return run(data, true, opts); }

DecodeResult decode_prefix(std::span<const std::uint8_t> data, std::size_t& consumed, const DecodeOptions& opts) {
  DecodeResult r = run(data, false, opts);
  consumed = r.ok() ? r.consumed : 0;
  return r;
}

std::optional<DecodeError> validate(std::span<const std::uint8_t> data, const DecodeOptions& opts) {
  return run_validate(data, true, nullptr, opts);
}

std::optional<DecodeError> validate_prefix(std::span<const std::uint8_t> data, std::size_t& consumed,
                                           const DecodeOptions& opts) {
  consumed = 0;
  return run_validate(data, false, &consumed, opts);
}

}  // namespace faultline::relay::proto::cbor
