#!/usr/bin/env node
// Server-sent events at scale (issue 9): N clients (5,000 unless told) each hold `GET /sse` open
// and get one event a second (bench/app.mjs's ReadableStream for tsws, res.write() on a timer for
// node:http). For each server in turn, pinned to core 0 with the clients on core 1:
// - RSS per client: the server's RSS with every client connected and events flowing, less its
//   idle RSS, over N;
// - CPU per event: the server's CPU time (from /proc) over a window, over the events the clients
//   counted in it.
//
// Each round's figures and the medians go to results/sse-node<major>.{json,md} (--node PATH: the
// runner and every server on that Node).
//
//   node bench/sse.mjs [--clients 5000] [--seconds 10] [--rounds 1] [--servers tsws-core,node-http]
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDir } from './defs.mjs';
import { cpuMicros, freePort, rssKiB, startServer, stop, waitForPort } from './proc.mjs';

const PROGRAM = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the clients (a child process on core 1) -------------------------------------------------

/** Opens `count` event streams, then prints `@connected`, and the events counted every 500 ms. */
async function clients(port, count) {
  let events = 0;
  let open = 0;
  const connectOne = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      let last = 0;
      socket.on('connect', () => {
        socket.write('GET /sse HTTP/1.1\r\nHost: bench\r\n\r\n');
        open++;
        resolve();
      });
      // Each event ends in a blank line ("\n\n"); one may be split across reads.
      socket.on('data', (d) => {
        if (last === 10 && d[0] === 10) events++;
        for (let i = d.indexOf(10); i !== -1 && i + 1 < d.length; i = d.indexOf(10, i + 1))
          if (d[i + 1] === 10) events++;
        last = d[d.length - 1];
      });
      socket.on('error', reject);
      socket.on('close', () => open--);
    });
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, connectOne));
  console.log('@connected');
  setInterval(() => console.log(`@events ${events} ${open}`), 500);
}

// ---- the runner --------------------------------------------------------------------------------

async function measure(server, opts) {
  const port = await freePort();
  const proc = startServer(server, { port }, 0);
  try {
    await waitForPort(proc, port);
    await sleep(1000);
    const idle = rssKiB(proc.pid);
    const child = spawn(
      'taskset',
      ['-c', '1', process.execPath, PROGRAM, '--client', String(port), String(opts.clients)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let events = 0;
    let open = 0;
    let connected = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === '@connected') connected = true;
      const m = /^@events (\d+) (\d+)/.exec(line);
      if (m) [events, open] = [Number(m[1]), Number(m[2])];
    });
    try {
      const deadline = Date.now() + 120_000;
      while (!connected && Date.now() < deadline) await sleep(100);
      if (!connected) throw new Error(`${server.name}: ${opts.clients} clients did not connect within 120 s`);
      await sleep(3000); // every stream going, memory settled
      const cpu0 = cpuMicros(proc.pid);
      const events0 = events;
      await sleep(opts.seconds * 1000);
      const cpu = cpuMicros(proc.pid) - cpu0;
      const counted = events - events0;
      const rss = rssKiB(proc.pid);
      return {
        server: server.name,
        clients: open,
        eventsPerS: counted / opts.seconds,
        usPerEvent: cpu / counted,
        idleMiB: idle / 1024,
        rssMiB: rss / 1024,
        kibPerClient: (rss - idle) / opts.clients,
      };
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await stop(proc);
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '5000' },
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '1' },
      servers: { type: 'string', default: 'tsws-core,node-http' },
      node: { type: 'string' },
    },
  });
  if (values.node && realpathSync(values.node) !== realpathSync(process.execPath)) {
    const r = spawnSync(values.node, [PROGRAM, ...process.argv.slice(2)], { stdio: 'inherit' });
    if (r.error) throw new Error(`--node ${values.node}: ${r.error.message}`);
    process.exit(r.status ?? 1);
  }
  const opts = { clients: Number(values.clients), seconds: Number(values.seconds) };
  const defs = new Map((await loadDir('./servers')).map((s) => [s.id, s]));
  const servers = values.servers.split(',').map((id) => {
    const s = defs.get(id);
    if (!s) throw new Error(`unknown server ${id} (bench/servers/)`);
    return s;
  });
  const load = os.loadavg().map((l) => l.toFixed(2));
  console.log(`SSE: ${opts.clients} clients, one event a second each; ${opts.seconds} s windows`);
  const rows = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const server of round % 2 ? [...servers].reverse() : servers) {
      const r = await measure(server, opts);
      rows.push({ round: round + 1, ...r });
      console.log(
        `  round ${round + 1} ${r.server.padEnd(12)} ${r.clients} open, ${Math.round(r.eventsPerS)} events/s, ` +
          `${r.usPerEvent.toFixed(1)} us CPU/event, RSS ${r.idleMiB.toFixed(1)} -> ${r.rssMiB.toFixed(1)} MiB: ` +
          `${r.kibPerClient.toFixed(2)} KiB/client`,
      );
    }
  }
  writeResults(opts, load, rows);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** results/sse-node<major>.json (every round) and .md (medians, with min and max). */
function writeResults(opts, load, rows) {
  const node = process.version;
  const base = fileURLToPath(new URL(`./results/sse-node${node.slice(1).split('.')[0]}`, import.meta.url));
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  writeFileSync(`${base}.json`, `${JSON.stringify({ node, cpu, load, ...opts, rows }, null, 2)}\n`);
  const span = (mine, key, digits) => {
    const xs = mine.map((r) => r[key]);
    return `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
  };
  const lines = [
    `${node} · ${cpu}, ${os.cpus().length} cores · load average ${load.join(', ')} at the start · server on core 0, ` +
      `clients on core 1 · \`node bench/sse.mjs --clients ${opts.clients} --seconds ${opts.seconds}\` · ` +
      new Date().toISOString().slice(0, 10),
    '',
    `### Server-sent events: ${opts.clients} clients, one event a second each`,
    '',
    "Median [min–max] over the rounds. RSS per client: the server's RSS with every client connected and events " +
      'flowing, less its idle RSS, over the clients (no forced GC: what it really holds). CPU per event: the ' +
      "server's CPU time over the window, over the events the clients counted in it.",
    '',
    '| server | RSS per client (KiB) | CPU per event (µs) | events/s |',
    '|---|---:|---:|---:|',
  ];
  for (const name of [...new Set(rows.map((r) => r.server))]) {
    const mine = rows.filter((r) => r.server === name);
    lines.push(
      `| ${name} | ${span(mine, 'kibPerClient', 2)} | ${span(mine, 'usPerEvent', 1)} | ${span(mine, 'eventsPerS', 0)} |`,
    );
  }
  writeFileSync(`${base}.md`, `${lines.join('\n')}\n`);
  console.log(`wrote ${base}.{json,md}`);
}

if (process.argv[2] === '--client') await clients(Number(process.argv[3]), Number(process.argv[4]));
else await main();
