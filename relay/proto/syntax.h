// Syntax of atproto identifiers (atproto.com/specs: did, handle, nsid,
// record-key, tid, lexicon datetime, cid string), checked byte by byte
// without regex or allocation. Tested against the interop fixtures
// (atproto-interop/syntax/*_{valid,invalid}.txt).
//
// Contract (all: pure functions of the bytes, ASCII-only grammars, so any
// non-ASCII byte makes the identifier invalid):
//  - DID: "did:" method ":" identifier; method [a-z]+; identifier of
//    [A-Za-z0-9._:%-], not ending in ':' or '%'; at most 2048 chars.
//  - handle: >= 2 dot-separated labels of [A-Za-z0-9-], 1..63 chars each,
//    not starting or ending with '-'; the last label (TLD) starts with a
//    letter; at most 253 chars.
//  - NSID: >= 3 segments, at most 317 chars; domain segments 1..63 of
//    [A-Za-z0-9-], not starting/ending with '-', the first starting with a
//    letter; the name (last) segment 1..63 of [A-Za-z0-9] starting with a letter.
//  - record key: 1..512 chars of [A-Za-z0-9._:~-], not "." or "..".
//  - TID: 13 chars of base32-sortable [2-7a-z], the first in [2-7a-j]
//    (top bit zero).
//  - datetime: RFC 3339 ∩ ISO 8601 as the lexicon requires —
//    YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), upper-case T and Z,
//    a real calendar date and time of day, "-00:00" not allowed, at most 64
//    chars.
//  - CID string (lexicon "cid" format, loose by design): 8..256 chars of
//    [A-Za-z0-9+=], not a CIDv0 ("Qmb..."). Cid::parse is the strict form.
#pragma once

#include <string_view>

namespace faultline::relay::proto {

bool is_valid_did(std::string_view s);
bool is_valid_handle(std::string_view s);
bool is_valid_nsid(std::string_view s);
bool is_valid_record_key(std::string_view s);
bool is_valid_tid(std::string_view s);
bool is_valid_datetime(std::string_view s);
bool is_valid_cid_syntax(std::string_view s);

}  // namespace faultline::relay::proto
