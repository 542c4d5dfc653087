#!/usr/bin/env node
// Where a server's time goes, per request (or per connection, on Connection: close): the same
// load as the bench (a scenario of bench/scenarios, wrk pinned to core 1, the server to core 0),
// measured in separate windows, each on a fresh server, because each probe costs time of its own:
//   cpu       CPU time per request (/proc), nothing attached
//   alloc     JS heap bytes allocated per request and GCs per 10k requests (V8's GC profiler)
//   heap      where those bytes are allocated (V8's sampling heap profiler, collected garbage kept)
//   profile   a CPU profile of the window: self time by JS function and by who owns the code
//   syscalls  syscalls per request: the total from perf's raw_syscalls tracepoint (cheap), then
//             the split from `strace -c -f` (which slows the server: counts only, not times)
//   perf      `perf record -g` (the server with --perf-basic-prof): self time by where the code
//             lives (kernel, libuv, Node's C++, V8, GC, JIT'd JS by file), and folded stacks
// Node-only probes skip servers that are not Node (nginx). Writes bench/results/anatomy-node<N>
// .md and .json (`--name` for another name); folded stacks (flame graphs: speedscope, inferno, flamegraph.pl) and profiles
// go to bench/results/profiles/anatomy/ (not committed).
//
//   node bench/anatomy.mjs [--scenarios hello-keepalive,connection-close,pipelined-16]
//     [--servers "tsws core,Node socket ceiling,node:http,nginx ceiling"] [--measure cpu,alloc,...]
//     [--duration 5] [--warm 3] [--rounds 5] [--name anatomy]  (results/<name>-node<major>)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDir } from './defs.mjs';
import wrk from './load/wrk.mjs';
import { cpuMicros, freePort, groupPids, startServer, stop, waitForPort } from './proc.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const PROBE = fileURLToPath(new URL('./anatomy/probe.mjs', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const PROFILES = join(RESULTS, 'profiles', 'anatomy');
const MEASURES = ['cpu', 'alloc', 'heap', 'profile', 'syscalls', 'perf'];

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'hello-keepalive,connection-close,pipelined-16' },
    servers: { type: 'string', default: 'tsws core,Node socket ceiling,node:http,nginx ceiling' },
    measure: { type: 'string', default: MEASURES.join(',') },
    duration: { type: 'string', default: '5' },
    // CPU per request is the median of this many windows, the servers in a rotated order each round.
    rounds: { type: 'string', default: '5' },
    name: { type: 'string', default: 'anatomy' },
    // Long enough for V8 to finish compiling the hot code (llhttp's WASM tiers up too).
    warm: { type: 'string', default: '3' },
  },
});
const durationS = Number(args.duration);
const warmS = Number(args.warm);
const rounds = Number(args.rounds);
const measures = args.measure.split(',');
for (const m of measures) if (!MEASURES.includes(m)) throw new Error(`unknown --measure ${m} (${MEASURES.join(', ')})`);

const all = [
  ...(await loadDir('./servers')),
  ...(await loadDir('./ceilings')),
  ...(await import('./anatomy/responders.mjs')).default,
];
const servers = args.servers.split(',').map((name) => {
  const s = all.find((x) => x.name === name || x.id === name);
  if (!s) throw new Error(`no server "${name}" (${all.map((x) => x.name).join(', ')})`);
  return s;
});
const scenarios = await Promise.all(
  args.scenarios.split(',').map(async (id) => ({
    id,
    name: id,
    ...(await import(new URL(`./scenarios/${id}.mjs`, import.meta.url))).default,
  })),
);

const log = (msg) => process.stderr.write(`${msg}\n`);
const isNode = (argv) => argv[0] === process.execPath;

/** Starts `server` pinned, with Node flags and env for a probe when it is a Node program. */
async function start(server, scenario, flags = [], env = {}) {
  const port = await freePort();
  const def = {
    ...server,
    command: (o) => {
      const made = server.command(o);
      const argv = Array.isArray(made) ? made : made.argv;
      const withFlags = isNode(argv) ? [argv[0], ...flags, ...argv.slice(1)] : argv;
      return Array.isArray(made) ? withFlags : { ...made, argv: withFlags };
    },
  };
  const proc = startServer(def, { port, scenario }, SERVER_CPU, env);
  await waitForPort(proc, port);
  return { proc, port };
}

