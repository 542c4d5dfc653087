#!/usr/bin/env node
// The core's JavaScript alone, before and after a change: two builds of @tsws/core in one process,
// each driving one Connection with chunks of 16 pipelined GETs through a socket stand-in that
// drops what is written (no syscalls, no load tool). Blocks alternate between the builds, so both
// see the same machine; prints each build's median CPU time per request and the median of the
// per-block ratios. Finer than bench/ab.mjs (which measures the whole request, syscalls
// included) for a change of a few percent in the JavaScript, and blind to everything else.
//
//   node bench/inproc.mjs before=/tmp/old/packages/core after=packages/core [--blocks 40] [--iterations 2000]
//
// Run it both ways round (before/after, then after/before): the second build tends to come out
// a little slower. It imports the builds' internal modules (dist/connection.js and friends).
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opts = { blocks: 40, iterations: 2000 };
const builds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opts[args[i].slice(2)] = Number(args[++i]);
  else {
    const [name, dir] = args[i].split('=');
    builds.push({ name, dir: resolve(dir) });
  }
}
if (builds.length !== 2) {
  console.error('usage: node bench/inproc.mjs [--blocks N] [--iterations N] name=dir name=dir');
  process.exit(2);
}

/** A socket as far as a Connection uses one; writes are counted and dropped. */
class StandIn extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 50000;
  localAddress = '127.0.0.1';
  localPort = 8000;
  writableLength = 0;
  written = 0;
  paused = false;
  write(data) {
    this.written += data.length;
    return true;
  }
  cork() {}
  uncork() {}
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  isPaused() {
    return this.paused;
  }
  end() {}
  destroy() {}
}

const chunk = Buffer.from(
  'GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n'.repeat(16),
);

async function setUp(build) {
  const load = (file) => import(pathToFileURL(join(build.dir, 'dist', file)).href);
  const { Connection } = await load('connection.js');
  const llhttp = await load('llhttp.js');
  const { resolveOptions } = await load('options.js');
  const { LightResponse } = await load('response.js');
  llhttp.load?.(); // builds with the offset check build the parser there
  const quiet = () => {};
  const server = {
    opts: resolveOptions({ logger: { error: console.error, warn: quiet, info: quiet, debug: quiet } }),
    // As bench/app.mjs does: read the URL, answer a short string.
    handler: async (request) => new LightResponse(request.url ? 'hello world' : ''),
    trusted: () => false,
    draining: false,
    requests: 0,
    connectionClosed: quiet,
  };
  const socket = new StandIn();
  new Connection(server, socket, false);
  return { ...build, socket, us: [] };
}

const turn = () => new Promise((r) => setImmediate(r));
async function drive(b, n) {
  for (let i = 0; i < n; i++) {
    b.socket.emit('data', Buffer.from(chunk));
    await turn();
  }
}

const [a, b] = [await setUp(builds[0]), await setUp(builds[1])];
await drive(a, 3000); // warm-up
await drive(b, 3000);
for (let k = 0; k < opts.blocks; k++) {
  for (const x of k % 2 ? [b, a] : [a, b]) {
    const start = process.cpuUsage();
    await drive(x, opts.iterations);
    const cpu = process.cpuUsage(start);
    x.us.push((cpu.user + cpu.system) / (opts.iterations * 16));
  }
}
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
console.log(`${opts.blocks} blocks of ${opts.iterations} x 16 pipelined GETs`);
for (const x of [a, b]) console.log(`${x.name}: ${median(x.us).toFixed(3)} us/request`);
console.log(
  `${b.name}/${a.name}: ${median(a.us.map((u, i) => b.us[i] / u)).toFixed(3)} (median of the blocks' ratios)`,
);
if (a.socket.written !== b.socket.written) console.log('the builds wrote different byte counts');
