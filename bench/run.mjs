#!/usr/bin/env node
// The bench runner. `pnpm bench` runs the quick pass (the target scenarios, tsws core and the
// tsws CLI against node:http and the two ceilings, 3 rounds, idle RSS; about 3 minutes);
// `pnpm bench --full` runs every scenario on every server, the access log on and off, reloads
// under load, and memory per connection; `pnpm bench --streaming` the streamed responses and
// files (issue 9); `pnpm bench --edge` TLS and HTTP/2 against node:https and node:http2 (issue
// 13: bench/edge.mjs, its own runner since wrk and h2load speak TLS there).
// Options: --rounds N, --duration S, --scenarios a,b, --servers a,b, --tool wrk|autocannon,
// --node PATH (every server, and the runner, on that Node), --name N (results/<N>-node<major>
// instead of the pass's name), --no-memory, --check (answers only,
// no load), --profile (servers under --cpu-prof, profiles in results/profiles/<scenario>/<server>/).
// See bench/README.md for what the figures mean.
//
// Each server runs pinned to core 0, the load tool to core 1. For each scenario, every server is
// started fresh, checked once with a real request and warmed up; then each round measures them
// in an order rotated by one (so none always goes first), reading the server's CPU time
// (utime+stime of its process group) before and after each measured window.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import http from 'node:http';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDir } from './defs.mjs';
import autocannon from './load/autocannon.mjs';
import wrk from './load/wrk.mjs';
import { bareNode, CONNECTIONS, idleRss, measureMemory } from './memory.mjs';
import {
  childCpuMicros,
  cpuMicros,
  freePort,
  groupPids,
  startServer as launch,
  rssKiB,
  stop,
  waitForLogCount,
  waitForPort,
} from './proc.mjs';
import { writeReport } from './report.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;

// The quick pass measures idle RSS only; the connection storms for RSS per connection take
// ~10 s per server and round, so they are in the full pass.
const PASSES = {
  quick: { rounds: 3, warmS: 1, durationS: 2, memoryRounds: 0, pick: (x) => x.quick === true },
  full: { rounds: 5, warmS: 2, durationS: 5, memoryRounds: 3, pick: () => true },
  // Memory alone, no load scenario: idle RSS and RSS per idle connection for every server.
  memory: { rounds: 0, warmS: 0, durationS: 0, memoryRounds: 3, pick: (x) => x.memory !== undefined },
  // Streamed responses and files (issue 9): the tsws core against node:http (res.write, and
  // Readable.fromWeb of the same stream) and @hono/node-server.
  streaming: { rounds: 3, warmS: 1, durationS: 3, memoryRounds: 0, pick: (x) => x.streaming === true },
};

/** Scenario order in reports: the targets first. Files not listed here follow in name order. */
const ORDER = [
  'hello-keepalive',
  'pipelined-16',
  'connection-close',
  'echo-64k',
  'stream-small',
  'stream-1k',
  'stream-1m',
  'file-1m',
  'file-100m',
  'json-1k',
  'conns-50',
  'conns-1000',
  'access-log',
  'reload-under-load',
];

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    streaming: { type: 'boolean', default: false },
    edge: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    scenarios: { type: 'string' },
    servers: { type: 'string' },
    tool: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    node: { type: 'string' },
    name: { type: 'string' },
  },
});

