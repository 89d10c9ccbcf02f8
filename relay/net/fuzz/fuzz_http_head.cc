// libFuzzer target: RequestHeadReader, ResponseHeadReader and ChunkedDecoder
// fed the same bytes in one piece and in a random segmentation (seeded by the
// first input byte). Properties:
//  - the outcome never depends on the segmentation (status, head, error
//    status, leftover, decoded body);
//  - a parsed request head, written back out, parses to the same head.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/net/chunked.h"
#include "relay/net/http_head.h"

namespace net = faultline::relay::net;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_trap();  // a crash libFuzzer reports with the input
  }
  (void)what;
}

// Cuts `data` into pieces of 1..16 bytes from a small LCG.
template <class F>
void split_feed(std::string_view data, std::uint32_t seed, F feed) {
  std::size_t at = 0;
  while (at < data.size()) {
    seed = seed * 1103515245u + 12345u;
    std::size_t n = 1 + (seed >> 16) % 16;
    feed(data.substr(at, n));
    at += n;
  }
}

bool same(const net::RequestHead& a, const net::RequestHead& b) {
  return a.method == b.method && a.target == b.target && a.version == b.version && a.headers == b.headers &&
         a.content_length == b.content_length && a.chunked == b.chunked;
}

void requests(std::string_view data, std::uint32_t seed) {
  net::RequestHeadReader whole(1024);
  whole.feed(data);
  net::RequestHeadReader pieces(1024);
  split_feed(data, seed, [&](std::string_view p) { pieces.feed(p); });
  check(whole.status() == pieces.status(), "request status depends on the split");
  if (whole.status() == net::HeadStatus::error) {
    check(whole.error_status() == pieces.error_status(), "error status depends on the split");
    return;
  }
  if (whole.status() != net::HeadStatus::done) return;
  check(same(whole.head(), pieces.head()), "request head depends on the split");
  check(whole.take_leftover() == pieces.take_leftover(), "leftover depends on the split");
  // Round trip.
  const net::RequestHead& h = whole.head();
  std::string wire = h.method + " " + h.target + " " + h.version + "\r\n";
  for (const auto& [n, v] : h.headers) wire += n + ": " + v + "\r\n";
  wire += "\r\n";
  net::RequestHeadReader again(4096);
  again.feed(wire);
  check(again.status() == net::HeadStatus::done, "a written-back head does not parse");
  check(same(again.head(), h), "a written-back head parses differently");
}

void responses(std::string_view data, std::uint32_t seed) {
  net::ResponseHeadReader whole(1024);
  whole.feed(data);
  net::ResponseHeadReader pieces(1024);
  split_feed(data, seed, [&](std::string_view p) { pieces.feed(p); });
  check(whole.status() == pieces.status(), "response status depends on the split");
  if (whole.status() != net::HeadStatus::done) return;
  check(whole.head().status == pieces.head().status && whole.head().headers == pieces.head().headers &&
            whole.head().reason == pieces.head().reason,
        "response head depends on the split");
  check(whole.take_leftover() == pieces.take_leftover(), "leftover depends on the split");
}

void chunked(std::string_view data, std::uint32_t seed) {
  net::ChunkedDecoder whole(4096);
  std::string body_whole;
  std::size_t used_whole = 0;
  whole.feed(data, used_whole, body_whole);
  net::ChunkedDecoder pieces(4096);
  std::string body_pieces;
  std::size_t used_total = 0;
  bool stopped = false;
  split_feed(data, seed, [&](std::string_view p) {
    if (stopped) return;
    std::size_t used = 0;
    pieces.feed(p, used, body_pieces);
    used_total += used;
    if (used < p.size() || pieces.status() != net::ChunkedDecoder::Status::need_more) stopped = true;
  });
  check(whole.status() == pieces.status(), "chunked status depends on the split");
  check(body_whole.size() <= 4096, "chunked body above its bound");
  if (whole.status() == net::ChunkedDecoder::Status::done) {
    check(body_whole == body_pieces, "chunked body depends on the split");
    check(used_whole == used_total, "chunked consumption depends on the split");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint32_t seed = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  requests(in, seed);
  responses(in, seed);
  chunked(in, seed);
  return 0;
}
