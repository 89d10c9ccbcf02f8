// The official consumer, @atproto/sync's Firehose, reading
// com.atproto.sync.subscribeRepos from a relay (or a PDS), recording every
// #commit that passed its lexicon validation and its parsing (repo, rev, seq,
// commit CID, ops) and comparing with what the PDS says it emitted.
// Run it with the Node 22 that setup.sh installed:
//
//   node firehose_consumer.mjs --service ws://127.0.0.1:PORT [--plc http://localhost:PORT]
//        [--cursor 0|none] [--commits N] [--expect FILE] [--timeout 60] [--linger-ms 1000] [--out FILE]
//
// Stops when --commits N distinct commits arrived, or, with --expect, once the
// file exists (JSON lines from pds.mjs; the last line with `commits` is the
// truth) and every commit in it arrived (then lingers --linger-ms for
// duplicates or extras), or after --timeout seconds. Prints one JSON summary
// line on stdout; exit 0 when complete and clean, 1 otherwise.
//
// Options the DESIGN.md traps require: runner: new MemoryRunner({startCursor})
// (getCursor alone would send a function as the cursor), and
// unauthenticatedCommits (DID documents on loopback use http:, so signature
// checks against the resolved key fail). unauthenticatedHandles too: handle
// checks would query DNS for *.test. #identity events still resolve the DID,
// so give --plc (the PLC the PDS uses); every identity lookup is confined to
// loopback by a fetch wrapper and listed in the summary.
import fs from 'node:fs';
import { load, parseArgs } from './modules.mjs';

const USAGE = 'usage: node firehose_consumer.mjs --service ws://HOST:PORT [--plc URL] [--cursor 0|none] ' +
  '[--commits N] [--expect FILE] [--timeout S] [--linger-ms MS] [--out FILE]';
const opts = parseArgs(process.argv.slice(2), {
  service: '', plc: 'http://127.0.0.1:1', cursor: '0', commits: 0, expect: '', timeout: 60,
  lingerMs: 1000, out: '',
}, USAGE);
if (!opts.service) { console.error(USAGE); process.exit(2); }
if (opts.cursor !== 'none' && !/^\d+$/.test(opts.cursor)) { console.error('--cursor: a number or none'); process.exit(2); }
const log = (msg) => console.error(`consumer: ${msg}`);

const isLoopback = (host) => host === 'localhost' || /^127\./.test(host) || host === '[::1]' || host === '::1';
for (const u of [opts.service, opts.plc]) {
  if (!isLoopback(new URL(u).hostname)) { console.error(`refusing non-loopback address ${u}`); process.exit(2); }
}

const { Firehose, MemoryRunner } = await load('@atproto/sync');
const { IdResolver } = await load('@atproto/identity');

const t0 = performance.now();
const identityFetches = [];
const loopbackFetch = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  identityFetches.push(url.href);
  if (!isLoopback(url.hostname)) return Promise.reject(new Error(`off-loopback lookup refused: ${url.href}`));
  return fetch(input, init);
};
const idResolver = new IdResolver({ plcUrl: opts.plc, timeout: 3000, fetch: loopbackFetch });

// ---- what arrived --------------------------------------------------------------
const commits = new Map(); // key did|commitCid -> record
const duplicates = [];
const errors = [];
const counts = { commit: 0, sync: 0, identity: 0, account: 0, other: 0 };
const delivered = { create: 0, update: 0, delete: 0, sync: 0, identity: 0, account: 0 };
let lastSeq = -1;
const seqRegressions = [];
let firstEventMs = null;

const keyOf = (did, cid) => `${did}|${cid}`;

// Firehose.parseEvt (a TypeScript-private method, a plain one at run time) is
// where a validated message is parsed; recording it here sees every #commit,
// including those with no ops (the empty commit of a new account), which
// never reach handleEvent.
class RecordingFirehose extends Firehose {
  async parseEvt(evt) {
    firstEventMs ??= performance.now() - t0;
    const type = (evt.$type ?? '').split('#')[1] ?? 'other';
    counts[type in counts ? type : 'other']++;
    if (type !== 'commit') return super.parseEvt(evt);
    const rec = {
      seq: evt.seq, did: evt.repo, rev: evt.rev, commit: evt.commit.toString(), since: evt.since ?? null,
      ops: evt.ops.map((op) => ({ action: op.action, path: op.path, cid: op.cid ? op.cid.toString() : null })),
      delivered: 0, parse_error: null,
    };
    const key = keyOf(rec.did, rec.commit);
    if (commits.has(key)) duplicates.push({ did: rec.did, rev: rec.rev, seq: rec.seq });
    else commits.set(key, rec);
    const parsed = await super.parseEvt(evt); // a failure goes to onError below
    rec.delivered = parsed.length;
    return parsed;
  }
}

const describe = (err) => {
  const parts = [err?.message ?? String(err)];
  for (let c = err?.cause, i = 0; c && i < 4; c = c.cause, i++) parts.push(c.message ?? String(c));
  return parts.join(': ');
};

