// Interop driver: npm `ws` server <- faultline splitproxy -> npm `ws` client,
// and faultline's own HandshakeReader (wssplit_ws_client) through the proxy.
//
//   node interop_ws.mjs WS_INSTALL_DIR FAULTLINE_BIN WS_CLIENT_BIN
//
// With --split every, connection n is cut at byte n in both directions, so
// N sequential connections put every offset of the request, the 101 response
// and the first frames through a split. A second proxy dribbles one byte per
// write. Exit 0 when every exchange succeeded, 1 otherwise. Loopback only;
// every step has a timeout and every child is killed by its pid at the end.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import path from 'node:path';

const [wsDir, faultline, wsClient] = process.argv.slice(2);
const require = createRequire(path.join(wsDir, 'package.json'));
const { WebSocketServer, WebSocket } = require('ws');

const GREETING = 'greeting';
const SWEEP = 300; // connections per "every" sweep: past the longest head + first frames
const children = [];
const fail = (msg) => { console.error(`interop: FAIL: ${msg}`); cleanup(); process.exit(1); };
const cleanup = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
setTimeout(() => fail('overall timeout (100 s)'), 100_000).unref();

function startServer() {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (sock) => {
      sock.send(GREETING);
      sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
    });
    wss.on('listening', () => resolve(wss));
    wss.on('error', reject);
  });
}

function startProxy(to, split) {
  return new Promise((resolve, reject) => {
    const p = spawn(faultline, ['splitproxy', '--listen', '127.0.0.1:0', '--to', to, '--split', split,
      '--pause-us', '300', '--exit-after', '95', '--idle-timeout', '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(p);
    let out = '';
    const t = setTimeout(() => reject(new Error(`splitproxy (${split}) did not start`)), 10_000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve({ proc: p, port: Number(m[1]) }); }
    });
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`splitproxy exited with ${code}: ${out}`)); });
  });
}

function wsExchange(port, n) {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(`ws://127.0.0.1:${port}/`);
    const t = setTimeout(() => { sock.terminate(); reject(new Error(`connection ${n}: timeout`)); }, 5000);
    const msg = `node-${n}`;
    let stage = 0;
    sock.on('message', (data) => {
      const text = data.toString();
      if (stage === 0) {
        if (text !== GREETING) return reject(new Error(`connection ${n}: greeting '${text}'`));
        stage = 1;
        sock.send(msg);
      } else if (stage === 1) {
        if (text !== msg) return reject(new Error(`connection ${n}: echo '${text}' != '${msg}'`));
        stage = 2;
        sock.close(1000);
      }
    });
    sock.on('close', () => { clearTimeout(t); stage === 2 ? resolve() : reject(new Error(`connection ${n}: closed at stage ${stage}`)); });
    sock.on('error', (e) => { clearTimeout(t); reject(new Error(`connection ${n}: ${e.message}`)); });
  });
}

function runClient(port, count) {
  return new Promise((resolve) => {
    const c = spawn(wsClient, ['127.0.0.1', String(port), String(count), GREETING], { stdio: 'inherit' });
    children.push(c);
    const t = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('exit', (code, sig) => { clearTimeout(t); resolve(code === 0 ? null : `exit ${code ?? sig}`); });
  });
}

async function nodeSweep(port, count, label) {
  let ok = 0;
  for (let n = 1; n <= count; ++n) {
    try { await wsExchange(port, n); ++ok; } catch (e) { console.error(`${label}: ${e.message}`); }
  }
  console.error(`interop: ${label}: ${ok}/${count} ws-client exchanges passed`);
  return ok === count;
}

const wss = await startServer();
const to = `127.0.0.1:${wss.address().port}`;
let good = true;
try {
  const every1 = await startProxy(to, 'every');
  good = (await nodeSweep(every1.port, SWEEP, 'ws client via --split every')) && good;
  const every2 = await startProxy(to, 'every');
  const r1 = await runClient(every2.port, SWEEP);
  if (r1) { console.error(`interop: HandshakeReader via --split every: ${r1}`); good = false; }
  const dribble = await startProxy(to, 'dribble');
  good = (await nodeSweep(dribble.port, 3, 'ws client via --split dribble')) && good;
  const r2 = await runClient(dribble.port, 3);
  if (r2) { console.error(`interop: HandshakeReader via --split dribble: ${r2}`); good = false; }
} catch (e) {
  fail(e.message);
}
cleanup();
wss.close();
console.error(`interop: ${good ? 'PASS' : 'FAIL'}`);
process.exit(good ? 0 : 1);