function nodeProgram(server, scenario) {
  const made = server.command({ port: 0, scenario });
  return isNode(Array.isArray(made) ? made : made.argv);
}

const load = (port, scenario, seconds) =>
  wrk.run({ port, scenario, connections: scenario.connections, durationS: seconds, cpu: CLIENT_CPU });

/** Warm-up, then one measured window; `around` starts whatever watches it and returns its stop(). */
async function window(port, scenario, around = async () => () => null) {
  await load(port, scenario, warmS);
  const finish = await around();
  const r = await load(port, scenario, durationS);
  return { requests: r.requests, rps: r.requests / r.seconds, seen: await finish(r) };
}

const pidsOf = (proc) => groupPids(proc.pid).map((p) => p.pid);

async function measureCpu(server, scenario) {
  const { proc, port } = await start(server, scenario);
  try {
    let before = 0;
    const w = await window(port, scenario, async () => {
      before = cpuMicros(proc.pid);
      return async () => cpuMicros(proc.pid) - before;
    });
    return { rps: w.rps, cpuUs: w.seen / w.requests };
  } finally {
    await stop(proc);
  }
}

/** A probe window: SIGURG to the server's Node process opens it and closes it (anatomy/probe.mjs). */
async function measureProbe(server, scenario, what) {
  const out = join(tmpdir(), `tsws-anatomy-${process.pid}-${what}.json`);
  rmSync(out, { force: true });
  const { proc, port } = await start(server, scenario, [`--import=${PROBE}`], {
    TSWS_PROBE: what,
    TSWS_PROBE_OUT: out,
  });
  try {
    const w = await window(port, scenario, async () => {
      process.kill(proc.pid, 'SIGURG');
      await sleep(200); // the probe's start is asynchronous (the inspector)
      return async () => {
        process.kill(proc.pid, 'SIGURG');
        for (let i = 0; i < 100; i++) {
          try {
            return JSON.parse(readFileSync(out, 'utf8'));
          } catch {
            await sleep(100);
          }
        }
        throw new Error(`${server.name}: the probe wrote nothing`);
      };
    });
    return { requests: w.requests, ...w.seen };
  } finally {
    await stop(proc);
    rmSync(out, { force: true });
  }
}

/** Runs a watcher (perf, strace) on the server's processes for the window; resolves with its output file. */
function attach(argv, file) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('close', resolve));
  return async () => {
    child.kill('SIGINT');
    await exited;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new Error(`${argv[0]} wrote nothing: ${err.trim()}`);
    }
  };
}

async function measureSyscalls(server, scenario) {
  const file = join(tmpdir(), `tsws-anatomy-${process.pid}.syscalls`);
  const { proc, port } = await start(server, scenario);
  try {
    const pidArgs = () => pidsOf(proc).flatMap((p) => ['-p', String(p)]);
    // perf stat counts every syscall of every thread with a tracepoint: cheap enough not to skew.
    const counted = await window(port, scenario, async () => {
      const done = attach(
        ['perf', 'stat', '-x', ',', '-e', 'raw_syscalls:sys_enter', '-o', file, '-p', pidsOf(proc).join(',')],
        file,
      );
      await sleep(200);
      return done;
    });
    const total = Number(/^(\d+),/m.exec(counted.seen)?.[1] ?? Number.NaN);
    const traced = await window(port, scenario, async () => {
      const done = attach(['strace', '-c', '-f', '-q', '-o', file, ...pidArgs()], file);
      await sleep(300);
      return done;
    });
    const calls = {};
    for (const line of traced.seen.split('\n')) {
      // % time, seconds, usecs/call, calls, [errors], syscall
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/.exec(line);
      if (m && m[3] !== 'total') calls[m[3]] = { calls: Number(m[1]), errors: Number(m[2] ?? 0) };
    }
    return { total: total / counted.requests, tracedRequests: traced.requests, calls };
  } finally {
    await stop(proc);
    rmSync(file, { force: true });
  }
}

