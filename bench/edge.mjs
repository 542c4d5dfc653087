#!/usr/bin/env node
// The edge pass (issue 13, `pnpm bench --edge`): TLS keep-alive and TLS new-connection rates of
// the tsws core against node:https, and HTTP/2 (h2load, 10 streams per connection) against
// node:http2's compatibility API, every server answering bench/app.mjs's hello (node ones
// bench/node-app.mjs). Beside them, Node's own ceilings: a bare tls.Server answering each request
// with prebuilt bytes (TLS with no HTTP), and node:http2's core API answering each stream with
// respond() + end() (HTTP/2 with no request/response objects). Servers pinned to core 0, wrk and
// h2load to core 1, alternating order per round; figures are the median CPU time per request
// from /proc (the steadier figure on a shared machine) and req/s. Writes
// results/edge-node<major>.{json,md}.
//
//   node bench/edge.mjs [--rounds 3] [--duration 4]   (EDGE_ONLY=<scenario name prefix>: one scenario)
//   EDGE_BEFORE=/tmp/old/packages/core node bench/edge.mjs   (adds 'tsws before': that core build
//     in the same rounds, for an A/B of a change; results are then printed, not written)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, startPinned, stop, waitForPort } from './proc.mjs';

const opts = { rounds: 3, duration: 4, connections: 50 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = Number(argv[i + 1]);

const dir = mkdtempSync(join(os.tmpdir(), 'tsws-edge-'));
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
const BEFORE = process.env.EDGE_BEFORE ? join(resolve(process.env.EDGE_BEFORE), 'dist/index.js') : undefined;
const APP = new URL('./app.mjs', import.meta.url).href;
const NODE_APP = new URL('./node-app.mjs', import.meta.url).href;

/** The tsws core build at `entry` serving bench/app.mjs over TLS. */
const tswsServer = (entry) => `const { serve } = await import(${JSON.stringify(entry)});
const { default: app } = await import(${JSON.stringify(APP)});
const fs = await import('node:fs');
const [cert, key, port] = process.argv.slice(1);
await serve(app, { bind: '127.0.0.1:' + port, httpProtocols: ['h1', 'h2'],
  tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });`;

/** Each server as a one-line program: (cert, key, port) from argv. */
const SERVERS = {
  'tsws core': tswsServer(CORE),
  ...(BEFORE ? { 'tsws before': tswsServer(BEFORE) } : {}),
  'node:https': `const https = await import('node:https'); const fs = await import('node:fs');
const { default: handle } = await import(${JSON.stringify(NODE_APP)});
const [cert, key, port] = process.argv.slice(1);
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handle).listen(+port, '127.0.0.1');`,
  'node:http2': `const http2 = await import('node:http2'); const fs = await import('node:fs');
const { default: handle } = await import(${JSON.stringify(NODE_APP)});
const [cert, key, port] = process.argv.slice(1);
http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handle).listen(+port, '127.0.0.1');`,
  // Each request's head ends in a blank line (wrk sends no bodies): one prebuilt answer each.
  'tls.Server ceiling': `const tls = await import('node:tls'); const fs = await import('node:fs');
const [cert, key, port] = process.argv.slice(1);
const head = (close) => Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-type: text/plain;charset=UTF-8\\r\\n' +
  'Content-Length: 11\\r\\nDate: ' + new Date().toUTCString() + '\\r\\n' + (close ? 'Connection: close\\r\\n' : '') +
  '\\r\\nhello world');
const [keep, close] = [head(false), head(true)];
tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    const text = chunk.toString('latin1');
    for (let at = text.indexOf('\\r\\n\\r\\n'); at >= 0; at = text.indexOf('\\r\\n\\r\\n', at + 4)) {
      if (/connection: close/i.test(text)) { socket.end(close); return; }
      socket.write(keep);
    }
  });
}).listen(+port, '127.0.0.1');`,
  'node:http2 ceiling': `const http2 = await import('node:http2'); const fs = await import('node:fs');
const [cert, key, port] = process.argv.slice(1);
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
server.on('stream', (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain;charset=UTF-8', 'content-length': 11 });
  stream.end('hello world');
});
server.listen(+port, '127.0.0.1');`,
};

const ONLY = process.env.EDGE_ONLY;
const SCENARIOS_ALL = [
  {
    name: 'TLS keep-alive',
    servers: ['tsws core', 'node:https', 'tls.Server ceiling'],
    load: (port, s) => wrk(port, s, []),
  },
  {
    name: 'TLS new connection per request',
    servers: ['tsws core', 'node:https', 'tls.Server ceiling'],
    load: (port, s) => wrk(port, s, ['-H', 'Connection: close']),
  },
  {
    name: 'HTTP/2, 10 streams per connection',
    servers: ['tsws core', 'node:http2', 'node:http2 ceiling'],
    load: (port, s) => h2load(port, s),
  },
];
const SCENARIOS = SCENARIOS_ALL.filter((s) => !ONLY || s.name.startsWith(ONLY)).map((s) =>
  // Last, so the ratio stays tsws core against the Node server.
  BEFORE ? { ...s, servers: [...s.servers, 'tsws before'] } : s,
);

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
    // A request count rather than -D, which h2load 1.52 does not end on here: about `seconds` at 5,000 req/s.
    ['-c', '1', 'h2load', '-c', '10', '-m', '10', '-n', String(seconds * 5000), `https://localhost:${port}/`],
    { encoding: 'utf8' },
  );
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)[1]);
  // A quick run reports milliseconds ("finished in 612.3ms, ...").
  return { requests: done, rps: Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)[1]) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {
  pass: 'edge',
  startedAt: new Date().toISOString(),
  machine: {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  },
  settings: { rounds: opts.rounds, durationS: opts.duration, serverCpu: 0, clientCpu: 1 },
  scenarios: [],
};
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
    const servers = [...samples].map(([name, s]) => ({
      name,
      usPerRequest: Number(median(s.map((x) => x.us)).toFixed(1)),
      rps: Math.round(median(s.map((x) => x.rps))),
      rounds: s.map((x) => ({ usPerRequest: Number(x.us.toFixed(1)), rps: Math.round(x.rps) })),
    }));
    const [ours, theirs] = servers;
    results.scenarios.push({
      name: scenario.name,
      servers,
      // tsws against the Node server it is measured with: req/s, and CPU per request (theirs/ours).
      ratio: {
        rps: Number((ours.rps / theirs.rps).toFixed(2)),
        cpu: Number((theirs.usPerRequest / ours.usPerRequest).toFixed(2)),
      },
    });
    console.log(`\n${scenario.name}, ${opts.rounds} rounds of ${opts.duration} s`);
    for (const s of servers)
      console.log(
        `  ${s.name.padEnd(18)} ${s.usPerRequest.toFixed(1)} us/request ` +
          `(rounds ${s.rounds.map((x) => x.usPerRequest.toFixed(0)).join(' ')}), ${s.rps} req/s ` +
          `(rounds ${s.rounds.map((x) => x.rps).join(' ')})`,
      );
    console.log(
      `  tsws/${theirs.name}: ${results.scenarios.at(-1).ratio.rps}x req/s, ${results.scenarios.at(-1).ratio.cpu}x less CPU`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (!ONLY && !BEFORE) writeResults();

/** results/edge-node<major>.{json,md}: the figures, and a table of them. */
function writeResults() {
  const base = fileURLToPath(new URL(`./results/edge-node${process.versions.node.split('.')[0]}`, import.meta.url));
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const m = results.machine;
  const lines = [
    `# The edge pass: TLS and HTTP/2 (${m.node})`,
    '',
    `${m.cpu} x${m.cores}, load average ${m.loadAverage.join(' ')}; ${results.startedAt}.`,
    `Servers on core 0, wrk / h2load on core 1; ${opts.rounds} rounds of ${opts.duration} s, medians.`,
    "CPU per request is the server's utime+stime from /proc over the measured window.",
    '',
  ];
  for (const s of results.scenarios) {
    lines.push(`## ${s.name}`, '', '| server | CPU us/request | req/s |', '|---|---:|---:|');
    for (const v of s.servers) lines.push(`| ${v.name} | ${v.usPerRequest} | ${v.rps} |`);
    lines.push(
      '',
      `tsws core / ${s.servers[1].name}: ${s.ratio.rps}x req/s, ${s.ratio.cpu}x less CPU per request.`,
      '',
    );
  }
  writeFileSync(`${base}.md`, lines.join('\n'));
  console.log(`\nwrote ${base}.json and .md`);
}