// --node: the whole pass runs on that Node (servers start with the runner's own execPath), so its
// results are kept apart by the Node major in their file names.
if (args.node && realpathSync(args.node) !== realpathSync(process.execPath)) {
  const r = spawnSync(args.node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.error) throw new Error(`--node ${args.node}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
if (args.edge) {
  const forward = [
    ...(args.rounds ? ['--rounds', args.rounds] : []),
    ...(args.duration ? ['--duration', args.duration] : []),
  ];
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./edge.mjs', import.meta.url)), ...forward], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
const passName = args.full ? 'full' : args.memory ? 'memory' : args.streaming ? 'streaming' : 'quick';
const pass = { ...PASSES[passName] };
if (args.rounds) pass.rounds = Number(args.rounds);
if (args.duration) pass.durationS = Number(args.duration);

const only = (list) => (list ? new Set(list.split(',')) : null);
const wantedScenarios = only(args.scenarios);
const wantedServers = only(args.servers);
const rank = (s) => (ORDER.includes(s.id) ? ORDER.indexOf(s.id) : ORDER.length);
const scenarios = (await loadDir('./scenarios'))
  .filter((s) => (wantedScenarios ? wantedScenarios.has(s.id) : pass.pick(s)))
  .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
// Reports list node:http first, then the tsws servers, then the others; the multi-process ones
// (a table of their own) in this order. Files not listed here follow in name order.
const SERVER_ORDER = [
  'node-http',
  'tsws-core',
  'tsws-cli',
  'tsws-node-worker',
  'hono-node',
  'node-http-fromweb',
  'fastify',
  'tsws-master',
  'node-cluster',
  'pm2',
];
const serverRank = (s) => (SERVER_ORDER.includes(s.id) ? SERVER_ORDER.indexOf(s.id) : SERVER_ORDER.length);
const servers = (await loadDir('./servers'))
  .filter((s) => s.baseline || (wantedServers ? wantedServers.has(s.id) || wantedServers.has(s.name) : pass.pick(s)))
  .sort((a, b) => serverRank(a) - serverRank(b) || a.id.localeCompare(b.id));
const baseline = servers.find((s) => s.baseline);
// Node's socket ceiling and nginx's run in every scenario they can answer: each is its own column.
const CEILING_ORDER = ['node-socket', 'nginx'];
const ceilings = (await loadDir('./ceilings')).sort(
  (a, b) => CEILING_ORDER.indexOf(a.id) - CEILING_ORDER.indexOf(b.id),
);

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
  // A pass narrowed to some servers or scenarios can be written apart from the pass itself.
  ...(args.name ? { name: args.name } : {}),
  startedAt: new Date().toISOString(),
  machine,
  tool: { name: tool.name, version: tool.version(), why: toolWhy },
  settings: {
    rounds: pass.rounds,
    warmS: pass.warmS,
    durationS: pass.durationS,
    serverCpu: SERVER_CPU,
    clientCpu: CLIENT_CPU,
  },
  servers: [...ceilings, ...servers].map((s) => ({
    name: s.name,
    about: s.about,
    subject: s.subject === true,
    ceiling: s.ceiling === true,
    targets: s.subject === true && !s.group && s.ratioTargets !== false,
    group: s.group ?? null,
    workers: s.workers ?? 1,
    unavailable: s.unavailable(),
  })),
  scenarios: [],
  memory: null,
};

const log = (msg) => process.stderr.write(`${msg}\n`);
log(
  `tsws bench, ${passName} pass: ${machine.node}, ${machine.cpu} x${machine.cores}; ${results.tool.version} (${toolWhy})`,
);
log(
  `servers on core ${SERVER_CPU}, load on core ${CLIENT_CPU}; ${pass.rounds} rounds of ${pass.warmS} s warm-up + ${pass.durationS} s measured`,
);

/** One real request, checked against what the scenario expects. Returns a problem or null. */
function check(port, { request, expect }) {
  return new Promise((resolve) => {
    const body = request.bodyBytes ? Buffer.alloc(request.bodyBytes, 0x61) : undefined;
    const headers = { ...request.headers, ...(body ? { 'Content-Length': body.length } : {}) };
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent: false },
      (res) => {
        let bytes = 0;
        res.on('data', (d) => (bytes += d.length));
        res.on('end', () => {
          const type = res.headers['content-type'] ?? '';
          if (res.statusCode !== expect.status) resolve(`status ${res.statusCode}, expected ${expect.status}`);
          else if (!type.startsWith(expect.contentType))
            resolve(`content-type "${type}", expected ${expect.contentType}`);
          else if (bytes !== expect.bodyBytes) resolve(`${bytes} body bytes, expected ${expect.bodyBytes}`);
          else resolve(null);
        });
      },
    );
    req.on('error', (err) => resolve(`request failed: ${err.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.end(body);
  });
}

/**
 * Starts a server for a scenario and checks one answer. `accessLog`: a file path for the server's
 * access log (a fresh temp dir per start, removed when the server stops), or nothing.
 */
