#!/usr/bin/env node
// Before and after for a hot-path change: two (or more) builds of @tsws/core, each serving
// bench/app.mjs in turn, pinned to core 0 while wrk (one thread) loads it from core 1, in
// alternating order each round. Prints each build's median CPU time per request (from /proc, the
// steadier figure on a shared machine) and req/s, with every round's figures.
//
//   node bench/ab.mjs before=/tmp/old/packages/core after=packages/core
//   node bench/ab.mjs --scenario pipelined --rounds 7 --duration 4 a=... b=...
//   node bench/ab.mjs bench=bench/app.mjs hello=examples/hello.mjs
//   node bench/ab.mjs --path /stream-1k before=... after=...   (any route of bench/app.mjs)
//
// A build is a package directory with dist/ (make the old one with `git worktree add /tmp/old
// HEAD~1 && cd /tmp/old && pnpm install && pnpm build`); an app file (.mjs, .js) instead is that
// app served by this checkout's core, to compare apps. Scenarios: keepalive (50 connections),
// pipelined (16 deep), close (Connection: close). Each runs on the Node that runs this script.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuMicros, startPinned, stop, waitForPort } from './proc.mjs';

const CORE = fileURLToPath(new URL('../packages/core', import.meta.url));
const BENCH_APP = new URL('./app.mjs', import.meta.url).href;
const args = process.argv.slice(2);
const opts = { scenario: 'keepalive', rounds: 5, duration: 4, connections: 50, path: '/' };
const builds = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith('--')) opts[a.slice(2)] = Number.isNaN(Number(args[i + 1])) ? args[++i] : Number(args[++i]);
  else {
    const [name, path] = a.split('=');
    const app = /\.m?js$/.test(path);
    builds.push({
      name,
      entry: pathToFileURL(join(resolve(app ? CORE : path), 'dist/index.js')).href,
      app: app ? pathToFileURL(resolve(path)).href : BENCH_APP,
    });
  }
}
if (builds.length < 2) {
  console.error(
    'usage: node bench/ab.mjs [--scenario keepalive|pipelined|close] [--rounds N] name=<core dir or app file> ...',
  );
  process.exit(2);
}

const lua = {
  pipelined: `init = function() local r = {} for i = 1, 16 do r[i] = wrk.format(nil, "/") end req = table.concat(r) end\nrequest = function() return req end\n`,
  close: `wrk.headers["Connection"] = "close"\n`,
  keepalive: '',
}[opts.scenario];
if (lua === undefined) throw new Error(`unknown scenario ${opts.scenario}`);
const script = join(tmpdir(), `tsws-ab-${process.pid}.lua`);
writeFileSync(script, lua);

// The server: serve(app) from the build given, as bench/servers/tsws-core.mjs does.
const SERVER = `const [entry, appUrl, port] = process.argv.slice(1);
const { serve } = await import(entry);
const { default: app } = await import(appUrl);
await serve(app, { bind: '127.0.0.1:' + port });`;

function wrk(port, seconds) {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${opts.connections}`,
      `-d${seconds}s`,
      '-s',
      script,
      `http://127.0.0.1:${port}${opts.path}`,
    ],
    { encoding: 'utf8' },
  );
  return { requests: Number(/(\d+) requests in/.exec(out)[1]), rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]) };
}

const samples = new Map(builds.map((b) => [b.name, []]));
// Below the kernel's ephemeral range (32768 and up here): wrk's own connections take ports there,
// and a server could not listen on one of them (EADDRINUSE).
let port = 20_000 + (process.pid % 10_000);
for (let round = 0; round < opts.rounds; round++) {
  for (const build of round % 2 ? [...builds].reverse() : builds) {
    port++;
    const proc = startPinned(
      [process.execPath, '--input-type=module', '-e', SERVER, build.entry, build.app, String(port)],
      0,
    );
    await waitForPort(proc, port);
    wrk(port, 1); // warm-up
    const before = cpuMicros(proc.pid);
    const run = wrk(port, opts.duration);
    const cpu = cpuMicros(proc.pid) - before;
    await stop(proc);
    samples.get(build.name).push({ rps: run.rps, us: cpu / run.requests });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${opts.scenario} ${opts.path}, ${opts.rounds} rounds of ${opts.duration} s, wrk -t1 -c${opts.connections}`,
);
for (const [name, s] of samples) {
  console.log(
    `${name}: ${median(s.map((x) => x.us)).toFixed(2)} us/request (rounds ${s.map((x) => x.us.toFixed(1)).join(' ')}), ` +
      `${Math.round(median(s.map((x) => x.rps)))} req/s (rounds ${s.map((x) => Math.round(x.rps)).join(' ')})`,
  );
}
