// FrameParser throughput on 300-byte binary frames (the size of a typical
// firehose #commit), both roles: a client parsing unmasked server frames (the
// relay's upstream side) and a server parsing masked client frames.
//   relay_net_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>

#include "relay/net/websocket.h"

namespace faultline::relay::net {
namespace {

constexpr std::size_t kFrames = 1024;
constexpr std::size_t kPayload = 300;

std::string make_stream(bool masked) {
  std::string payload(kPayload, '\0');
  for (std::size_t i = 0; i < kPayload; ++i) payload[i] = static_cast<char>(i * 31 + 7);
  std::string stream;
  for (std::size_t i = 0; i < kFrames; ++i)
    append_frame(
        stream, Opcode::binary, payload, true,
        masked ? std::optional<MaskKey>(MaskKey{0x12, 0x34, static_cast<std::uint8_t>(i), 0x78}) : std::nullopt);
  return stream;
}

void run(benchmark::State& state, Role role, std::size_t read_size) {
  const std::string stream = make_stream(role == Role::server);
  std::size_t messages = 0;
  for (auto _ : state) {
    FrameParser parser(role);
    Message m;
    for (std::size_t off = 0; off < stream.size();) {
      std::string_view chunk = std::string_view(stream).substr(off, read_size);
      off += chunk.size();
      while (!chunk.empty()) {
        std::size_t used = 0;
        auto st = parser.parse(chunk, used, m);
        chunk.remove_prefix(used);
        if (st == FrameParser::Status::message) {
          ++messages;
          benchmark::DoNotOptimize(m.payload.data());
        } else if (st == FrameParser::Status::error) {
          state.SkipWithError("parse error");
          return;
        } else {
          break;
        }
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}

// 16 KiB reads: what the WebSocket's read buffer hands the parser.
void BM_ClientUnmasked300(benchmark::State& s) {
  run(s, Role::client, 16 * 1024);
}
void BM_ServerMasked300(benchmark::State& s) {
  run(s, Role::server, 16 * 1024);
}
// 1,500-byte reads: one Ethernet segment at a time, headers split often.
void BM_ClientUnmasked300_SmallReads(benchmark::State& s) {
  run(s, Role::client, 1500);
}

BENCHMARK(BM_ClientUnmasked300);
BENCHMARK(BM_ServerMasked300);
BENCHMARK(BM_ClientUnmasked300_SmallReads);

}  // namespace
}  // namespace faultline::relay::net

BENCHMARK_MAIN();