async function startServer(server, scenario, { accessLog = false } = {}) {
  const port = await freePort();
  const logDir = accessLog ? mkdtempSync(join(tmpdir(), 'tsws-bench-log-')) : null;
  const opts = { port, scenario, accessLog: logDir ? join(logDir, 'access.log') : undefined };
  const withArgv = {
    ...server,
    command: (o) => profiled(server.command(o), `${server.name}${accessLog ? ', log on' : ''}`, scenario),
  };
  const proc = launch(withArgv, opts, SERVER_CPU);
  if (logDir) {
    const cleanup = proc.cleanup;
    proc.cleanup = async () => {
      await cleanup?.();
      rmSync(logDir, { recursive: true, force: true });
    };
  }
  live.add(proc);
  try {
    await waitForPort(proc, port);
    // Each worker of a multi-process server logs that it listens; the port may open before.
    if (server.workers) await waitForLogCount(proc, server.readyLine ?? /listening on /, server.workers);
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
function profiled(made, name, scenario) {
  const argv = Array.isArray(made) ? made : made.argv;
  if (!args.profile || argv[0] !== process.execPath) return made;
  const dir = join(PROFILES, scenario.id, name.replace(/[^\w.-]+/g, '_'));
  const withProfile = [argv[0], '--cpu-prof', `--cpu-prof-dir=${dir}`, `--import=${EXIT_ON_TERM}`, ...argv.slice(1)];
  return Array.isArray(made) ? withProfile : { ...made, argv: withProfile };
}

async function stopServer(proc) {
  await stop(proc);
  live.delete(proc);
}

/** How long a scenario measures: a reload needs a window that holds all of it. */
const windowS = (scenario) => Math.max(pass.durationS, scenario.minDurationS ?? 0);

/** The worker pids of a server (its group without the leader). */
const workerPids = (proc) =>
  new Set(
    groupPids(proc.pid)
      .map((p) => p.pid)
      .filter((pid) => pid !== proc.pid),
  );

/**
 * Warm-up, then the measured window with the server's CPU time read around it. In a reload
 * scenario the server's reload() runs `reloadAt` into the window and is awaited (however long it
 * takes) before the next measurement; its duration and how many workers it replaced are kept.
 */
async function measure(server, { proc, port }, scenario, warmUp) {
  const load = { port, scenario, connections: scenario.connections, cpu: CLIENT_CPU };
  if (warmUp) await tool.run({ ...load, durationS: pass.warmS });
  const durationS = windowS(scenario);
  const cpuBefore = cpuMicros(proc.pid);
  const toolBefore = childCpuMicros();
  const workersBefore = workerPids(proc);
  let reloading = null;
  const timer =
    scenario.needs === 'reload'
      ? setTimeout(
          () => {
            reloading = server.reload(proc).then(
              (ms) => ({ ms }),
              (err) => ({ error: err.message }),
            );
          },
          durationS * 1000 * scenario.reloadAt,
        )
      : null;
  const r = await tool.run({ ...load, durationS });
  clearTimeout(timer);
  const cpu = cpuMicros(proc.pid) - cpuBefore;
  const toolCpu = childCpuMicros() - toolBefore;
  const reload =
    scenario.needs === 'reload' ? await (reloading ?? { error: 'the window ended before the reload began' }) : null;
  if (!proc.alive()) throw new Error(`the server exited: ${proc.stderr().trim().split('\n').slice(-3).join(' / ')}`);
  if (r.requests === 0) throw new Error(`no responses in the measured window (${r.errors} errors)`);
  if (reload?.error) throw new Error(`reload: ${reload.error}`);
  const sample = {
    rps: r.requests / r.seconds,
    requests: r.requests,
    seconds: r.seconds,
    cpuUsPerReq: cpu / r.requests,
    // Near 100% the server was the limit; well below, the load tool or other work on the machine.
    cpuPct: (100 * cpu) / (r.seconds * 1e6),
    // The load tool's own share of its core: near 100% it, not the server, was the limit.
    toolCpuPct: (100 * toolCpu) / (r.seconds * 1e6),
    errors: r.errors,
    non2xx: r.non2xx,
    errorsBy: r.errorsBy,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    depth: r.depth,
    rssAfter: rssKiB(proc.pid) * 1024,
  };
  if (reload) {
    const after = workerPids(proc);
    sample.reloadMs = reload.ms;
    // A reload that replaced nothing would score perfectly: count the workers it started.
    sample.replaced = [...after].filter((pid) => !workersBefore.has(pid)).length;
    sample.workersAfter = after.size;
  }
  return sample;
}

/** Why a scenario can't run on this server, or null. The ceilings answer any load but reload nothing. */
function cannotRun(server, scenario) {
  const missing = server.unavailable();
  if (missing) return missing;
  if (server.scenarios && !server.scenarios.includes(scenario.id)) return OUTSIDE;
  if (server.ceiling) return scenario.needs === 'reload' || scenario.compare ? OUTSIDE : null;
  if (!scenario.needs || server[scenario.needs]) return null;
  return server.lacks?.[scenario.needs] ?? `no ${scenario.needs} support`;
}
/** A server left out of a scenario on purpose (reported blank, not as missing). */
const OUTSIDE = 'not part of this comparison';

/**
 * The runs of a scenario: one per server, or, for a scenario that compares a server with itself
 * (`compare: 'accessLog'`), two: without the feature (`off`) and with it.
 */
function variantsOf(scenario, server) {
  if (scenario.compare === 'accessLog')
    return [
      { server, key: 'off', accessLog: false },
      { server, key: 'samples', accessLog: true },
    ];
  return [{ server, key: 'samples', accessLog: false }];
}

async function runScenario(scenario) {
  const entry = {
    name: scenario.id,
    title: scenario.title,
    target: scenario.target ?? null,
    compare: scenario.compare ?? null,
    reload: scenario.needs === 'reload',
    connections: scenario.connections,
    depth: tool.depthFor(scenario),
    durationS: windowS(scenario),
    servers: {},
  };
  results.scenarios.push(entry);
  const all = [...ceilings, ...servers];
  for (const s of all) {
    const why = cannotRun(s, scenario);
    entry.servers[s.name] = {
      unavailable: why === OUTSIDE ? null : why,
      outside: why === OUTSIDE,
      samples: [],
      ...(scenario.compare ? { off: [] } : {}),
    };
  }
  // When no selected tsws server can run it, the scenario is reported as not available.
  const subjects = servers.filter((s) => s.subject && cannotRun(s, scenario) !== OUTSIDE);
  if (subjects.length && !subjects.some((s) => cannotRun(s, scenario) === null)) {
    entry.unavailable = subjects.map((s) => `${s.name}: ${cannotRun(s, scenario)}`).join('; ');
    log(`\n${scenario.id}: not available (${entry.unavailable})`);
    return;
  }
  const runs = all.filter((s) => cannotRun(s, scenario) === null).flatMap((s) => variantsOf(scenario, s));
  const label = (run) => `${run.server.name}${scenario.compare ? (run.accessLog ? ', log on' : ', log off') : ''}`;
  log(
    `\n${scenario.id}: ${scenario.title}, ${scenario.connections} connections, depth ${entry.depth}, ${entry.durationS} s windows`,
  );
  // Single processes start together; multi-process servers one at a time (several booting at
  // once on one core can miss their boot timeouts).
  const started = new Map(
    await Promise.all(
      runs.filter((r) => !r.server.workers).map(async (r) => [r, await startServer(r.server, scenario, r)]),
    ),
  );
  for (const run of runs.filter((r) => r.server.workers))
    started.set(run, await startServer(run.server, scenario, run));
  try {
    for (let round = 0; round < pass.rounds; round++) {
      const order = runs.map((_, i) => runs[(i + round) % runs.length]);
      for (const run of order) {
        const running = started.get(run);
        let sample;
        try {
          if (running.error) throw new Error(running.error);
          sample = await measure(run.server, running, scenario, round === 0);
        } catch (err) {
          sample = { error: err.message.split('\n')[0] };
        }
        entry.servers[run.server.name][run.key].push({ round, ...sample });
        log(`  round ${round + 1} ${label(run).padEnd(28)} ${describe(sample)}`);
      }
    }
  } finally {
    await Promise.all([...started.values()].filter((r) => r.proc).map((r) => stopServer(r.proc)));
  }
}

function describe(s) {
  if (s.error) return `FAILED: ${s.error}`;
  const errors =
    s.errors || s.non2xx
      ? `  errors ${Object.entries(s.errorsBy ?? {})
          .filter(([, n]) => n)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`
      : '';
  const reload =
    s.reloadMs === undefined ? '' : `  reload ${(s.reloadMs / 1000).toFixed(1)} s, ${s.replaced} new workers`;
  return `${Math.round(s.rps).toString().padStart(7)} req/s  ${s.cpuUsPerReq.toFixed(2).padStart(7)} us/req  cpu ${s.cpuPct.toFixed(0)}%  ${tool.name} ${s.toolCpuPct.toFixed(0)}%${errors}${reload}`;
}

/**
 * Idle RSS of each server declaring `memory.idle` (and of a bare node), then, in the full pass,
 * RSS per idle keep-alive connection for each declaring `memory.perConnection`.
 */
async function runMemory() {
  const memory = { connections: CONNECTIONS, rounds: pass.memoryRounds, bare: [], servers: {} };
  const opts = { serverCpu: SERVER_CPU, clientCpu: CLIENT_CPU };
  const idle = servers.filter((s) => s.memory?.idle && !s.unavailable());
  const perConnection = pass.memoryRounds ? servers.filter((s) => s.memory?.perConnection && !s.unavailable()) : [];
  log(
    `\nmemory: idle RSS${perConnection.length ? `, and RSS per idle keep-alive connection at ${CONNECTIONS} connections` : ''}`,
  );
  for (const s of servers.filter((x) => x.memory)) {
    memory.servers[s.name] = {
      unavailable: s.unavailable(),
      workers: s.workers ?? 0,
      idle: [],
      idleLeader: [],
      idleWorker: [],
      perConnection: [],
      heapPerConnection: [],
      perConnectionNoGc: [],
      errors: [],
    };
  }
  // Idle RSS is steady to 0.1 MB from one start to the next: one reading each.
  memory.bare.push((await idleRss(bareNode, opts)).total);
  for (const s of idle) {
    const m = memory.servers[s.name];
    try {
      const { total, leader, worker } = await idleRss(s, opts);
      m.idle.push(total);
      if (worker !== undefined) {
        m.idleLeader.push(leader);
        m.idleWorker.push(worker);
      }
    } catch (err) {
      m.errors.push(err.message.split('\n')[0]);
    }
  }
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  log(
    `  idle RSS: bare node ${mb(memory.bare[0])}, ${idle
      .map((s) => {
        const m = memory.servers[s.name];
        return `${s.name} ${m.idle.length ? mb(m.idle[0]) : 'FAILED'}${m.idleWorker.length ? ` (a worker ${mb(m.idleWorker[0])})` : ''}`;
      })
      .join(', ')}`,
  );
  for (let round = 0; round < pass.memoryRounds; round++) {
    for (const s of perConnection) {
      const m = memory.servers[s.name];
      try {
        const { perConnection, heapPerConnection } = await measureMemory(s, opts);
        // As users run it: no preload, no forced GC, V8's own young-generation sizing.
        const noGc = (await measureMemory(s, opts, { gc: false })).perConnection;
        m.perConnection.push(perConnection);
        m.heapPerConnection.push(heapPerConnection);
        m.perConnectionNoGc.push(noGc);
        log(
          `  round ${round + 1} ${s.name.padEnd(18)} per connection ${(perConnection / 1000).toFixed(2)} kB RSS after a GC (${(heapPerConnection / 1000).toFixed(2)} kB JS heap), ${(noGc / 1000).toFixed(2)} kB RSS without`,
        );
      } catch (err) {
        m.errors.push(err.message.split('\n')[0]);
        log(`  round ${round + 1} ${s.name.padEnd(18)} FAILED: ${m.errors.at(-1)}`);
      }
    }
  }
  results.memory = memory;
}

/**
 * --check: start every server for every scenario and check one answer, no load (seconds); with
 * the access log on where the scenario compares it, and after one reload where it reloads.
 */
async function checkOnly() {
  let failed = 0;
  for (const scenario of scenarios) {
    for (const server of [...ceilings, ...servers]) {
      const why = cannotRun(server, scenario);
      if (why === OUTSIDE) continue;
      let outcome = why ? `not available: ${why}` : 'ok';
      if (!why) {
        const run = await startServer(server, scenario, { accessLog: scenario.compare === 'accessLog' });
        try {
          if (run.error) throw new Error(run.error);
          if (scenario.needs === 'reload') {
            const before = workerPids(run.proc);
            const ms = await server.reload(run.proc);
            const problem = await check(run.port, scenario);
            if (problem) throw new Error(`after the reload: ${problem}`);
            const after = workerPids(run.proc);
            const replaced = [...after].filter((pid) => !before.has(pid)).length;
            if (replaced === 0) throw new Error('the reload replaced no worker');
            outcome = `ok (reload ${(ms / 1000).toFixed(1)} s, ${replaced} new workers)`;
          }
        } catch (err) {
          failed++;
          outcome = `FAILED: ${err.message.split('\n')[0]}`;
        } finally {
          if (run.proc) await stopServer(run.proc);
        }
      }
      log(`${scenario.id.padEnd(18)} ${server.name.padEnd(26)} ${outcome}`);
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