/** Where a perf sample's code lives, from its leaf frame (self time); kernel time by the syscall it serves. */
function perfOwner(frames) {
  const { sym, dso } = frames[0];
  const file = dso.split('/').pop();
  if (file.startsWith('[kernel')) {
    // The syscall's handler is the frame do_syscall_64 called (x64_sys_call in between on newer kernels).
    let at = frames.findIndex((f) => f.sym === 'do_syscall_64') - 1;
    if (frames[at]?.sym === 'x64_sys_call') at--;
    const call = at >= 0 ? frames[at].sym.replace(/^(__x64_sys_|__ia32_sys_|__do_sys_|__sys_|ksys_|do_)/, '') : null;
    return `kernel: ${call ?? 'no syscall (interrupts, softirq, scheduler)'}`;
  }
  if (/wasm-function|wasm-to-js|js-to-wasm/.test(sym)) return 'WASM (llhttp)';
  if (/^perf-\d+\.map$/.test(file) || /^(JS|LazyCompile|Function|Builtin|Stub|RegExp|Eval|Script):/.test(sym))
    return jsOwner(sym);
  if (/^(libc|ld-linux|libstdc\+\+|libm|libpthread)[.-]/.test(file)) return 'libc';
  if (/^uv_|^uv__/.test(sym)) return 'libuv';
  if (/compiler::|[Mm]aglev|[Tt]urboshaft|wasm::|Compile|Parser|Scanner|Bytecode/.test(sym)) return 'V8 compiler';
  if (/Heap|Scaveng|MarkCompact|Sweep|Marking|Evacuat|GC|Minor|Concurrent/.test(sym)) return 'V8 GC';
  if (/^Builtins_/.test(sym)) return 'V8 builtins';
  if (/^node::/.test(sym)) return "Node's C++";
  if (/v8::|Runtime_/.test(sym)) return 'V8 runtime';
  return file === 'nginx' ? 'nginx' : `other (${file})`;
}

