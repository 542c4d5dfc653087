#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
// What a publish relayed between workers costs: tsws-master -w 2 serving bench/ws-app.mjs, one
// subscriber on each worker, N publishes of 64 bytes from the first; the master's CPU time and
// the whole group's, per publish, from /proc. Every publish crosses the IPC channel twice (worker
// to master, master to the other worker).
//
//   node bench/ws-relay.mjs [--count 20000]
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, groupPids, startPinned, stop, waitForPort } from './proc.mjs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;

const WebSocket = createRequire(import.meta.url)('ws');
const count = Number(process.argv[process.argv.indexOf('--count') + 1]) || 20_000;
const port = await freePort();
const master = fileURLToPath(new URL('../packages/tsws/bin/tsws-master.js', import.meta.url));
const app = fileURLToPath(new URL('./ws-app.mjs', import.meta.url));
const proc = startPinned([process.execPath, master, app, '-w', '2', '-b', `127.0.0.1:${port}`], 0);
await waitForPort(proc, port);

async function client() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const got = [];
  ws.on('message', (d) => got.push(d));
  await once(ws, 'open');
  while (got.length === 0) await new Promise((r) => setTimeout(r, 10));
  return { ws, got, pid: String(got[0]).slice(7) };
}
const clients = [];
while (new Set(clients.map((c) => c.pid)).size < 2) clients.push(await client());
// The first client publishes; one on the other worker is watched. Every client is subscribed,
// so the group's figure includes the deliveries on both workers.
const from = clients[0];
const far = clients.find((c) => c.pid !== from.pid);
const before = far.got.length;
const masterPid = proc.pid;
/** The master's own CPU time (not its workers'), in microseconds. */
function readMaster() {
  const p = groupPids(masterPid).find((x) => x.pid === masterPid);
  return p ? (p.ticks * 1e6) / CLK_TCK : 0;
}
const cpu0 = cpuMicros(masterPid);
const m0 = readMaster();
const t0 = performance.now();
const payload = `pub ${'x'.repeat(60)}`;
for (let i = 0; i < count; i++) from.ws.send(payload);
while (far.got.length < before + count) await new Promise((r) => setTimeout(r, 20));
const ms = performance.now() - t0;
const group = (cpuMicros(masterPid) - cpu0) / count;
const own = (readMaster() - m0) / count;
console.log(
  `${clients.length} subscribers on 2 workers; ${count} relayed publishes in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)}/s): ` +
    `${group.toFixed(1)} us of CPU each for the master and its workers, ${own.toFixed(1)} us of it the master's`,
);
for (const c of clients) c.ws.terminate();
await stop(proc);
