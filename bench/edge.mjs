#!/usr/bin/env node
// The edge (issue 13) in one run: TLS keep-alive and TLS new-connection rates of the tsws core
// against node:https, and HTTP/2 (h2load, 10 streams per connection) against node:http2's
// compatibility API, every server answering bench/app.mjs's hello (node ones bench/node-app.mjs).
// Servers pinned to core 0, wrk and h2load to core 1, alternating order per round; figures are
// the median CPU time per request from /proc (the steadier figure on a shared machine) and req/s.
//
//   node bench/edge.mjs [--rounds 3] [--duration 4]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, startPinned, stop, waitForPort } from './proc.mjs';

const opts = { rounds: 3, duration: 4, connections: 50 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = Number(argv[i + 1]);

const dir = mkdtempSync(join(tmpdir(), 'tsws-edge-'));
const CERT = join(dir, 'cert.pem');
const KEY = join(dir, 'key.pem');
execFileSync(
  'openssl',
  [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', KEY, '-out', CERT, '-days', '2', '-subj', '/CN=localhost'],
    ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
  ],
  { stdio: 'ignore' },
);

const CORE = fileURLToPath(new URL('../packages/core/dist/index.js', import.meta.url));
const APP = new URL('./app.mjs', import.meta.url).href;
const NODE_APP = new URL('./node-app.mjs', import.meta.url).href;

/** Each server as a one-line program: (cert, key, port) from argv. */
const SERVERS = {
  'tsws core': `const { serve } = await import(${JSON.stringify(CORE)});
const { default: app } = await import(${JSON.stringify(APP)});
const fs = await import('node:fs');
const [cert, key, port] = process.argv.slice(1);
await serve(app, { bind: '127.0.0.1:' + port, httpProtocols: ['h1', 'h2'],
  tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });`,
  'node:https': `const https = await import('node:https'); const fs = await import('node:fs');
const { default: handle } = await import(${JSON.stringify(NODE_APP)});
const [cert, key, port] = process.argv.slice(1);
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handle).listen(+port, '127.0.0.1');`,
  'node:http2': `const http2 = await import('node:http2'); const fs = await import('node:fs');
const { default: handle } = await import(${JSON.stringify(NODE_APP)});
const [cert, key, port] = process.argv.slice(1);
http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handle).listen(+port, '127.0.0.1');`,
};

const ONLY = process.env.EDGE_ONLY;
const SCENARIOS_ALL = [
  { name: 'TLS keep-alive', servers: ['tsws core', 'node:https'], load: (port, s) => wrk(port, s, []) },
  {
    name: 'TLS new connection per request',
    servers: ['tsws core', 'node:https'],
    load: (port, s) => wrk(port, s, ['-H', 'Connection: close']),
  },
  {
    name: 'HTTP/2, 10 streams per connection',
    servers: ['tsws core', 'node:http2'],
    load: (port, s) => h2load(port, s),
  },
];
const SCENARIOS = SCENARIOS_ALL.filter((s) => !ONLY || s.name.startsWith(ONLY));

function wrk(port, seconds, extra) {
  const out = execFileSync(
    'taskset',
    ['-c', '1', 'wrk', '-t1', `-c${opts.connections}`, `-d${seconds}s`, ...extra, `https://localhost:${port}/`],
    { encoding: 'utf8' },
  );
  return { requests: Number(/(\d+) requests in/.exec(out)[1]), rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]) };
}

function h2load(port, seconds) {
  const out = execFileSync(
    'taskset',
    // A request count rather than -D, which h2load 1.52 does not end on here: about `seconds` at 2,000 req/s.
    ['-c', '1', 'h2load', '-c', '10', '-m', '10', '-n', String(seconds * 2000), `https://localhost:${port}/`],
    { encoding: 'utf8' },
  );
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)[1]);
  return { requests: done, rps: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)[1]) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  for (const scenario of SCENARIOS) {
    const samples = new Map(scenario.servers.map((s) => [s, []]));
    for (let round = 0; round < opts.rounds; round++) {
      for (const name of round % 2 ? [...scenario.servers].reverse() : scenario.servers) {
        const port = await freePort();
        const proc = startPinned(
          [process.execPath, '--input-type=module', '-e', SERVERS[name], CERT, KEY, String(port)],
          0,
        );
        await waitForPort(proc, port);
        scenario.load(port, 1); // warm-up
        const before = cpuMicros(proc.pid);
        const run = scenario.load(port, opts.duration);
        const cpu = cpuMicros(proc.pid) - before;
        await stop(proc);
        samples.get(name).push({ rps: run.rps, us: cpu / run.requests });
      }
    }
    console.log(`\n${scenario.name}, ${opts.rounds} rounds of ${opts.duration} s`);
    const [ours, theirs] = scenario.servers.map((s) => median(samples.get(s).map((x) => x.rps)));
    for (const [name, s] of samples)
      console.log(
        `  ${name.padEnd(10)} ${median(s.map((x) => x.us)).toFixed(1)} us/request ` +
          `(rounds ${s.map((x) => x.us.toFixed(0)).join(' ')}), ${Math.round(median(s.map((x) => x.rps)))} req/s ` +
          `(rounds ${s.map((x) => Math.round(x.rps)).join(' ')})`,
      );
    console.log(`  tsws/${scenario.servers[1]}: ${(ours / theirs).toFixed(2)}x req/s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
