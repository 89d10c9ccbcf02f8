// Implementation of the split-safe handshake reader (contract in
// handshake_reader.h). SHA-1 and base64 come from OpenSSL's EVP layer: the
// low-level SHA1() is deprecated in OpenSSL 3 and would trip -Werror.
#include "repro/wssplit/handshake_reader.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace faultline::wssplit {
namespace {

constexpr std::string_view kTerminator = "\r\n\r\n";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar.
bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::vector<std::string_view> headers_named(const Headers& h, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : h)
    if (iequals(n, name)) out.emplace_back(v);
  return out;
}

}  // namespace

std::string base64_encode(const std::uint8_t* data, std::size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string compute_accept(std::string_view key) {
  std::string input(key);
  input.append(kWebSocketGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_Digest(input.data(), input.size(), md.data(), &md_len, EVP_sha1(), nullptr) != 1 || md_len != 20)
    throw std::runtime_error("EVP_Digest(SHA-1) failed");
  return base64_encode(md.data(), md_len);
}

std::string generate_key() {
  std::array<std::uint8_t, 16> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64_encode(raw.data(), raw.size());
}

std::string generate_key(std::mt19937_64& rng) {
  std::array<std::uint8_t, 16> raw{};
  for (auto& b : raw) b = static_cast<std::uint8_t>(rng() & 0xff);
  return base64_encode(raw.data(), raw.size());
}

std::string write_request(const ClientRequest& req) {
  std::string r = "GET " + (req.path.empty() ? std::string("/") : req.path) + " HTTP/1.1\r\n";
  r += "Host: " + req.host + "\r\n";
  r += "Upgrade: websocket\r\n";
  r += "Connection: Upgrade\r\n";
  r += "Sec-WebSocket-Key: " + req.key + "\r\n";
  r += "Sec-WebSocket-Version: 13\r\n";
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!req.protocols.empty()) r += "Sec-WebSocket-Protocol: " + join(req.protocols) + "\r\n";
  if (!req.extensions.empty()) r += "Sec-WebSocket-Extensions: " + join(req.extensions) + "\r\n";
  r += "\r\n";
  return r;
}

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = trim_ows(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int parse_status_line(std::string_view line) {
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  if (!line.starts_with(kVersion) || line.size() < kVersion.size() + 3) return -1;
  std::string_view code = line.substr(kVersion.size(), 3);
  int v = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  // "HTTP/1.1 101" alone is tolerated; otherwise a space must follow the code.
  if (line.size() > kVersion.size() + 3 && line[kVersion.size() + 3] != ' ') return -1;
  return v;
}

bool parse_header_line(std::string_view line, std::string& name, std::string& value) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view n = line.substr(0, colon);
  if (!std::all_of(n.begin(), n.end(), is_tchar)) return false;
  name.assign(n);
  value.assign(trim_ows(line.substr(colon + 1)));
  return true;
}

