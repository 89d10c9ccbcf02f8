#include "relay/net/http_head.h"

#include <charconv>

namespace faultline::relay::net {
namespace {

constexpr std::string_view kCrlf = "\r\n";

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// field-value bytes: HTAB, SP, VCHAR, obs-text.
bool is_field_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Splits the head (without its final blank line) into lines.
std::vector<std::string_view> split_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  head.remove_suffix(4);  // the final "\r\n\r\n"
  for (;;) {
    auto e = head.find(kCrlf);
    lines.push_back(head.substr(0, e));
    if (e == std::string_view::npos) break;
    head.remove_prefix(e + 2);
  }
  return lines;
}

// "HTTP/1.1" → minor version 1; -1 when not HTTP/<d>.<d>; -2 when the major
// version is not 1.
int parse_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return -1;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return -1;
  if (v[5] != '1') return -2;
  return v[7] - '0';
}

// Parses the header lines; returns an error text or "".
std::string parse_fields(const std::vector<std::string_view>& lines, Headers& out) {
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) return "empty header line";
    if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return "header line without a colon";
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return "malformed header name '" + std::string(name.substr(0, 64)) + "'";
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value)
      if (!is_field_byte(c)) return "control character in header " + std::string(name);
    out.emplace_back(std::string(name), std::string(value));
  }
  return {};
}

// Content-Length and Transfer-Encoding (RFC 9112 §6). Returns 0 when fine,
// else the HTTP status of the problem with `error` set.
int parse_framing(const Headers& headers, std::optional<std::uint64_t>& length, bool& chunked, std::string& error) {
  bool saw_te = false;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Content-Length")) {
      std::string_view rest = value;
      if (rest.empty()) {
        error = "empty Content-Length";
        return 400;
      }
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = trim_ows(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (item.empty() || item.front() == '-' || item.front() == '+' || ec != std::errc() ||
            p != item.data() + item.size()) {
          error = "malformed Content-Length '" + std::string(value.substr(0, 64)) + "'";
          return 400;
        }
        if (length && *length != n) {
          error = "conflicting Content-Length values";
          return 400;
        }
        length = n;
      }
    } else if (iequals(name, "Transfer-Encoding")) {
      if (saw_te || !iequals(trim_ows(value), "chunked")) {
        error = "unsupported Transfer-Encoding '" + std::string(value.substr(0, 64)) + "'";
        return 501;
      }
      saw_te = true;
    }
  }
  if (saw_te && length) {
    error = "both Transfer-Encoding and Content-Length";
    return 400;
  }
  chunked = saw_te;
  return 0;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string_view> find_header(const Headers& h, std::string_view name) {
  for (const auto& [n, v] : h)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view RequestHead::path() const {
  std::string_view t = target;
  if (!t.empty() && t.front() != '/') {  // absolute form: skip scheme://authority
    auto scheme_end = t.find("://");
    if (scheme_end == std::string_view::npos) return t.substr(0, t.find('?'));
    t.remove_prefix(scheme_end + 3);
    auto slash = t.find_first_of("/?");
    if (slash == std::string_view::npos || t[slash] == '?') return "/";
    t.remove_prefix(slash);
  }
  return t.substr(0, t.find('?'));
}

std::string_view RequestHead::query() const {
  std::string_view t = target;
  auto q = t.find('?');
  if (q == std::string_view::npos) return {};
  t.remove_prefix(q + 1);
  return t.substr(0, t.find('#'));
}

bool RequestHead::keep_alive() const {
  auto conn = header("Connection");
  if (version == "HTTP/1.0") return conn && has_token(*conn, "keep-alive");
  return !(conn && has_token(*conn, "close"));
}

namespace detail {

HeadStatus HeadScanner::feed(std::string_view bytes) {
  if (status_ == HeadStatus::done) {
    buf_.append(bytes);
    return status_;
  }
  if (status_ == HeadStatus::error) return status_;
  buf_.append(bytes);
  if (skip_empty_ && scanned_ == 0) {
    std::size_t n = 0;
    while (n + 1 < buf_.size() && buf_[n] == '\r' && buf_[n + 1] == '\n') n += 2;
    if (n > 0) {
      buf_.erase(0, n);
      skipped_ += n;
      if (skipped_ >= max_) {
        status_ = HeadStatus::error;
        too_large_ = true;
        error_ = "head larger than " + std::to_string(max_) + " bytes";
        return status_;
      }
    }
    // A lone "\r" may still become an empty line: look at it next time.
    if (buf_ == "\r") return status_;
  }
  for (std::size_t i = scanned_; i < buf_.size(); ++i) {
    char c = buf_[i];
    bool after_cr = i > 0 && buf_[i - 1] == '\r';
    if (c == '\n') {
      if (!after_cr) {
        status_ = HeadStatus::error;
        error_ = "bare LF in head (lines must end in CRLF)";
        return status_;
      }
      if (i >= 3 && buf_[i - 3] == '\r' && buf_[i - 2] == '\n') {
        head_len_ = i + 1;
        status_ = HeadStatus::done;
        return status_;
      }
    } else if (after_cr) {
      status_ = HeadStatus::error;
      error_ = "bare CR in head";
      return status_;
    }
    if (i + 1 + skipped_ >= max_) {
      status_ = HeadStatus::error;
      too_large_ = true;
      error_ = "head larger than " + std::to_string(max_) + " bytes";
      return status_;
    }
  }
  scanned_ = buf_.size();
  return status_;
}

std::string HeadScanner::take_leftover() {
  if (status_ != HeadStatus::done) return {};
  std::string out = buf_.substr(head_len_);
  buf_.resize(head_len_);
  return out;
}

}  // namespace detail

// ---- RequestHeadReader ----

RequestHeadReader::RequestHeadReader(std::size_t max_head_bytes) : scan_(max_head_bytes, true) {}

RequestHeadReader::Status RequestHeadReader::fail(int status, std::string reason) {
  status_ = Status::error;
  error_status_ = status;
  error_ = std::move(reason);
  return status_;
}

RequestHeadReader::Status RequestHeadReader::feed(std::string_view bytes) {
  if (status_ != Status::need_more) {
    if (status_ == Status::done) scan_.feed(bytes);
    return status_;
  }
  HeadStatus s = scan_.feed(bytes);
  if (s == HeadStatus::error) return fail(scan_.too_large() ? 431 : 400, scan_.error());
  if (s == HeadStatus::need_more) return status_;
  return parse();
}

RequestHeadReader::Status RequestHeadReader::parse() {
  auto lines = split_lines(scan_.head());
  std::string_view line = lines[0];
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty()) return fail(400, "empty request target");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return fail(400, "invalid byte in request target");
  }
  int minor = parse_version(version);
  if (minor == -1) return fail(400, "malformed HTTP version");
  if (minor == -2) return fail(505, "HTTP version not supported: " + std::string(version));
  head_.method = std::string(method);
  head_.target = std::string(target);
  head_.version = std::string(version);
  if (auto err = parse_fields(lines, head_.headers); !err.empty()) return fail(400, std::move(err));
  if (minor >= 1) {
    int hosts = 0;
    for (const auto& [n, v] : head_.headers) hosts += iequals(n, "Host") ? 1 : 0;
    if (hosts != 1) return fail(400, hosts == 0 ? "missing Host header" : "more than one Host header");
  }
  std::string err;
  if (int st = parse_framing(head_.headers, head_.content_length, head_.chunked, err)) return fail(st, std::move(err));
  status_ = Status::done;
  return status_;
}