/** Who owns a JS function, by its script: tsws, the app, Node's own JS library. */
function jsOwner(where) {
  if (/packages\/core\/(dist|src)/.test(where)) return 'JS: tsws core';
  if (/packages\/worker/.test(where)) return 'JS: tsws worker';
  if (/bench\/|examples\//.test(where)) return 'JS: app or responder';
  if (/node:|internal\//.test(where)) return "JS: Node's library";
  return 'JS: other';
}

async function measurePerf(server, scenario, folded) {
  const file = join(tmpdir(), `tsws-anatomy-${process.pid}.perf`);
  // --perf-basic-prof turns V8's logger on: its log goes nowhere, not into the working directory.
  const flags = ['--perf-basic-prof', '--logfile=/dev/null', '--no-logfile-per-isolate'];
  const { proc, port } = await start(server, scenario, flags);
  const pids = pidsOf(proc);
  try {
    const w = await window(port, scenario, async () => {
      const done = attach(['perf', 'record', '-F', '4999', '-g', '-o', file, '-p', pids.join(',')], file);
      await sleep(300);
      return async () => {
        await done().catch(() => null); // perf.data is binary: only its presence matters
        return true;
      };
    });
    await stop(proc); // the JIT symbol map is complete once the process is gone
    const script = spawnSync('perf', ['script', '-i', file, '-F', 'ip,sym,dso'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    }).stdout;
    const owners = {};
    const symbols = {};
    const stacks = new Map();
    let total = 0;
    for (const block of script.split('\n\n')) {
      const frames = block
        .split('\n')
        .map((l) => /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(l))
        .filter(Boolean)
        .map((m) => ({ sym: m[1].replace(/\+0x[0-9a-f]+$/, ''), dso: m[2] }));
      if (!frames.length) continue;
      total++;
      const owner = perfOwner(frames);
      owners[owner] = (owners[owner] ?? 0) + 1;
      const leaf = frames[0].sym
        .replace(/^(JS|LazyCompile):[*~^+]?/, '')
        .replace(/file:\/\/\S*\/(packages|bench|examples)\//, '$1/');
      symbols[leaf] = (symbols[leaf] ?? 0) + 1;
      const key = frames
        .reverse()
        .map((f) => f.sym.replace(/;/g, ':'))
        .join(';');
      stacks.set(key, (stacks.get(key) ?? 0) + 1);
    }
    mkdirSync(PROFILES, { recursive: true });
    writeFileSync(folded, [...stacks].map(([k, n]) => `${k} ${n}`).join('\n'));
    const top = Object.entries(symbols)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 40);
    return { requests: w.requests, samples: total, owners, symbols: Object.fromEntries(top) };
  } finally {
    await stop(proc);
    rmSync(file, { force: true });
    for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}

/** A CPU profile's self time by owner and by function (V8's view: native calls count to the JS that made them). */
function foldProfile(profile, folded) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const owners = {};
  const functions = {};
  const lines = [];
  let total = 0;
  for (const [id, n] of hits) {
    const node = byId.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') continue;
    total += n;
    const owner = url
      ? jsOwner(url)
      : name.startsWith('(')
        ? name === '(garbage collector)'
          ? 'V8 GC'
          : 'native, outside JS'
        : 'native, called from JS';
    owners[owner] = (owners[owner] ?? 0) + n;
    const fn =
      `${name} ${url ? `${url.replace(/^.*\/(packages|bench|examples)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    functions[fn] = (functions[fn] ?? 0) + n;
    const stack = [];
    for (let at = id; at !== undefined; at = parent.get(at))
      stack.push(byId.get(at).callFrame.functionName || '(anonymous)');
    lines.push(`${stack.reverse().join(';')} ${n}`);
  }
  writeFileSync(folded, lines.join('\n'));
  return { samples: total, owners, functions };
}

/** Allocation sites from a sampling heap profile: bytes by function. */
function heapSites(profile) {
  const out = {};
  const walk = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (node.selfSize) {
      const fn =
        `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(packages|bench|examples)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
      out[fn] = (out[fn] ?? 0) + node.selfSize;
    }
    for (const c of node.children ?? []) walk(c);
  };
  walk(profile.head);
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const results = {
  node: process.version,
  startedAt: new Date().toISOString(),
  durationS,
  warmS,
  rounds,
  scenarios: [],
};
for (const scenario of scenarios) {
  const entry = { id: scenario.id, title: scenario.title, connections: scenario.connections, servers: {} };
  results.scenarios.push(entry);
  const live = servers.filter((server) => {
    const why = server.unavailable?.();
    entry.servers[server.name] = why ? { unavailable: why } : {};
    return !why;
  });
  // CPU per request first: rounds over every server in turn, so the noise they share spreads evenly.
  if (measures.includes('cpu')) {
    const samples = new Map(live.map((s) => [s, []]));
    for (let round = 0; round < rounds; round++) {
      for (const server of live.map((_, i) => live[(i + round) % live.length])) {
        try {
          samples.get(server).push(await measureCpu(server, scenario));
        } catch (err) {
          log(`${scenario.id} ${server.name}: cpu FAILED: ${err.message.split('\n')[0]}`);
        }
      }
    }
    for (const [server, xs] of samples) {
      entry.servers[server.name].cpu = xs.length
        ? { rps: median(xs.map((x) => x.rps)), cpuUs: median(xs.map((x) => x.cpuUs)), rounds: xs.map((x) => x.cpuUs) }
        : { error: 'every round failed' };
    }
    log(`${scenario.id}: cpu done`);
  }
  for (const server of live) {
    const node = nodeProgram(server, scenario);
    const m = entry.servers[server.name];
    const slug = `${scenario.id}-${server.name.replace(/[^\w.-]+/g, '_')}-node${process.versions.node.split('.')[0]}`;
    for (const what of measures) {
      if (what === 'cpu' || (!node && ['alloc', 'heap', 'profile'].includes(what))) continue;
      try {
        if (what === 'alloc') m.alloc = await measureProbe(server, scenario, 'alloc');
        if (what === 'heap') {
          const r = await measureProbe(server, scenario, 'heap');
          m.heap = { requests: r.requests, sites: heapSites(r.heap) };
        }
        if (what === 'profile') {
          const r = await measureProbe(server, scenario, 'profile');
          mkdirSync(PROFILES, { recursive: true });
          writeFileSync(join(PROFILES, `${slug}.cpuprofile`), JSON.stringify(r.profile));
          m.profile = foldProfile(r.profile, join(PROFILES, `${slug}.cpuprofile.folded`));
        }
        if (what === 'syscalls') m.syscalls = await measureSyscalls(server, scenario);
        if (what === 'perf') m.perf = await measurePerf(server, scenario, join(PROFILES, `${slug}.perf.folded`));
        log(`${scenario.id} ${server.name}: ${what} done`);
      } catch (err) {
        m[what] = { error: err.message.split('\n')[0] };
        log(`${scenario.id} ${server.name}: ${what} FAILED: ${m[what].error}`);
      }
    }
  }
}

const base = join(RESULTS, `${args.name}-node${process.versions.node.split('.')[0]}`);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${base}.md`, (await import('./anatomy/report.mjs')).markdown(results));
log(`wrote ${base}.json, ${base}.md`);
