#!/usr/bin/env bash
# Runs one repro program with --json and checks its exit code and record:
#   expect_run.sh EXPECT_EXIT JSON_REGEX PROGRAM [ARGS...]
# JSON_REGEX is an extended regex the single record line must match ("" for
# none). A program that exits 77 makes this exit 77 too, so a machine that
# cannot run the repro reports a skip, never a pass. Bounded by `timeout`.
set -u
expect_exit=$1 regex=$2
shift 2
out=$(timeout 120 "$@" --json)
rc=$?
if [[ $rc -eq 77 ]]; then
  echo "skipped: $out"
  exit 77
fi
if [[ $rc -ne $expect_exit ]]; then
  echo "expected exit $expect_exit, got $rc: $out"
  exit 1
fi
if [[ -n $regex ]] && ! grep -Eq -- "$regex" <<<"$out"; then
  echo "record does not match /$regex/: $out"
  exit 1
fi
echo "ok: exit $rc"
