#!/usr/bin/env node
// What a worker's watchdog costs: `tsws-master bench/app.mjs -w 1` with the watchdog on and with
// --no-watchdog, in alternating rounds, the master and its worker pinned to core 0 while wrk (one
// thread) loads it from core 1. Prints each side's median server CPU time per request (from
// /proc, master and worker together: the steadier figure on a shared machine), req/s, and the
// worker's RSS after the load.
//
//   node bench/master/watchdog.mjs [--scenario keepalive|pipelined] [--rounds 5] [--duration 4]
//   node bench/master/watchdog.mjs --micro      (what the app's wrapper adds to a call, in ns, in one
//                                                process: the part of the cost a loaded machine hides)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, groupPids, processRssKiB, startPinned, stop, waitForPort } from '../proc.mjs';

const args = process.argv.slice(2);
if (args.includes('--micro')) {
  await micro();
  process.exit(0);
}
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const scenario = opt('scenario', 'keepalive');
const rounds = Number(opt('rounds', 5));
const duration = Number(opt('duration', 4));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `${ROOT}packages/tsws/bin/tsws-master.js`;

const lua = {
  keepalive: '',
  pipelined: `init = function() local r = {} for i = 1, 16 do r[i] = wrk.format(nil, "/") end req = table.concat(r) end\nrequest = function() return req end\n`,
}[scenario];
if (lua === undefined) throw new Error(`unknown scenario ${scenario}`);
const script = join(tmpdir(), `tsws-watchdog-${process.pid}.lua`);
writeFileSync(script, lua);

function wrk(port, seconds) {
  const out = execFileSync(
    'taskset',
    ['-c', '1', 'wrk', '-t1', '-c50', `-d${seconds}s`, '-s', script, `http://127.0.0.1:${port}/`],
    { encoding: 'utf8' },
  );
  return { requests: Number(/(\d+) requests in/.exec(out)[1]), rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]) };
}

const sides = [
  { name: 'watchdog on', args: [] },
  { name: 'watchdog off', args: ['--no-watchdog'] },
];
const samples = new Map(sides.map((s) => [s.name, []]));
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 ? [...sides].reverse() : sides) {
    const port = await freePort();
    const argv = [process.execPath, BIN, 'bench/app.mjs', '--chdir', ROOT, '-w', '1', '-b', `127.0.0.1:${port}`];
    const proc = startPinned([...argv, '--log-level', 'warn', ...side.args], 0);
    await waitForPort(proc, port);
    wrk(port, 1); // warm-up
    const before = cpuMicros(proc.pid);
    const run = wrk(port, duration);
    const cpu = cpuMicros(proc.pid) - before;
    const worker = groupPids(proc.pid).find((p) => p.pid !== proc.pid);
    const rss = worker ? processRssKiB(worker.pid) : 0;
    await stop(proc);
    samples.get(side.name).push({ us: cpu / run.requests, rps: run.rps, rss });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${scenario}, ${rounds} rounds of ${duration} s, wrk -t1 -c50, tsws-master -w 1, Node ${process.versions.node}`,
);
for (const [name, s] of samples) {
  console.log(
    `${name}: ${median(s.map((x) => x.us)).toFixed(2)} us/request (rounds ${s.map((x) => x.us.toFixed(1)).join(' ')}), ` +
      `${Math.round(median(s.map((x) => x.rps)))} req/s, worker RSS ${(median(s.map((x) => x.rss)) / 1024).toFixed(1)} MB`,
  );
}

/** The fetch handler bare and wrapped, called alternately in rounds of 2 million: ns per call. */
async function micro() {
  const { startWatchdog } = await import('@tsws/worker/internal/watchdog');
  const settings = { timeout: 30, gracefulTimeout: 30, errorLog: '-', logFormat: 'json' };
  const watchdog = startWatchdog(settings, 1, 1000, { warn() {} });
  const response = { status: 200 };
  const bare = { interface: 'fetch', kind: 'bench', fetch: (request) => (request.url.length > 0 ? response : null) };
  const watched = watchdog.watch(bare);
  // A request as the core hands it over: method, and the absolute URL (cached once read).
  const requests = Array.from({ length: 64 }, (_, i) => ({
    method: 'GET',
    url: `http://127.0.0.1:8000/api/items/${i}?page=2`,
  }));
  const N = 2_000_000;
  // CPU time, not wall time: a shared machine's other work stays out of it.
  const time = (app) => {
    const start = process.cpuUsage();
    for (let i = 0; i < N; i++) app.fetch(requests[i & 63], undefined);
    const used = process.cpuUsage(start);
    return ((used.user + used.system) * 1000) / N;
  };
  const samples = { bare: [], watched: [] };
  for (let round = 0; round < 9; round++) {
    samples.bare.push(time(bare));
    samples.watched.push(time(watched));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `Node ${process.versions.node}: the handler alone ${median(samples.bare).toFixed(1)} ns a call, ` +
      `wrapped ${median(samples.watched).toFixed(1)} ns: +${(median(samples.watched) - median(samples.bare)).toFixed(1)} ns a request`,
  );
}