std::string validate_response(int status_code, const Headers& headers, const ClientRequest& req) {
  if (status_code != 101) return "status " + std::to_string(status_code) + ", expected 101";
  auto upgrade = headers_named(headers, "Upgrade");
  if (upgrade.empty()) return "missing Upgrade header";
  if (!std::any_of(upgrade.begin(), upgrade.end(), [](auto v) { return header_has_token(v, "websocket"); }))
    return "Upgrade header does not name websocket";
  auto connection = headers_named(headers, "Connection");
  if (connection.empty()) return "missing Connection header";
  if (!std::any_of(connection.begin(), connection.end(), [](auto v) { return header_has_token(v, "Upgrade"); }))
    return "Connection header lacks the Upgrade token";
  auto accept = headers_named(headers, "Sec-WebSocket-Accept");
  if (accept.empty()) return "missing Sec-WebSocket-Accept";
  if (accept.size() > 1) return "more than one Sec-WebSocket-Accept";
  if (accept.front() != compute_accept(req.key))
    return "Sec-WebSocket-Accept mismatch: got '" + std::string(accept.front()) + "'";
  for (auto ext : headers_named(headers, "Sec-WebSocket-Extensions")) {
    for (std::string_view rest = ext; !rest.empty();) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim_ows(rest.substr(0, comma));
      std::string_view ext_name = trim_ows(item.substr(0, item.find(';')));
      bool offered = std::any_of(req.extensions.begin(), req.extensions.end(), [&](const std::string& o) {
        return iequals(trim_ows(std::string_view(o).substr(0, o.find(';'))), ext_name);
      });
      if (!ext_name.empty() && !offered) return "server chose extension '" + std::string(ext_name) + "' not offered";
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  auto proto = headers_named(headers, "Sec-WebSocket-Protocol");
  if (proto.size() > 1) return "more than one Sec-WebSocket-Protocol";
  if (!proto.empty() && std::find(req.protocols.begin(), req.protocols.end(), proto.front()) == req.protocols.end())
    return "server chose subprotocol '" + std::string(proto.front()) + "' not offered";
  return {};
}

HandshakeReader::HandshakeReader(ClientRequest req, std::size_t max_head_bytes)
    : req_(std::move(req)), max_head_(max_head_bytes) {}

HandshakeReader::Status HandshakeReader::fail(std::string reason) {
  status_ = Status::error;
  error_ = std::move(reason);
  buf_.clear();
  return status_;
}

HandshakeReader::Status HandshakeReader::feed(std::string_view bytes) {
  if (status_ == Status::done) {
    buf_.append(bytes);
    return status_;
  }
  if (status_ == Status::error) return status_;
  buf_.append(bytes);
  // Resume the terminator search 3 bytes back: the previous feed may have
  // ended inside "\r\n\r\n". This is the whole fix for the mid-CRLF split.
  std::size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
  std::size_t end = buf_.find(kTerminator, from);
  if (end == std::string::npos) {
    // A terminator completed by a later feed would end past max_head_.
    if (buf_.size() >= max_head_)
      return fail("response head exceeds " + std::to_string(max_head_) + " bytes without an end");
    scanned_ = buf_.size();
    return status_;
  }
  std::size_t head_len = end + kTerminator.size();
  if (head_len > max_head_) return fail("response head exceeds " + std::to_string(max_head_) + " bytes");
  std::string head = buf_.substr(0, head_len);
  buf_.erase(0, head_len);
  return parse_head(head);
}

HandshakeReader::Status HandshakeReader::parse_head(std::string_view head) {
  // head ends in "\r\n\r\n"; drop the final blank line and split on CRLF.
  std::string_view rest = head.substr(0, head.size() - 2);
  bool first = true;
  while (!rest.empty()) {
    std::size_t crlf = rest.find("\r\n");
    if (crlf == std::string_view::npos) return fail("line without CRLF in head");
    std::string_view line = rest.substr(0, crlf);
    rest.remove_prefix(crlf + 2);
    if (line.find_first_of("\r\n") != std::string_view::npos) return fail("bare CR or LF inside a head line");
    if (first) {
      first = false;
      status_code_ = parse_status_line(line);
      if (status_code_ < 0) return fail("malformed status line '" + std::string(line) + "'");
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return fail("obsolete folded header line");
    std::string name, value;
    if (!parse_header_line(line, name, value)) return fail("malformed header line '" + std::string(line) + "'");
    headers_.emplace_back(std::move(name), std::move(value));
  }
  std::string why = validate_response(status_code_, headers_, req_);
  if (!why.empty()) return fail(why);
  status_ = Status::done;
  return status_;
}

std::optional<std::string_view> HandshakeReader::header(std::string_view name) const {
  for (const auto& [n, v] : headers_)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::string HandshakeReader::take_leftover() {
  if (status_ != Status::done) return {};
  std::string out;
  out.swap(buf_);
  return out;
}

}  // namespace faultline::wssplit