// ---- ResponseHeadReader ----

ResponseHeadReader::ResponseHeadReader(std::size_t max_head_bytes) : scan_(max_head_bytes, false) {}

ResponseHeadReader::Status ResponseHeadReader::fail(std::string reason) {
  status_ = Status::error;
  error_ = std::move(reason);
  return status_;
}

ResponseHeadReader::Status ResponseHeadReader::feed(std::string_view bytes) {
  if (status_ != Status::need_more) {
    if (status_ == Status::done) scan_.feed(bytes);
    return status_;
  }
  HeadStatus s = scan_.feed(bytes);
  if (s == HeadStatus::error) return fail(scan_.error());
  if (s == HeadStatus::need_more) return status_;
  return parse();
}

ResponseHeadReader::Status ResponseHeadReader::parse() {
  auto lines = split_lines(scan_.head());
  std::string_view line = lines[0];
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail("malformed status line");
  std::string_view version = line.substr(0, sp1);
  std::string_view rest = line.substr(sp1 + 1);
  int minor = parse_version(version);
  if (minor < 0) return fail("unsupported or malformed HTTP version in status line");
  if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' ')) return fail("malformed status code");
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (rest[static_cast<std::size_t>(i)] < '0' || rest[static_cast<std::size_t>(i)] > '9')
      return fail("malformed status code");
    code = code * 10 + (rest[static_cast<std::size_t>(i)] - '0');
  }
  if (code < 100) return fail("status code below 100");
  std::string_view reason = rest.size() > 4 ? rest.substr(4) : std::string_view();
  for (char c : reason)
    if (!is_field_byte(c)) return fail("control character in reason phrase");
  head_.version = std::string(version);
  head_.status = code;
  head_.reason = std::string(reason);
  if (auto err = parse_fields(lines, head_.headers); !err.empty()) return fail(std::move(err));
  std::string err;
  if (parse_framing(head_.headers, head_.content_length, head_.chunked, err)) return fail(std::move(err));
  status_ = Status::done;
  return status_;
}

}  // namespace faultline::relay::net
