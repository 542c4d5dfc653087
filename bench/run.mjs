#!/usr/bin/env node
// The bench runner. `pnpm bench` runs the quick pass (the target scenarios, tsws core against
// node:http, 3 rounds, under 3 minutes); `pnpm bench --full` runs every scenario on every server.
// Options: --rounds N, --duration S, --scenarios a,b, --servers a,b, --tool wrk|autocannon,
// --no-memory, --check (answers only, no load), --profile (servers under --cpu-prof, profiles in
// results/profiles/<scenario>/<server>/). See bench/README.md for what the figures mean.
//
// Each server runs pinned to core 0, the load tool to core 1. For each scenario, every server is
// started fresh, checked once with a real request and warmed up; then each round measures them
// in an order rotated by one (so none always goes first), reading the server's CPU time
// (utime+stime of its process group) before and after each measured window.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ceiling from './ceiling.mjs';
import autocannon from './load/autocannon.mjs';
import wrk from './load/wrk.mjs';
import { bareNode, CONNECTIONS, idleRss, measureMemory } from './memory.mjs';
import { cpuMicros, freePort, rssKiB, startPinned, stop, waitForPort } from './proc.mjs';
import { writeReport } from './report.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;

const PASSES = {
  quick: { rounds: 3, warmS: 1, durationS: 2, memoryRounds: 2, pick: (x) => x.quick === true },
  full: { rounds: 5, warmS: 2, durationS: 5, memoryRounds: 3, pick: () => true },
};

/** Scenario order in reports: the targets first. Files not listed here follow in name order. */
const ORDER = ['hello-keepalive', 'pipelined-16', 'connection-close', 'echo-64k', 'stream-1m', 'json-1k', 'conns-50', 'conns-1000', 'access-log', 'reload-under-load'];

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    scenarios: { type: 'string' },
    servers: { type: 'string' },
    tool: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const passName = args.full ? 'full' : 'quick';
const pass = { ...PASSES[passName] };
if (args.rounds) pass.rounds = Number(args.rounds);
if (args.duration) pass.durationS = Number(args.duration);

async function loadDir(dir) {
  const files = readdirSync(new URL(dir, import.meta.url)).filter((f) => f.endsWith('.mjs'));
  const out = [];
  for (const file of files) {
    const id = file.slice(0, -4);
    const mod = (await import(new URL(`${dir}/${file}`, import.meta.url))).default;
    for (const def of [mod].flat()) out.push({ id, ...def, name: def.name ?? id });
  }
  return out;
}

const only = (list) => (list ? new Set(list.split(',')) : null);
const wantedScenarios = only(args.scenarios);
const wantedServers = only(args.servers);
const rank = (s) => (ORDER.includes(s.id) ? ORDER.indexOf(s.id) : ORDER.length);
const scenarios = (await loadDir('./scenarios'))
  .filter((s) => (wantedScenarios ? wantedScenarios.has(s.id) : pass.pick(s)))
  .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
// Reports list node:http first, then the tsws servers, then the others.
const kind = (s) => (s.baseline ? 0 : s.subject ? (s.quick ? 1 : 2) : 3);
const servers = (await loadDir('./servers'))
  .filter((s) => s.baseline || (wantedServers ? wantedServers.has(s.id) || wantedServers.has(s.name) : pass.pick(s)))
  .sort((a, b) => kind(a) - kind(b));
const baseline = servers.find((s) => s.baseline);

function pickTool() {
  if (args.tool) {
    const tool = { wrk, autocannon }[args.tool];
    if (!tool) throw new Error(`unknown --tool ${args.tool} (wrk or autocannon)`);
    if (tool.unavailable()) throw new Error(tool.unavailable());
    return { tool, why: 'chosen with --tool' };
  }
  const missing = wrk.unavailable();
  return missing ? { tool: autocannon, why: `${missing}: autocannon instead` } : { tool: wrk, why: 'wrk is installed' };
}
const { tool, why: toolWhy } = pickTool();

// Servers still running when the runner is interrupted are stopped with it.
const live = new Set();
process.on('SIGINT', async () => {
  await Promise.all([...live].map((p) => stop(p, 200)));
  process.exit(130);
});

const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.availableParallelism(),
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
};

const results = {
  pass: passName,
  startedAt: new Date().toISOString(),
  machine,
  tool: { name: tool.name, version: tool.version(), why: toolWhy },
  settings: { rounds: pass.rounds, warmS: pass.warmS, durationS: pass.durationS, serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU },
  servers: [ceiling, ...servers].map((s) => ({ name: s.name, about: s.about, subject: s.subject === true, unavailable: s.unavailable() })),
  scenarios: [],
  memory: null,
};

