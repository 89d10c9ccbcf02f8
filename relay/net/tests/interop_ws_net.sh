#!/usr/bin/env bash
# CTest entry for relay.net.interop.ws: installs npm `ws` under the build tree
# (once), then runs interop_ws_net.mjs against relay_net_ws_peer. Exits 77
# with a reason when node/npm is missing or the install fails (offline).
#   interop_ws_net.sh WS_PEER_BIN WORK_DIR
set -u
peer=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not found"; exit 77; }
done
mkdir -p "$work"
if [[ ! -f $work/node_modules/ws/package.json ]]; then
  if ! timeout 180 npm install --no-audit --no-fund --prefix "$work" ws >"$work/npm-install.log" 2>&1; then
    echo "skip: npm install ws failed:"
    tail -5 "$work/npm-install.log"
    exit 77
  fi
fi
exec timeout 150 node "$here/interop_ws_net.mjs" "$work" "$peer"
