#!/usr/bin/env node
// What a tsws worker's idle RSS is made of, and how much of it is llhttp's compiled WASM: RSS of
// `serve(app)` from @tsws/core when listening (no connection yet: the parser is built on the
// first one), after one connection (no request), and after 2 s of keep-alive load once RSS is
// steady; under V8's default WASM tiering (Liftoff first, TurboFan for hot functions) and with
// --liftoff-only, --no-wasm-tier-up and --no-liftoff. Beside it: a bare node holding a listening
// socket, and a bare node that only compiles and instantiates llhttp (the WASM's own cost).
//   node bench/anatomy/idle-rss.mjs  (on the Node that runs it, pinned like the bench; prints the
//   table and writes it to bench/results/idle-rss-node<major>.md)
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import wrk from '../load/wrk.mjs';
import { freePort, processRssKiB, startPinned, stop, waitForLog } from '../proc.mjs';

const CORE = new URL('../../packages/core/dist/index.js', import.meta.url).href;
const APP = new URL('../app.mjs', import.meta.url).href;
const require = createRequire(fileURLToPath(new URL('../../packages/core/package.json', import.meta.url)));
const SIMD = require.resolve('undici/lib/llhttp/llhttp_simd-wasm.js');
const VARIANTS = [[], ['--liftoff-only'], ['--no-wasm-tier-up'], ['--no-liftoff']];
const KEEPALIVE = (await import('../scenarios/hello-keepalive.mjs')).default;

const SERVER = `const { serve } = await import(process.argv[1]);
const { default: app } = await import(process.argv[2]);
await serve(app, { bind: '127.0.0.1:' + process.argv[3] });
process.stderr.write('listening\\n');`;
const BARE = `require('node:net').createServer().listen(+process.argv[1], '127.0.0.1', () => process.stderr.write('listening\\n'));`;
// Compiles and instantiates llhttp as the core does, with no-op callbacks, then idles.
const WASM_ONLY = `const bytes = require(process.argv[1]);
process.stderr.write('listening\\n');
setTimeout(() => {
  const mod = new WebAssembly.Module(bytes);
  const env = new Proxy({}, { get: () => () => 0 });
  const { exports } = new WebAssembly.Instance(mod, { env });
  exports.llhttp_alloc(1);
  process.stderr.write('built\\n');
}, 300);
setInterval(() => {}, 1000);`;

const rss = (proc) => processRssKiB(proc.pid) * 1024;
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

async function steady(proc) {
  const reads = [];
  for (let i = 0; i < 60; i++) {
    reads.push(rss(proc));
    const last = reads.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 128 * 1024) break;
    await sleep(100);
  }
  return rss(proc);
}

async function server(flags) {
  const port = await freePort();
  const proc = startPinned(
    [process.execPath, ...flags, '--input-type=module', '-e', SERVER, CORE, APP, String(port)],
    0,
  );
  try {
    await waitForLog(proc, /listening/, 15_000);
    await sleep(300);
    const listening = rss(proc);
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    await sleep(300);
    const connected = await steady(proc);
    client.destroy();
    await wrk.run({ port, scenario: { ...KEEPALIVE, name: 'idle-rss' }, connections: 10, durationS: 2, cpu: 1 });
    const loaded = await steady(proc);
    return { listening, connected, loaded };
  } finally {
    await stop(proc);
  }
}

async function bare(code, args, flags = []) {
  const proc = startPinned([process.execPath, ...flags, '-e', code, ...args], 0);
  try {
    await waitForLog(proc, /listening/, 15_000);
    await sleep(300);
    const before = rss(proc);
    if (code !== WASM_ONLY) return { before };
    await waitForLog(proc, /built/, 60_000);
    return { before, after: await steady(proc) };
  } finally {
    await stop(proc);
  }
}

const out = [];
const say = (line) => {
  console.log(line);
  out.push(line);
};
const port = await freePort();
const bareNode = (await bare(BARE, [String(port)])).before;
say(`Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; RSS of one process (1 MB = 10^6 bytes)\n`);
say(`bare node, one listening socket: ${mb(bareNode)}\n`);
say(
  '| V8 flags | tsws core listening | after one connection | after 2 s of load, steady | llhttp alone: compiled + instantiated |',
);
say('|---|---:|---:|---:|---:|');
for (const flags of VARIANTS) {
  const s = await server(flags);
  const w = await bare(WASM_ONLY, [SIMD], flags);
  say(
    `| ${flags.join(' ') || '(default)'} | ${mb(s.listening)} (+${mb(s.listening - bareNode)}) | +${mb(s.connected - s.listening)} | +${mb(s.loaded - s.listening)} | +${mb(w.after - w.before)} |`,
  );
}
const major = process.versions.node.split('.')[0];
writeFileSync(new URL(`../results/idle-rss-node${major}.md`, import.meta.url), `${out.join('\n')}\n`);
