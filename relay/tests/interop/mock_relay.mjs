// A stand-in relay for testing the harness itself (not a reference
// implementation): takes the relay CLI's flags, subscribes to one upstream
// host live (no cursor), re-sequences every event, keeps them in memory and
// serves com.atproto.sync.subscribeRepos with cursor replay (seq > cursor)
// then live. --fault makes it misbehave so the harness can be shown to catch
// it: drop (the 5th #commit is lost), dup (the 5th #commit is sent twice),
// corrupt (the 5th #commit's CAR is truncated).
//
//   node mock_relay.mjs --host ws://127.0.0.1:P --port N [--metrics-port M] [--data-dir D] [--fault none|drop|dup|corrupt]
//
// Listens on 127.0.0.1 only; stops on SIGTERM/SIGINT or after --max-seconds.
import http from 'node:http';
import { load, parseArgs } from './modules.mjs';

const USAGE = 'usage: node mock_relay.mjs --host ws://HOST:PORT --port N [--metrics-port M] [--data-dir D] ' +
  '[--fault none|drop|dup|corrupt] [--max-seconds S]';
const opts = parseArgs(process.argv.slice(2),
  { host: '', port: 0, metricsPort: 0, dataDir: '', fault: 'none', maxSeconds: 900 }, USAGE);
if (!opts.host || !opts.port || !['none', 'drop', 'dup', 'corrupt'].includes(opts.fault)) {
  console.error(USAGE);
  process.exit(2);
}
const log = (msg) => console.error(`mock-relay: ${msg}`);
const wsModule = await load('ws'); // CommonJS: its exports are on `default`
const { WebSocket, WebSocketServer } = wsModule.default ?? wsModule;
const { encode, decodeAll } = await load('@atproto/lex-cbor');

const frames = []; // {seq, data}
const clients = new Set();
let seq = 0;
let commitsSeen = 0;

const concat = (a, b) => { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; };
function publish(data, s) {
  frames.push({ seq: s, data });
  for (const c of clients) if (c.live) c.ws.send(data);
}

const upstreamUrl = `${opts.host.replace(/\/$/, '')}/xrpc/com.atproto.sync.subscribeRepos`;
function connectUpstream() {
  const up = new WebSocket(upstreamUrl);
  up.on('open', () => log(`subscribed to ${upstreamUrl}`));
  up.on('message', (buf) => {
    const [header, body] = [...decodeAll(new Uint8Array(buf))];
    if (header?.op !== 1 || typeof body?.seq !== 'number') return; // errors/#info are not forwarded
    if (header.t === '#commit' && ++commitsSeen === 5 && opts.fault !== 'none') {
      log(`fault: ${opts.fault} on commit ${body.repo} ${body.rev}`);
      if (opts.fault === 'drop') return;
      if (opts.fault === 'corrupt') body.blocks = body.blocks.subarray(0, Math.floor(body.blocks.length / 2));
      if (opts.fault === 'dup') { const s = ++seq; publish(concat(encode(header), encode({ ...body, seq: s })), s); }
    }
    const s = ++seq;
    publish(concat(encode(header), encode({ ...body, seq: s })), s);
  });
  up.on('close', () => { if (!stopping) { log('upstream closed; reconnecting in 1 s'); setTimeout(connectUpstream, 1000); } });
  up.on('error', (err) => log(`upstream: ${err.message}`));
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/xrpc/_health' || req.url === '/' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ version: 'mock' }));
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, sock, head) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/xrpc/com.atproto.sync.subscribeRepos') { sock.destroy(); return; }
  wss.handleUpgrade(req, sock, head, (ws) => {
    const c = { ws, live: false };
    clients.add(c);
    ws.on('close', () => clients.delete(c));
    ws.on('error', () => clients.delete(c));
    const cursor = url.searchParams.get('cursor');
    if (cursor !== null && cursor !== '') for (const f of frames) if (f.seq > Number(cursor)) ws.send(f.data);
    c.live = true; // single-threaded: no event can slip between the replay and this
  });
});
let stopping = false;
const stop = (why) => {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  for (const c of clients) c.ws.terminate();
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
setTimeout(() => stop('--max-seconds'), opts.maxSeconds * 1000).unref();

server.listen(opts.port, '127.0.0.1', () => {
  log(`listening on 127.0.0.1:${opts.port}, fault=${opts.fault}`);
  connectUpstream();
});
