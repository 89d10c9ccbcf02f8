// Interop driver for relay/net's WebSocket against npm `ws` (an independent,
// Autobahn-tested implementation), on both io backends:
//   A. ws client  -> our HttpServer + WebSocket server (echo at /echo):
//      permessage-deflate offered (ws's default) must be declined; a
//      fragmented text with a ping between fragments, a 4,900,000-byte binary
//      in 1 MiB fragments, 100 small messages in order; close 1000 echoed.
//   B. our WebSocket client -> ws server: the server sends a fragmented text
//      (ping between fragments) and a 3,000,000-byte binary in 64 KiB
//      fragments, then echoes (see ws_peer.cc for the client's checks);
//      ws verifies our frames are masked and well formed.
//
//   node interop_ws_net.mjs WS_INSTALL_DIR WS_PEER_BIN
// Exit 0 when everything passed, 1 otherwise. Loopback only; every step has a
// timeout; children are killed by pid at the end.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import path from 'node:path';

const [wsDir, peer] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(wsDir), 'package.json'));
const { WebSocketServer, WebSocket } = require('ws');

const children = [];
const cleanup = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
const fail = (msg) => { console.error(`interop: FAIL: ${msg}`); cleanup(); process.exit(1); };
setTimeout(() => fail('overall timeout (140 s)'), 140_000).unref();

const pattern = (n, mul, add) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; ++i) b[i] = (i * mul + add) & 0xff;
  return b;
};
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: timeout`)), ms).unref())]);

function startPeerServer(backend) {
  return new Promise((resolve, reject) => {
    const p = spawn(peer, ['server', backend], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(p);
    let out = '';
    const t = setTimeout(() => reject(new Error('peer server did not start')), 10_000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve({ proc: p, port: Number(m[1]) }); }
    });
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`peer server exited with ${code}`)); });
  });
}

// A: npm ws client against our server.
function clientAgainstOurServer(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);  // offers permessage-deflate by default
    const big = pattern(4_900_000, 131, 5);
    const expected = [];
    let pongs = 0;
    ws.on('open', () => {
      if (ws.extensions !== '') return reject(new Error(`extensions negotiated: '${ws.extensions}'`));
      expected.push({ text: true, data: Buffer.from('frag-ment-ed') });
      ws.send('frag-', { fin: false });
      ws.ping('between fragments');
      ws.send('ment-', { fin: false });
      ws.send('ed', { fin: true });
      expected.push({ text: false, data: big });
      const step = 1 << 20;
      for (let off = 0; off < big.length; off += step)
        ws.send(big.subarray(off, off + step), { binary: true, fin: off + step >= big.length });
      for (let i = 0; i < 100; ++i) {
        const d = Buffer.from(`small-${i}`);
        expected.push({ text: false, data: d });
        ws.send(d, { binary: true });
      }
    });
    ws.on('pong', () => { ++pongs; });
    ws.on('message', (data, isBinary) => {
      const want = expected.shift();
      if (!want) return reject(new Error('unexpected extra message'));
      if (isBinary === want.text || !Buffer.from(data).equals(want.data))
        return reject(new Error(`echo mismatch (${data.length} bytes, binary=${isBinary})`));
      if (expected.length === 0) ws.close(1000, 'done');
    });
    ws.on('close', (code) => {
      if (expected.length !== 0) return reject(new Error(`closed with ${expected.length} echoes missing (code ${code})`));
      if (code !== 1000) return reject(new Error(`close code ${code}`));
      if (pongs < 1) return reject(new Error('no pong for the ping'));
      resolve();
    });
    ws.on('error', (e) => reject(e));
  });
}

// B: our client against an npm ws server.
function ourClientAgainstWsServer(backend) {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 8 << 20 });
    let closeCode = null;
    let serverError = null;
    wss.on('connection', (sock) => {
      sock.send('hello, ', { fin: false });
      sock.ping('between fragments');
      sock.send('fragmented ', { fin: false });
      sock.send('world', { fin: true });
      const big = pattern(3_000_000, 31, 7);
      const step = 64 * 1024;
      for (let off = 0; off < big.length; off += step)
        sock.send(big.subarray(off, off + step), { binary: true, fin: off + step >= big.length });
      sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
      sock.on('close', (code) => { closeCode = code; });
      sock.on('error', (e) => { serverError = e; });
    });
    wss.on('listening', () => {
      const url = `ws://127.0.0.1:${wss.address().port}/xrpc/com.atproto.sync.subscribeRepos?cursor=1`;
      const c = spawn(peer, ['client', backend, url], { stdio: 'inherit' });
      children.push(c);
      c.on('exit', (code, sig) => {
        wss.close();
        if (code !== 0) return reject(new Error(`our client exited with ${code ?? sig}`));
        if (serverError) return reject(new Error(`ws server error: ${serverError.message}`));
        // ws reports the close code of the client's close frame.
        setTimeout(() => (closeCode === 1000 ? resolve() : reject(new Error(`ws saw close code ${closeCode}`))), 200);
      });
    });
    wss.on('error', reject);
  });
}

let good = true;
for (const backend of ['threaded', 'evented']) {
  try {
    const srv = await startPeerServer(backend);
    await withTimeout(clientAgainstOurServer(srv.port), 30_000, `A/${backend}`);
    srv.proc.stdin.end();
    console.error(`interop: A/${backend}: ws client <-> our server: PASS`);
  } catch (e) {
    good = false;
    console.error(`interop: A/${backend}: ws client <-> our server: FAIL: ${e.message}`);
  }
  try {
    await withTimeout(ourClientAgainstWsServer(backend), 40_000, `B/${backend}`);
    console.error(`interop: B/${backend}: our client <-> ws server: PASS`);
  } catch (e) {
    good = false;
    console.error(`interop: B/${backend}: our client <-> ws server: FAIL: ${e.message}`);
  }
}
cleanup();
console.error(`interop: ${good ? 'PASS' : 'FAIL'}`);
process.exit(good ? 0 : 1);
