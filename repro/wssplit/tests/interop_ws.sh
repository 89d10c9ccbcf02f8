#!/usr/bin/env bash
# CTest entry for splitproxy.interop: installs npm `ws` under the build tree
# (once), then runs interop_ws.mjs. Exits 77 with a reason when node/npm is
# missing or the install fails, so an offline machine reports a skip.
#   interop_ws.sh FAULTLINE_BIN WS_CLIENT_BIN WORK_DIR
set -u
faultline=$1 client=$2 work=$3
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
exec timeout 110 node "$here/interop_ws.mjs" "$work" "$faultline" "$client"
