#!/usr/bin/env node
// How connections reach workers, measured: throughput, server CPU per request and fairness for
// each --scheduling policy, keep-alive and a new connection per request. The master and its
// workers run on core 0, wrk on core 1; policies alternate within each round and the report takes
// medians. Fairness is the spread of requests between workers, from their heartbeat counters.
//   node bench/master/scheduling.mjs [--rounds 3] [--seconds 5] [--workers 2] [--policies shared,rr,reuseport]
//   --policies shared,rr,sticky: --sticky against the others (wrk's one client address lands on one worker)
//   node bench/master/scheduling.mjs --access-log /tmp/access.log   (the access log's cost instead)
//   node bench/master/scheduling.mjs --metrics --workers 1 --policies shared --rounds 5
//       (the cost of --metrics-bind: the workers counting each request, the master adding them up,
//       and a Prometheus scrape every second (--scrape-every S, 0 for none), as against the same
//       master without it)
//   --no-pin: server and wrk on every core, for fairness as the kernel spreads processes (not CPU cost)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const rounds = Number(arg('rounds', 3));
const seconds = Number(arg('seconds', 5));
const workers = Number(arg('workers', 2));
const accessLog = arg('access-log', undefined);
const metrics = process.argv.includes('--metrics');
// With --metrics: how often the bench scrapes /metrics, as Prometheus would (0: never; then only
// the workers' counting and the master adding up their heartbeats are measured).
const scrapeEvery = Number(arg('scrape-every', 1));
const [major, minor] = process.versions.node.split('.').map(Number);
const hasReusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
const policies = arg('policies', hasReusePort ? 'shared,rr,reuseport' : 'shared,rr').split(',');
// With --access-log or --metrics: the same policy with the feature off, then on.
const variants = accessLog
  ? [
      { name: 'access log off', policy: policies[0] },
      { name: 'access log on', policy: policies[0], accessLog },
    ]
  : metrics
    ? [
        { name: 'metrics off', policy: policies[0] },
        { name: 'metrics on', policy: policies[0], metrics: true },
      ]
    : policies.map((p) => ({ name: p, policy: p }));
const scenarios = { 'keep-alive': [], 'new connection per request': ['-H', 'Connection: close'] };
const pin = !process.argv.includes('--no-pin');
const server = pin ? ['taskset', '-c', '0', process.execPath] : [process.execPath];
const wrk = pin ? ['taskset', '-c', '1', 'wrk'] : ['wrk'];
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

const cpuUs = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
};
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function startMaster(variant) {
  const port = await freePort();
  const metricsPort = variant.metrics ? await freePort() : 0;
  const child = spawn(
    server[0],
    [
      ...server.slice(1),
      fileURLToPath(new URL('./serve.mjs', import.meta.url)),
      variant.policy,
      String(port),
      String(workers),
      variant.accessLog ?? '',
      metricsPort ? `127.0.0.1:${metricsPort}` : '',
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`master exited with ${code}`)));
  });
  const stats = () =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send('stats');
    });
  const stop = () =>
    new Promise((resolve) => {
      child.once('exit', resolve);
      child.send('stop');
    });
  return { port, metricsPort, stats, stop };
}

/** Scrapes /metrics once a second, as Prometheus would (its cost counts in the master's CPU); returns a stop function. */
function scraping(port) {
  if (!port || !scrapeEvery) return () => {};
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/metrics`).then(
      (r) => r.text(),
      () => {},
    );
  }, scrapeEvery * 1000);
  return () => clearInterval(timer);
}

async function measure(variant, headers) {
  const m = await startMaster(variant);
  // A short warm-up, so JIT and connection set-up do not count.
  execFileSync(wrk[0], [...wrk.slice(1), '-t1', '-c50', '-d1s', ...headers, `http://127.0.0.1:${m.port}/`]);
  await new Promise((r) => setTimeout(r, 1200));
  const before = await m.stats();
  const pids = [before.pid, ...before.workers.map((w) => w.pid)];
  const stopScraping = scraping(m.metricsPort);
  const cpu0 = pids.reduce((sum, pid) => sum + cpuUs(pid), 0);
  const master0 = cpuUs(before.pid);
  const out = execFileSync(
    wrk[0],
    [...wrk.slice(1), '-t1', '-c50', `-d${seconds}s`, ...headers, `http://127.0.0.1:${m.port}/`],
    { encoding: 'utf8' },
  );
  const cpu1 = pids.reduce((sum, pid) => sum + cpuUs(pid), 0);
  const masterCpu = cpuUs(before.pid) - master0;
  stopScraping();
  // Heartbeats carry the counters once a second.
  await new Promise((r) => setTimeout(r, 1500));
  const after = await m.stats();
  await m.stop();
  const requests = Number(out.match(/(\d+) requests in/)[1]);
  const errors = out.match(/Socket errors:.*|Non-2xx.*/g) ?? [];
  const perWorker = after.workers.map((w) => w.requests - (before.workers.find((b) => b.pid === w.pid)?.requests ?? 0));
  const mean = perWorker.reduce((a, b) => a + b, 0) / perWorker.length;
  const spread = (Math.max(...perWorker) - Math.min(...perWorker)) / mean;
  return {
    rps: requests / seconds,
    cpuPerRequest: (cpu1 - cpu0) / requests,
    workerCpuPerRequest: (cpu1 - cpu0 - masterCpu) / requests,
    spread,
    perWorker,
    errors,
  };
}

const results = {};
for (let round = 0; round < rounds; round++) {
  // Rotate the order each round: the machine drifts.
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  for (const variant of order) {
    for (const [scenario, headers] of Object.entries(scenarios)) {
      const r = await measure(variant, headers);
      (results[`${variant.name} | ${scenario}`] ??= []).push(r);
      console.error(
        `round ${round + 1} ${variant.name} ${scenario}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerRequest.toFixed(1)} us CPU/req (workers ${r.workerCpuPerRequest.toFixed(1)}), per worker ${r.perWorker.join('/')} ${r.errors.join(' ')}`,
      );
    }
  }
}
if (accessLog) rmSync(accessLog, { force: true });
console.log(
  `\nNode ${process.versions.node}, ${os.cpus()[0]?.model} x${os.cpus().length}; ${workers} workers + master ${pin ? 'on core 0' : 'unpinned'}, wrk -t1 -c50 -d${seconds}s ${pin ? 'on core 1' : 'unpinned'}; median of ${rounds}`,
);
console.log(
  '| variant | scenario | req/s | server CPU us/req | of which workers | spread (max-min)/mean |\n|---|---|---|---|---|---|',
);
for (const [key, rs] of Object.entries(results)) {
  const [variant, scenario] = key.split(' | ');
  console.log(
    `| ${variant} | ${scenario} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.cpuPerRequest)).toFixed(1)} | ${median(rs.map((r) => r.workerCpuPerRequest)).toFixed(1)} | ${median(rs.map((r) => r.spread)).toFixed(2)} |`,
  );
}
