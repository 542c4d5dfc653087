#!/usr/bin/env node
// Idle RSS, before and after: two (or more) checkouts, each one's core (bench/servers/tsws-core.mjs)
// and `tsws` CLI serving bench/app.mjs, started in alternating order each round, pinned to core 0.
// RSS is read once steady, 2 s after one request (the parser built, as in a worker that has
// served); each build's median, and every round's figure. 1 MB = 10^6 bytes.
//
//   node bench/anatomy/idle-ab.mjs before=/tmp/old after=. [--rounds 5]
//
// A build is a repository root with packages built (`git worktree add /tmp/old HEAD~1 && cd
// /tmp/old && pnpm install && pnpm build`). Each runs on the Node that runs this script.
import net from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, processRssKiB, startPinned, stop, waitForPort } from '../proc.mjs';

const args = process.argv.slice(2);
let rounds = 5;
const builds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else {
    const [name, root] = args[i].split('=');
    builds.push({ name, root: resolve(root) });
  }
}
if (builds.length < 2 || !(rounds > 0)) {
  console.error('usage: node bench/anatomy/idle-ab.mjs [--rounds N] name=<repository root> name=<root> ...');
  process.exit(2);
}

const SERVERS = {
  'tsws core': (root, port) => [`${root}/bench/servers/tsws-core.mjs`, JSON.stringify({ port })],
  'tsws CLI': (root, port) => [
    `${root}/packages/tsws/bin/tsws.js`,
    '-b',
    `127.0.0.1:${port}`,
    `${root}/bench/app.mjs:default`,
  ],
};

/** One GET /json on its own connection; resolves with the status line. */
function request(port) {
  return new Promise((done, fail) => {
    let reply = '';
    net
      .connect(port, '127.0.0.1')
      .on('data', (d) => (reply += d))
      .on('end', () => done(reply.split('\r\n')[0]))
      .on('error', fail)
      .end('GET /json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}

/** RSS in bytes once five reads 100 ms apart are within 128 KiB of one another (6 s at most). */
async function steady(pid) {
  const reads = [];
  for (let i = 0; i < 60; i++) {
    reads.push(processRssKiB(pid));
    const last = reads.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 128) break;
    await sleep(100);
  }
  return processRssKiB(pid) * 1024;
}

async function idleRss(argv) {
  const port = await freePort();
  const proc = startPinned([process.execPath, ...argv(port)], 0);
  try {
    await waitForPort(proc, port, 30_000);
    const status = await request(port);
    if (status !== 'HTTP/1.1 200 OK') throw new Error(`${argv(port).join(' ')}: answered ${status}`);
    await sleep(2000);
    return await steady(proc.pid);
  } finally {
    await stop(proc);
  }
}

const figures = {};
for (let round = 0; round < rounds; round++)
  for (const [server, argv] of Object.entries(SERVERS))
    for (const build of round % 2 ? [...builds].reverse() : builds)
      (figures[`${server}, ${build.name}`] ??= []).push(await idleRss((port) => argv(build.root, port)));

const mb = (bytes) => (bytes / 1e6).toFixed(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`Node ${process.version}: idle RSS after one request, steady; median of ${rounds} (rounds)`);
for (const [what, xs] of Object.entries(figures))
  console.log(`${what}: ${mb(median(xs))} MB (rounds ${xs.map(mb).join(' ')})`);
