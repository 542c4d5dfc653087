#!/usr/bin/env node
// What a worker's watchdog costs: `tsws-master bench/app.mjs -w 1` with the watchdog on and with
// --no-watchdog, in alternating rounds, the master and its worker pinned to core 0 while wrk (one
// thread) loads it from core 1. Prints each side's median server CPU time per request (from
// /proc, master and worker together: the steadier figure on a shared machine), req/s, and the
// worker's RSS after the load.
//
//   node bench/master/watchdog.mjs [--scenario keepalive|pipelined] [--rounds 5] [--duration 4]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, groupPids, processRssKiB, startPinned, stop, waitForPort } from '../proc.mjs';

const args = process.argv.slice(2);
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
