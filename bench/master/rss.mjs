#!/usr/bin/env node
// The master's own memory: `tsws-master APP -w N` idle beside a bare `node` (a timer, nothing
// else), each process's RSS and the private part of it (smaps_rollup's Private_Dirty: what is
// the process's alone, not the node binary's code pages every node process maps), median of
// --rounds fresh starts. Issue 11's target: the master within 15 MB of the bare node.
//
//   node bench/master/rss.mjs [--repo DIR] [--workers 1] [--rounds 3] [--app examples/hello.mjs] [-- ARGS]
//
// --repo measures another checkout (a worktree of an older commit, built), for before and after;
// what follows `--` goes to tsws-master (`-- --no-watchdog`: a worker's watchdog thread, off).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, groupPids, startPinned, stop, waitForPort } from '../proc.mjs';

const dash = process.argv.indexOf('--');
const args = process.argv.slice(2, dash < 0 ? undefined : dash);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const repo = resolve(opt('repo', fileURLToPath(new URL('../..', import.meta.url))));
const workers = Number(opt('workers', 1));
const rounds = Number(opt('rounds', 3));
const app = resolve(repo, opt('app', 'examples/hello.mjs'));
/** Long enough after the port opens for the master and its workers to settle. */
const SETTLE_MS = 3000;

function memory(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)[1]);
  return { rss: kib('Rss'), private: kib('Private_Dirty') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = { bare: [], master: [], worker: [] };
for (let round = 0; round < rounds; round++) {
  const bare = startPinned([process.execPath, '-e', 'setInterval(() => {}, 1000)'], 0);
  const port = await freePort();
  const bin = `${repo}/packages/tsws/bin/tsws-master.js`;
  const master = startPinned(
    [process.execPath, bin, app, '-w', String(workers), '-b', `127.0.0.1:${port}`, ...extra],
    0,
  );
  await waitForPort(master, port);
  await sleep(SETTLE_MS);
  rows.bare.push(memory(bare.pid));
  // startPinned runs taskset, which execs: the group leader is the master.
  rows.master.push(memory(master.pid));
  for (const { pid } of groupPids(master.pid)) if (pid !== master.pid) rows.worker.push(memory(pid));
  await stop(master);
  await stop(bare);
}

const mb = (kib) => (kib / 1024).toFixed(1);
console.log(
  `Node ${process.versions.node}, ${repo}, tsws-master -w ${workers} ${extra.join(' ')}, median of ${rounds} rounds`,
);
for (const [name, samples] of Object.entries(rows)) {
  const rss = median(samples.map((s) => s.rss));
  const own = median(samples.map((s) => s.private));
  console.log(`${name.padEnd(7)} RSS ${mb(rss)} MB, private ${mb(own)} MB`);
}
const over = (key) => mb(median(rows.master.map((s) => s[key])) - median(rows.bare.map((s) => s[key])));
console.log(`master over bare node: RSS +${over('rss')} MB, private +${over('private')} MB`);
