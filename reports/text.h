// Text helpers shared by the Markdown and HTML writers: escaping (every
// string from a record is untrusted: it may hold '<', '|' or backticks) and
// number formatting.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace faultline::reports {

std::string html_escape(const std::string& s);
// A Markdown table cell: '|' escaped, newlines flattened.
std::string md_cell(const std::string& s);
// Inline code that survives backticks inside `s`.
std::string md_code(const std::string& s);
// A fenced block whose fence is longer than any backtick run inside `s`.
std::string md_fence(const std::string& s, const std::string& lang = "");
// A JSON value as text: strings unquoted, everything else compact JSON.
std::string json_text(const nlohmann::json& j);
std::string fmt_pct(double ratio);  // 0.1234 -> "12.3%"
std::string fmt_num(double v);      // short: 12, 3.5, 1.2k, 3.4M
std::string fmt_bytes(double v);    // 1.5 MiB

}  // namespace faultline::reports