const log = (msg) => process.stderr.write(`${msg}\n`);
log(`tsws bench, ${passName} pass: ${machine.node}, ${machine.cpu} x${machine.cores}; ${results.tool.version} (${toolWhy})`);
log(`servers on core ${SERVER_CPU}, load on core ${CLIENT_CPU}; ${pass.rounds} rounds of ${pass.warmS} s warm-up + ${pass.durationS} s measured`);

/** One real request, checked against what the scenario expects. Returns a problem or null. */
function check(port, { request, expect }) {
  return new Promise((resolve) => {
    const body = request.bodyBytes ? Buffer.alloc(request.bodyBytes, 0x61) : undefined;
    const headers = { ...request.headers, ...(body ? { 'Content-Length': body.length } : {}) };
    const req = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => {
        const type = res.headers['content-type'] ?? '';
        if (res.statusCode !== expect.status) resolve(`status ${res.statusCode}, expected ${expect.status}`);
        else if (!type.startsWith(expect.contentType)) resolve(`content-type "${type}", expected ${expect.contentType}`);
        else if (bytes !== expect.bodyBytes) resolve(`${bytes} body bytes, expected ${expect.bodyBytes}`);
        else resolve(null);
      });
    });
    req.on('error', (err) => resolve(`request failed: ${err.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.end(body);
  });
}

async function startServer(server, scenario) {
  const port = await freePort();
  const accessLog = scenario.needs === 'accessLog' ? '/dev/null' : undefined;
  const proc = startPinned(profiled(server.command({ port, scenario, accessLog }), server, scenario), SERVER_CPU, server.env);
  live.add(proc);
  try {
    await waitForPort(proc, port);
  } catch (err) {
    await stopServer(proc);
    return { error: err.message };
  }
  const problem = await check(port, scenario);
  return problem ? { proc, error: `wrong answer: ${problem}` } : { proc, port };
}

const PROFILES = fileURLToPath(new URL('./results/profiles/', import.meta.url));
const EXIT_ON_TERM = fileURLToPath(new URL('./exit-on-term.mjs', import.meta.url));

/**
 * With --profile, a server run by this Node writes a CPU profile when it stops (cluster workers
 * inherit the flags). Node 20 refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line.
 */
function profiled(argv, server, scenario) {
  if (!args.profile || argv[0] !== process.execPath) return argv;
  const dir = join(PROFILES, scenario.id, server.name.replace(/[^\w.-]+/g, '_'));
  return [argv[0], '--cpu-prof', `--cpu-prof-dir=${dir}`, `--import=${EXIT_ON_TERM}`, ...argv.slice(1)];
}

async function stopServer(proc) {
  await stop(proc);
  live.delete(proc);
}

/** Warm-up, then the measured window with the server's CPU time read around it. */
async function measure(server, { proc, port }, scenario, warmUp) {
  const load = { port, scenario, connections: scenario.connections, cpu: CLIENT_CPU };
  if (warmUp) await tool.run({ ...load, durationS: pass.warmS });
  const cpuBefore = cpuMicros(proc.pid);
  const reload = scenario.needs === 'reload' ? setTimeout(() => server.reload(proc), pass.durationS * 1000 * scenario.reloadAt) : null;
  const r = await tool.run({ ...load, durationS: pass.durationS });
  clearTimeout(reload);
  if (!proc.alive()) throw new Error(`the server exited: ${proc.stderr().trim().split('\n').slice(-3).join(' / ')}`);
  if (r.requests === 0) throw new Error(`no responses in the measured window (${r.errors} errors)`);
  const cpu = cpuMicros(proc.pid) - cpuBefore;
  return {
    rps: r.requests / r.seconds,
    requests: r.requests,
    seconds: r.seconds,
    cpuUsPerReq: cpu / r.requests,
    // Near 100% the server was the limit; well below, the load tool or other work on the machine.
    cpuPct: (100 * cpu) / (r.seconds * 1e6),
    errors: r.errors,
    non2xx: r.non2xx,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    depth: r.depth,
    rssAfter: rssKiB(proc.pid) * 1024,
  };
}

/** Why a scenario can't run on this server, or null. The ceiling answers any load but reloads nothing. */
function cannotRun(server, scenario) {
  const missing = server.unavailable();
  if (missing) return missing;
  if (!scenario.needs || server[scenario.needs]) return null;
  if (server === ceiling && scenario.needs !== 'reload') return null;
  return server.lacks?.[scenario.needs] ?? `no ${scenario.needs} support`;
}

async function runScenario(scenario) {
  const entry = { name: scenario.id, title: scenario.title, target: scenario.target ?? null, connections: scenario.connections, depth: tool.depthFor(scenario), servers: {} };
  results.scenarios.push(entry);
  const all = [ceiling, ...servers];
  for (const s of all) entry.servers[s.name] = { unavailable: cannotRun(s, scenario), samples: [] };
  // When no selected tsws server can run it, the scenario is reported as not available.
  const subjects = servers.filter((s) => s.subject);
  if (subjects.length && !subjects.some((s) => cannotRun(s, scenario) === null)) {
    entry.unavailable = subjects.map((s) => `${s.name}: ${cannotRun(s, scenario)}`).join('; ');
    log(`\n${scenario.id}: not available (${entry.unavailable})`);
    return;
  }
  const runnable = all.filter((s) => entry.servers[s.name].unavailable === null);
  log(`\n${scenario.id}: ${scenario.title}, ${scenario.connections} connections, depth ${entry.depth}`);
  const started = new Map(await Promise.all(runnable.map(async (s) => [s, await startServer(s, scenario)])));
  try {
    for (let round = 0; round < pass.rounds; round++) {
      const order = runnable.map((_, i) => runnable[(i + round) % runnable.length]);
      for (const server of order) {
        const run = started.get(server);
        let sample;
        try {
          if (run.error) throw new Error(run.error);
          sample = await measure(server, run, scenario, round === 0);
        } catch (err) {
          sample = { error: err.message.split('\n')[0] };
        }
        entry.servers[server.name].samples.push({ round, ...sample });
        log(`  round ${round + 1} ${server.name.padEnd(18)} ${describe(sample)}`);
      }
    }
  } finally {
    await Promise.all([...started.values()].filter((r) => r.proc).map((r) => stopServer(r.proc)));
  }
}

function describe(s) {
  if (s.error) return `FAILED: ${s.error}`;
  const errors = s.errors || s.non2xx ? `  errors ${s.errors} non-2xx ${s.non2xx}` : '';
  return `${Math.round(s.rps).toString().padStart(7)} req/s  ${s.cpuUsPerReq.toFixed(2).padStart(7)} us/req  cpu ${s.cpuPct.toFixed(0)}%${errors}`;
}

async function runMemory() {
  const memory = { connections: CONNECTIONS, rounds: pass.memoryRounds, bare: [], servers: {} };
  log(`\nmemory: idle RSS, and RSS per idle keep-alive connection at ${CONNECTIONS} connections`);
  const opts = { serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU };
  const ready = servers.filter((s) => !s.unavailable());
  for (const s of servers) memory.servers[s.name] = { unavailable: s.unavailable(), idle: [], perConnection: [], heapPerConnection: [], errors: [] };
  // Idle RSS is steady to 0.1 MB from one start to the next: one reading each.
  memory.bare.push(await idleRss(bareNode, opts));
  for (const s of ready) {
    const m = memory.servers[s.name];
    try {
      m.idle.push(await idleRss(s, opts));
    } catch (err) {
      m.errors.push(err.message.split('\n')[0]);
    }
  }
  log(`  idle RSS: bare node ${(memory.bare[0] / 1e6).toFixed(1)} MB, ${ready.map((s) => `${s.name} ${(memory.servers[s.name].idle[0] / 1e6).toFixed(1)} MB`).join(', ')}`);
  for (let round = 0; round < pass.memoryRounds; round++) {
    for (const s of ready) {
      const m = memory.servers[s.name];
      try {
        const { perConnection, heapPerConnection } = await measureMemory(s, opts);
        m.perConnection.push(perConnection);
        m.heapPerConnection.push(heapPerConnection);
        log(`  round ${round + 1} ${s.name.padEnd(18)} per connection ${(perConnection / 1000).toFixed(2)} kB RSS, ${(heapPerConnection / 1000).toFixed(2)} kB JS heap`);
      } catch (err) {
        m.errors.push(err.message.split('\n')[0]);
        log(`  round ${round + 1} ${s.name.padEnd(18)} FAILED: ${m.errors.at(-1)}`);
      }
    }
  }
  results.memory = memory;
}

/** --check: start every server for every scenario and check one answer, no load (seconds). */
async function checkOnly() {
  let failed = 0;
  for (const scenario of scenarios) {
    for (const server of [ceiling, ...servers]) {
      const why = cannotRun(server, scenario);
      const run = why ? null : await startServer(server, scenario);
      if (run?.proc) await stopServer(run.proc);
      if (run?.error) failed++;
      log(`${scenario.id.padEnd(18)} ${server.name.padEnd(20)} ${why ? `not available: ${why}` : run.error ? `FAILED: ${run.error}` : 'ok'}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (!baseline || baseline.unavailable()) throw new Error('the node:http baseline is missing');
if (args.check) await checkOnly();
try {
  for (const scenario of scenarios) await runScenario(scenario);
  if (!args['no-memory']) await runMemory();
} finally {
  // A runner that fails leaves no server behind.
  await Promise.all([...live].map((p) => stop(p, 200)));
}
results.finishedAt = new Date().toISOString();
const files = writeReport(results);
log(`\nwrote ${files.join(', ')}`);