// The runner sees events in wire order (Firehose.start calls trackEvent for
// each message as it arrives; the parsing then runs per repo, concurrently).
class OrderCheckingRunner extends MemoryRunner {
  trackEvent(did, seq, handler) {
    if (seq <= lastSeq) seqRegressions.push({ seq, after: lastSeq });
    lastSeq = Math.max(lastSeq, seq);
    return super.trackEvent(did, seq, handler);
  }
}
const runner = new OrderCheckingRunner(opts.cursor === 'none' ? {} : { startCursor: Number(opts.cursor) });
const firehose = new RecordingFirehose({
  service: opts.service,
  idResolver,
  runner,
  unauthenticatedCommits: true,
  unauthenticatedHandles: true,
  subscriptionReconnectDelay: 1000,
  maxReconnectSeconds: 4,
  handleEvent: async (evt) => { delivered[evt.event] = (delivered[evt.event] ?? 0) + 1; },
  onError: (err) => {
    const e = { name: err?.constructor?.name ?? 'Error', message: describe(err) };
    const ev = err?.event;
    if (ev?.seq !== undefined) e.seq = ev.seq;
    if (ev?.repo && ev?.commit) {
      const rec = commits.get(keyOf(ev.repo, ev.commit.toString()));
      if (rec) rec.parse_error = e.message;
    }
    if (errors.length < 1000) errors.push(e);
    log(`${e.name}: ${e.message}`);
  },
});

// ---- what should have arrived -------------------------------------------------
let expected = null; // array of {did, commit, rev, ops, seq}
function readExpect() {
  if (!opts.expect || expected) return;
  let text;
  try { text = fs.readFileSync(opts.expect, 'utf8'); } catch { return; }
  const lines = text.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } });
  const last = lines.filter((l) => l && Array.isArray(l.commits)).at(-1);
  if (last) expected = last.commits;
}
const complete = () => {
  if (opts.expect) return expected !== null && expected.every((c) => commits.has(keyOf(c.did, c.commit)));
  return opts.commits > 0 && commits.size >= opts.commits;
};

// ---- run until done -------------------------------------------------------------
const started = firehose.start();
let why = 'timeout';
const deadline = Date.now() + opts.timeout * 1000;
while (Date.now() < deadline) {
  readExpect();
  if (complete()) { why = 'complete'; break; }
  await new Promise((r) => setTimeout(r, 100));
}
if (why === 'complete' && opts.lingerMs > 0) await new Promise((r) => setTimeout(r, opts.lingerMs));
const elapsed = performance.now() - t0;
const stopTimer = setTimeout(() => { log('Firehose.destroy() timed out'); }, 5000);
stopTimer.unref();
await Promise.race([firehose.destroy(), new Promise((r) => setTimeout(r, 5000))]);
await Promise.race([runner.destroy(), new Promise((r) => setTimeout(r, 2000))]);
await Promise.race([started, new Promise((r) => setTimeout(r, 1000))]);

// ---- compare and report -----------------------------------------------------------
const all = [...commits.values()].sort((a, b) => a.seq - b.seq);
const byRepo = {};
const revRegressions = [];
for (const c of all) {
  const r = (byRepo[c.did] ??= { commits: 0, revs: [] });
  r.commits++;
  if (r.revs.length && c.rev <= r.revs[r.revs.length - 1]) revRegressions.push({ did: c.did, rev: c.rev, after: r.revs.at(-1) });
  r.revs.push(c.rev);
}
// ops a commit announced but the parser did not deliver: a record block
// missing from the CAR is skipped silently by formatCommitOps.
const undelivered = all.filter((c) => !c.parse_error && c.delivered !== c.ops.length)
  .map((c) => ({ did: c.did, rev: c.rev, seq: c.seq, ops: c.ops.length, delivered: c.delivered }));
const parseFailed = all.filter((c) => c.parse_error).map((c) => ({ did: c.did, rev: c.rev, seq: c.seq, error: c.parse_error }));

let missing = [], unexpected = [], mismatched = [];
if (expected) {
  const exp = new Map(expected.map((c) => [keyOf(c.did, c.commit), c]));
  missing = expected.filter((c) => !commits.has(keyOf(c.did, c.commit))).map(({ seq, did, rev }) => ({ seq, did, rev }));
  unexpected = all.filter((c) => !exp.has(keyOf(c.did, c.commit))).map(({ seq, did, rev }) => ({ seq, did, rev }));
  for (const c of all) {
    const e = exp.get(keyOf(c.did, c.commit));
    if (e && (e.rev !== c.rev || JSON.stringify(e.ops) !== JSON.stringify(c.ops)))
      mismatched.push({ did: c.did, commit: c.commit, expected: { rev: e.rev, ops: e.ops }, got: { rev: c.rev, ops: c.ops } });
  }
}

const clip = (a, n = 20) => a.slice(0, n);
const ok = why === 'complete' && errors.length === 0 && duplicates.length === 0 && undelivered.length === 0 &&
  missing.length === 0 && unexpected.length === 0 && mismatched.length === 0 &&
  seqRegressions.length === 0 && revRegressions.length === 0;
const summary = {
  ok, stopped: why, service: opts.service, cursor: opts.cursor,
  elapsed_ms: Math.round(elapsed), first_event_ms: firstEventMs === null ? null : Math.round(firstEventMs),
  events: counts, ops_delivered: delivered,
  commits: all.length, expected: expected ? expected.length : (opts.commits || null),
  commits_by_repo: Object.fromEntries(Object.entries(byRepo).map(([d, r]) => [d, r.commits])),
  revs: Object.fromEntries(Object.entries(byRepo).map(([d, r]) => [d, r.revs])),
  missing: clip(missing), unexpected: clip(unexpected), mismatched: clip(mismatched, 5),
  duplicates: clip(duplicates), seq_regressions: clip(seqRegressions), rev_regressions: clip(revRegressions),
  undelivered_ops: clip(undelivered), parse_failed: clip(parseFailed),
  errors: clip(errors), errors_total: errors.length,
  identity_lookups: [...new Set(identityFetches)].slice(0, 20),
};
const line = JSON.stringify(summary);
process.stdout.write(line + '\n');
if (opts.out) fs.writeFileSync(opts.out, line + '\n');
process.exit(ok ? 0 : 1);
