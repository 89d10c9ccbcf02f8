// A real PLC directory and the reference PDS on loopback (@atproto/dev-env's
// TestNetworkNoAppView), with accounts that post, like, follow, repost, edit
// their profile, write batches and delete, so a relay under test has a real
// upstream to subscribe to. Run it with the Node 22 that setup.sh installed:
//
//   node pds.mjs [--accounts 3] [--records 8] [--rounds 1] [--max-seconds 900] [--out FILE]
//
// Prints JSON lines on stdout, one per state change:
//   {"event":"ready", "pds":{"url","ws","host","port"}, "plc":{"url"},
//    "accounts":[{did,handle}], "events":{commit,sync,identity,account},
//    "last_seq", "commits":[{seq,did,rev,commit,ops:[{action,path,cid}]}], "timing_ms":{...}}
//   {"event":"activity", ...same fields}    after each `activity` command
//   {"event":"subscriber", "url", "remote"}  when someone opens subscribeRepos
// `commits` is the PDS's own record of every #commit it emitted: its sequencer
// table, which its firehose serves (seq order, invalidated rows excluded).
//
// --rounds K: activity rounds before "ready" (0: the PDS starts empty and the
// first `activity` command creates the accounts). One round = --records
// commits per account (a batch commit carries 3 ops; account creation adds
// its own #identity/#account/#commit/#sync events).
// Commands on stdin, one per line: `activity` (one more round), `status`,
// `quit`. Stops, closing the PDS and PLC and removing its data, when stdin
// closes, on SIGTERM/SIGINT, on `quit`, or after --max-seconds.
// Every listening socket in this process is bound to 127.0.0.1.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { load, parseArgs } from './modules.mjs';

const USAGE = 'usage: node pds.mjs [--accounts N] [--records N] [--rounds N] [--max-seconds N] [--out FILE]';
const opts = parseArgs(process.argv.slice(2),
  { accounts: 3, records: 8, rounds: 1, maxSeconds: 900, out: '' }, USAGE);
if (opts.accounts < 1 || opts.accounts > 50) { console.error('--accounts: 1..50'); process.exit(2); }
if (opts.records > 200 || opts.rounds > 20) { console.error('--records <= 200, --rounds <= 20'); process.exit(2); }

const log = (msg) => console.error(`pds: ${msg}`);
const emit = (obj) => {
  const line = JSON.stringify(obj);
  process.stdout.write(line + '\n');
  if (opts.out) fs.appendFileSync(opts.out, line + '\n');
};

// Loopback only: a listen() without a host would bind every interface.
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a0 = args[0];
  if (args.length === 0 || typeof a0 === 'function') args.unshift(0, '127.0.0.1');
  else if (typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (a0 && typeof a0 === 'object' && a0.path === undefined && a0.fd === undefined &&
             a0.handle === undefined && a0._handle === undefined && !a0.host) {
    args[0] = { ...a0, host: '127.0.0.1' };
  }
  return origListen.apply(this, args);
};

// dev-env puts the PDS's data and its port locks under os.tmpdir(): give it a
// private directory that is removed on exit.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-pds-'));
process.env.TMPDIR = tmp;

let network = null;
let stopping = false;
async function stop(code, why) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  const hard = setTimeout(() => { log('close timed out after 15 s'); finish(code || 1); }, 15_000);
  hard.unref();
  try {
    if (network) await network.close();
  } catch (err) {
    log(`close: ${err?.message ?? err}`);
  }
  clearTimeout(hard);
  finish(code);
}
function finish(code) {
  try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
  process.exit(code);
}
process.on('SIGTERM', () => stop(0, 'SIGTERM'));
process.on('SIGINT', () => stop(0, 'SIGINT'));
process.on('unhandledRejection', (err) => { log(`unhandled: ${err?.stack ?? err}`); stop(1, 'error'); });
setTimeout(() => stop(0, `--max-seconds ${opts.maxSeconds} reached`), opts.maxSeconds * 1000).unref();

const t0 = performance.now();
const { TestNetworkNoAppView } = await load('@atproto/dev-env');
const { AtpAgent } = await load('@atproto/api');
const tLoaded = performance.now();
network = await TestNetworkNoAppView.create({});
const tStarted = performance.now();
const port = network.pds.port;
const pdsUrl = `http://127.0.0.1:${port}`;
log(`PDS ${network.pds.url} (PLC ${network.plc.url}) up in ${Math.round(tStarted - t0)} ms`);

network.pds.server.server.on('upgrade', (req) => {
  if (req.url?.startsWith('/xrpc/com.atproto.sync.subscribeRepos'))
    emit({ event: 'subscriber', url: req.url, remote: req.socket.remoteAddress });
});

// ---- activity --------------------------------------------------------------
const users = [];
const KINDS = ['post', 'like', 'follow', 'profile', 'repost', 'batch', 'profile', 'delete'];
let postCounter = 0;

