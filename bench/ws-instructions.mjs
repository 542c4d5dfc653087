#!/usr/bin/env node
// The echo servers of bench/ws-echo.mjs in instructions per round trip, which the machine's load
// does not change (CPU time does, by 3x on a busy 2-core box). Each server runs under
// `valgrind --tool=cachegrind` twice, for --short and for --long round trips (50 connections);
// the difference of the two counts over the difference of the round trips leaves startup out.
// User-space instructions of all the server's threads; the kernel's side is not counted.
//
//   node bench/ws-instructions.mjs [--short 500] [--long 5500] [--before DIR] [--floor]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startPinned, waitForPort } from './proc.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const short = Number(arg('short', 500));
const long = Number(arg('long', 5500));
const before = arg('before', undefined);
const kinds = ['tsws', ...(before ? ['before'] : []), 'ws', ...(process.argv.includes('--floor') ? ['floor'] : [])];
const SERVERS = fileURLToPath(new URL('./ws/servers.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./ws/client.mjs', import.meta.url));

/** Instructions of one server run: startup, then `count` echo round trips. */
async function instructions(kind, count) {
  const port = await freePort();
  const log = join(tmpdir(), `ws-instructions-${process.pid}-${port}.log`);
  const server = kind === 'before' ? ['tsws', String(port), before] : [kind, String(port)];
  const valgrind = ['valgrind', '--tool=cachegrind', '--cache-sim=no', '--branch-sim=no'];
  const argv = [
    ...valgrind,
    '--cachegrind-out-file=/dev/null',
    `--log-file=${log}`,
    process.execPath,
    SERVERS,
    ...server,
  ];
  const proc = startPinned(argv, 0);
  // Node starts 20-50x slower under valgrind.
  await waitForPort(proc, port, 300_000);
  execFileSync('taskset', ['-c', '1', process.execPath, CLIENT, 'echo', String(port), '50', '0', String(count)]);
  // SIGINT: servers.mjs exits, and valgrind writes its count.
  process.kill(proc.pid, 'SIGINT');
  await proc.exited;
  const refs = /I\s+refs:\s+([\d,]+)/.exec(readFileSync(log, 'utf8'))?.[1];
  rmSync(log, { force: true });
  if (refs === undefined) throw new Error(`${kind}: no instruction count from valgrind`);
  return Number(refs.replaceAll(',', ''));
}

const per = {};
for (const kind of kinds) {
  per[kind] = ((await instructions(kind, long)) - (await instructions(kind, short))) / (long - short);
  console.log(`${kind}: ${(per[kind] / 1000).toFixed(1)}k instructions per round trip`);
}
for (const kind of kinds.slice(1)) console.log(`${kind}/tsws: ${(per[kind] / per.tsws).toFixed(2)}x`);
