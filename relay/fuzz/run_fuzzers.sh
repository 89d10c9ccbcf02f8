#!/usr/bin/env bash
# Builds the relay's libFuzzer targets in the clang-fuzz tree (clang,
# -fsanitize=fuzzer-no-link,address,undefined; only the fuzz targets and what
# they link) and runs each for a bounded time from its seed corpus.
#
#   relay/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]   (default 20)
#
# Exit 0: every target ran its time without a finding. 1: a finding (the
# crashing input is kept under build/clang-fuzz/fuzz/findings/ and named in
# the output). 77: clang or libFuzzer is not available here.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_PER_TARGET="${1:-20}"
BUILD="$ROOT/build/clang-fuzz"

if ! command -v clang++ >/dev/null; then
  echo "SKIP: clang++ not installed (libFuzzer needs clang)"; exit 77
fi
if [[ ! -f "$BUILD/build.ninja" ]]; then
  echo "configuring preset clang-fuzz in $BUILD"
  cmake --preset clang-fuzz -S "$ROOT" >"$ROOT/build/configure-clang-fuzz.log" 2>&1 || {
    if grep -q "fuzzer" "$ROOT/build/configure-clang-fuzz.log" && ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
      echo "SKIP: libFuzzer runtime (libclang-rt-dev) not installed"; exit 77
    fi
    cat "$ROOT/build/configure-clang-fuzz.log"; exit 1
  }
fi
# Re-running configure refreshes fuzzers.txt if targets were added.
cmake "$BUILD" >/dev/null || exit 1
LIST="$BUILD/fuzz/fuzzers.txt"
mapfile -t TARGETS < <(cut -f1 "$LIST")
if [[ ${#TARGETS[@]} -eq 0 ]]; then echo "no fuzz targets registered"; exit 1; fi
echo "building ${TARGETS[*]}"
ninja -C "$BUILD" "${TARGETS[@]}" >"$BUILD/fuzz/build.log" 2>&1 || { tail -50 "$BUILD/fuzz/build.log"; exit 1; }

FINDINGS="$BUILD/fuzz/findings"
mkdir -p "$FINDINGS"
status=0
while IFS=$'\t' read -r name exe corpus; do
  work="$(mktemp -d)"
  # Seeds are copied: the run adds inputs to its corpus dir, the tree stays clean.
  for d in $corpus; do [[ -d "$d" ]] && cp -r "$d"/. "$work"/ 2>/dev/null; done
  printf '%-16s %3ss from %s seeds ... ' "$name" "$SECONDS_PER_TARGET" "$(ls "$work" | wc -l)"
  if "$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$FINDINGS/$name-" "$work" >"$BUILD/fuzz/$name.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz/$name.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$BUILD/fuzz/$name.log" | tail -1)
    echo "ok (${runs:-?} inputs, ${cov:-cov ?})"
  else
    echo "FINDING"
    grep -E 'ERROR|SUMMARY|Test unit written' "$BUILD/fuzz/$name.log" | head -10
    status=1
  fi
  rm -rf "$work"
done <"$LIST"
exit $status