async function createAccounts() {
  for (let i = 0; i < opts.accounts; i++) {
    const agent = new AtpAgent({ service: pdsUrl });
    const handle = `user${i}.test`;
    await agent.createAccount({ handle, email: `user${i}@example.invalid`, password: `interop-${i}` });
    users.push({ agent, did: agent.session.did, handle, posts: [], follows: new Set(), i });
  }
}

const newestPostOfOther = (u) => {
  for (let k = 1; k < users.length; k++) {
    const o = users[(u.i + k) % users.length];
    if (o.posts.length) return o.posts[o.posts.length - 1];
  }
  return null;
};

async function post(u) {
  const n = ++postCounter;
  const res = await u.agent.post({ text: `interop post ${n} by ${u.handle}`, createdAt: new Date().toISOString() });
  u.posts.push(res);
}

async function write(u, kind) {
  switch (kind) {
    case 'post':
      return post(u);
    case 'like':
    case 'repost': {
      const p = newestPostOfOther(u);
      if (!p) return post(u);
      return kind === 'like' ? u.agent.like(p.uri, p.cid) : u.agent.repost(p.uri, p.cid);
    }
    case 'follow': {
      const o = users.map((_, k) => users[(u.i + 1 + k) % users.length])
        .find((x) => x !== u && !u.follows.has(x.did));
      if (!o) return post(u);
      u.follows.add(o.did);
      return u.agent.follow(o.did);
    }
    case 'profile': // create on first use, update afterwards
      return u.agent.upsertProfile((old) => ({ ...(old ?? {}), displayName: `User ${u.i} (${++postCounter})` }));
    case 'batch': { // one commit, three create ops
      const createdAt = new Date().toISOString();
      const writes = [1, 2, 3].map(() => ({
        $type: 'com.atproto.repo.applyWrites#create',
        collection: 'app.bsky.feed.post',
        value: { $type: 'app.bsky.feed.post', text: `interop batch post ${++postCounter}`, createdAt },
      }));
      return u.agent.com.atproto.repo.applyWrites({ repo: u.did, writes });
    }
    case 'delete': {
      const p = u.posts.shift();
      if (!p) return post(u);
      return u.agent.deletePost(p.uri);
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

async function round() {
  if (users.length === 0) await createAccounts();
  for (let r = 0; r < opts.records; r++) {
    for (const u of users) await write(u, KINDS[(r + u.i) % KINDS.length]);
  }
}

// ---- the PDS's own record of what it emitted ---------------------------------
async function snapshot() {
  await network.processAll();
  const seqr = network.pds.ctx.sequencer;
  const evts = [];
  for (let after = -1, pages = 0; pages < 10_000; pages++) {
    const page = await seqr.requestSeqRange({ earliestSeq: after, limit: 500 });
    if (page.length === 0) break;
    evts.push(...page);
    after = page[page.length - 1].seq;
  }
  const events = { commit: 0, sync: 0, identity: 0, account: 0 };
  const commits = [];
  for (const e of evts) {
    events[e.type] = (events[e.type] ?? 0) + 1;
    if (e.type !== 'commit') continue;
    commits.push({
      seq: e.seq, did: e.evt.repo, rev: e.evt.rev, commit: e.evt.commit.toString(),
      ops: e.evt.ops.map((op) => ({ action: op.action, path: op.path, cid: op.cid ? op.cid.toString() : null })),
    });
  }
  return { events, last_seq: evts.length ? evts[evts.length - 1].seq : 0, commits };
}

const timing = { load: Math.round(tLoaded - t0), start: Math.round(tStarted - tLoaded) };
async function report(event, activityMs) {
  const snap = await snapshot();
  if (activityMs !== undefined) timing.last_activity = Math.round(activityMs);
  emit({
    event,
    pds: { url: pdsUrl, ws: `ws://127.0.0.1:${port}`, host: '127.0.0.1', port, public_url: network.pds.url },
    plc: { url: network.plc.url },
    accounts: users.map((u) => ({ did: u.did, handle: u.handle })),
    ...snap,
    timing_ms: { ...timing },
  });
}

async function activity() {
  const t = performance.now();
  await round();
  return performance.now() - t;
}

let initialMs = 0;
for (let r = 0; r < opts.rounds; r++) initialMs += await activity();
await report('ready', opts.rounds ? initialMs : undefined);

// ---- commands on stdin ---------------------------------------------------------
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (!cmd) return;
  queue = queue.then(async () => {
    if (stopping) return;
    if (cmd === 'activity') await report('activity', await activity());
    else if (cmd === 'status') await report('status');
    else if (cmd === 'quit') await stop(0, 'quit');
    else log(`unknown command: ${cmd} (activity | status | quit)`);
  }).catch((err) => { log(`${cmd}: ${err?.stack ?? err}`); stop(1, 'error'); });
});
rl.on('close', () => { queue.then(() => stop(0, 'stdin closed')); });
