// Memory: a server's idle RSS (against a bare `node` holding one listening socket), and the
// RSS each idle keep-alive connection costs, measured with CONNECTIONS real connections held
// open by a client process on the other core.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  groupPids,
  groupSize,
  processRssKiB,
  rssKiB,
  startServer,
  stop,
  waitForLogCount,
  waitForPort,
} from './proc.mjs';

export const CONNECTIONS = 5000;
const HOLD = fileURLToPath(new URL('./load/hold.mjs', import.meta.url));
const GC_SIGNAL = fileURLToPath(new URL('./gc-signal.mjs', import.meta.url));
/** Every Node process of the server (workers too) can then be told to collect its garbage. */
const gcEnv = (heapDir) => ({
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --max-semi-space-size=1 --import=${GC_SIGNAL}`.trim(),
  TSWS_BENCH_HEAP_DIR: heapDir,
});
/** Idle RSS is read this long after the port opens (it is steady by then). */
const SETTLE_MS = 300;
/** RSS is steady when it moves less than this over STEADY_SAMPLES reads 100 ms apart. */
const STEADY_KIB = 128;
const STEADY_SAMPLES = 5;
const STEADY_MAX_MS = 5000;
const GC_MAX_MS = 3000;
/** Long enough that no connection times out while we measure. */
const KEEP_ALIVE_MS = 120_000;

/** The floor: what Node itself costs with one listening socket. */
export const bareNode = {
  name: 'bare node',
  command: ({ port }) => [process.execPath, '-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`],
};

async function started(server, cpu, env = {}) {
  const port = await freePort();
  const proc = startServer(server, { port, keepAliveTimeout: KEEP_ALIVE_MS }, cpu, env);
  try {
    await waitForPort(proc, port);
    if (server.workers) await waitForLogCount(proc, server.readyLine ?? /listening on /, server.workers);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  return { proc, port };
}

/**
 * RSS (bytes) of a server once started and left alone, as it is (no preload): `total` for its
 * whole process group, and for a server with workers the leader's (`leader`: the master) and the
 * largest worker's (`worker`) apart.
 */
export async function idleRss(server, { serverCpu }) {
  const { proc } = await started(server, serverCpu);
  try {
    await sleep(SETTLE_MS);
    const sizes = groupPids(proc.pid).map(({ pid }) => ({ pid, bytes: processRssKiB(pid) * 1024 }));
    const total = sizes.reduce((n, p) => n + p.bytes, 0);
    if (!server.workers) return { total };
    const others = sizes.filter((p) => p.pid !== proc.pid).map((p) => p.bytes);
    return { total, leader: sizes.find((p) => p.pid === proc.pid)?.bytes ?? 0, worker: Math.max(0, ...others) };
  } finally {
    await stop(proc);
  }
}

/**
 * Bytes per idle keep-alive connection: RSS (and live JS heap) with CONNECTIONS connections open
 * (each has carried one request) minus before, over CONNECTIONS. A warm-up of a few hundred
 * requests comes first, so code compiled on the first requests is not counted as connection
 * memory. With `gc` (the default) the server runs with a preload that lets us force a GC (it adds
 * 1-2 MB, which is why idle RSS is measured apart, by idleRss) and a capped young generation;
 * without, it runs as users run it and RSS is read once steady (`heapPerConnection` is then null).
 */
export async function measureMemory(server, { serverCpu, clientCpu }, { gc = true } = {}) {
  const heapDir = gc ? mkdtempSync(join(tmpdir(), 'tsws-bench-heap-')) : null;
  const { proc, port } = await started(server, serverCpu, gc ? gcEnv(heapDir) : {});
  const settled = async () => {
    if (gc) return settledMemory(proc, heapDir);
    await steadyRss(proc);
    return { rss: rssKiB(proc.pid) * 1024, heap: Number.NaN };
  };
  let client;
  try {
    await holdConnections(port, 200, clientCpu).then((c) => c.close());
    const before = await settled();
    client = await holdConnections(port, CONNECTIONS, clientCpu);
    const after = await settled();
    if (client.lost()) throw new Error('the server closed idle connections while they were measured');
    return {
      perConnection: (after.rss - before.rss) / CONNECTIONS,
      heapPerConnection: gc ? (after.heap - before.heap) / CONNECTIONS : null,
    };
  } finally {
    await client?.close();
    await stop(proc);
    if (heapDir) rmSync(heapDir, { recursive: true, force: true });
  }
}

/**
 * RSS and live JS heap (bytes) of the group after a pause and a full GC in each process. The
 * heap figure is the steady one: RSS also holds whatever young-generation space V8 grew during
 * the burst of accepts (about 5.9 kB per connection at 5,000 for tsws, most of it touched or
 * not by chance: RSS per connection swung 4.3-6.3 kB between runs, the heap 1.6 kB every time).
 */
async function settledMemory(proc, heapDir) {
  await steadyRss(proc);
  for (const f of readdirSync(heapDir)) rmSync(join(heapDir, f));
  try {
    process.kill(-proc.pid, 'SIGPWR');
  } catch {
    // gone: the caller finds out
  }
  // Each process writes its heap size once its GC is done.
  const until = Date.now() + GC_MAX_MS;
  while (readdirSync(heapDir).length < groupSize(proc.pid) && Date.now() < until) await sleep(20);
  let heap = 0;
  for (const f of readdirSync(heapDir)) heap += Number(readFileSync(join(heapDir, f), 'utf8'));
  await steadyRss(proc);
  return { rss: rssKiB(proc.pid) * 1024, heap };
}

/**
 * Waits until RSS stops moving. After the first few hundred requests V8 recompiles hot code in
 * the background; for tsws that is llhttp's WASM (dynamic tiering), which holds ~35 MB of RSS
 * for 0.5-1 s (none with --no-liftoff or --liftoff-only). Reading during it skews everything.
 */
async function steadyRss(proc) {
  const until = Date.now() + STEADY_MAX_MS;
  const reads = [];
  while (Date.now() < until) {
    reads.push(rssKiB(proc.pid));
    const last = reads.slice(-STEADY_SAMPLES);
    if (last.length === STEADY_SAMPLES && Math.max(...last) - Math.min(...last) < STEADY_KIB) return;
    await sleep(100);
  }
}

function holdConnections(port, count, cpu) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), process.execPath, HOLD, String(port), String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const closed = new Promise((r) => child.on('close', r));
    const handle = {
      lost: () => out.includes('@@lost'),
      close: async () => {
        child.kill('SIGKILL');
        await closed;
      },
    };
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('@@ready')) resolve(handle);
    });
    child.stderr.on('data', (d) => (out += d));
    void closed.then((code) =>
      reject(new Error(`connection client exited (${code}) before holding ${count}: ${out.trim()}`)),
    );
  });
}
