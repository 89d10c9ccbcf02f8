// Google Benchmark: how fast the fake upstream hosts can build frames and
// the relay can check, peek and re-sequence them.
//   ninja -C <build> relay_proto_bench && <build>/relay/proto/relay_proto_bench
#include <benchmark/benchmark.h>

#include "relay/proto/cbor.h"
#include "relay/proto/frame.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;

namespace {

proto::CommitSpec spec(int ops) {
  proto::CommitSpec s;
  s.did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
  s.ops.assign(static_cast<std::size_t>(ops), proto::OpSpec{});
  return s;
}

void BM_MakeCommitFrame(benchmark::State& state) {
  proto::CommitSpec s = spec(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    ++s.seq;
    s.rev.clear();
    auto f = proto::make_commit_frame(s);
    bytes += f.size();
    benchmark::DoNotOptimize(f.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_MakeCommitFrame)->Arg(1)->Arg(3)->Arg(10);

void BM_MakeIdentityFrame(benchmark::State& state) {
  proto::IdentitySpec s{.did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz", .handle = "alice.test"};
  for (auto _ : state) {
    ++s.seq;
    auto f = proto::make_identity_frame(s);
    benchmark::DoNotOptimize(f.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MakeIdentityFrame);

void BM_CheckCommitFrame(benchmark::State& state) {
  const auto frame = proto::make_commit_frame(spec(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto r = proto::check_frame(frame);
    if (!r.ok) state.SkipWithError(r.reason.c_str());
    benchmark::DoNotOptimize(r.seq);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_CheckCommitFrame)->Arg(1)->Arg(3)->Arg(10);

void BM_PeekHeader(benchmark::State& state) {
  const auto frame = proto::make_commit_frame(spec(3));
  for (auto _ : state) {
    auto p = proto::peek_header(frame);
    benchmark::DoNotOptimize(p.seq);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PeekHeader);

void BM_RewriteSeq(benchmark::State& state) {
  const auto frame = proto::make_commit_frame(spec(3));
  std::int64_t seq = 1'000'000;
  for (auto _ : state) {
    auto out = proto::rewrite_seq(frame, ++seq);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RewriteSeq);

void BM_DecodeCommitBody(benchmark::State& state) {
  const auto frame = proto::make_commit_frame(spec(3));
  std::size_t used = 0;
  (void)cbor::decode_prefix(frame, used);
  const std::span<const std::uint8_t> body(frame.data() + used, frame.size() - used);
  for (auto _ : state) {
    auto r = cbor::decode(body);
    benchmark::DoNotOptimize(r.consumed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeCommitBody);

}  // namespace

BENCHMARK_MAIN();
