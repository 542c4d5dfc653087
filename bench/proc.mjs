// Processes for the bench: start one pinned to a core in its own process group, wait for its
// port, read its CPU time and RSS from /proc (summed over the group, so a master's workers
// count too), and stop it.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second for /proc/PID/stat times (USER_HZ, 100 on common Linux builds). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;

/** Starts `argv` under `taskset -c <cpu>`, detached so the whole group can be signalled. */
export function startPinned(argv, cpu, env = {}) {
  const child = spawn('taskset', ['-c', String(cpu), ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  const watchers = new Set();
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-64_000);
    for (const w of watchers) w(String(d));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  return { child, pid: child.pid, exited, stderr: () => stderr, alive: () => !gone, watchers, cleanup: null };
}

/**
 * Runs a load tool (`argv`) under `taskset -c <cpu>` to its end and resolves with the JSON it
 * printed on a line starting with `@@`; rejects, with all it printed, if there is none.
 */
export function runToolPinned(name, argv, cpu) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /^@@(.*)$/m.exec(out);
      if (!m) reject(new Error(`${name} exited ${code} without a result:\n${out}`));
      else resolve(JSON.parse(m[1]));
    });
  });
}

/**
 * Starts a server definition: `server.command(opts)` returns the argv, or `{ argv, env, cleanup }`
 * when a start needs its own environment and tidying afterwards (PM2's home directory).
 */
export function startServer(server, opts, cpu, env = {}) {
  const made = server.command(opts);
  const { argv, env: own = {}, cleanup = null } = Array.isArray(made) ? { argv: made } : made;
  const proc = startPinned(argv, cpu, { ...server.env, ...own, ...env });
  proc.cleanup = cleanup;
  proc.env = own;
  return proc;
}

/** Resolves with the time (ms) until a line matching `pattern` appears on the server's stderr. */
export function waitForLog(proc, pattern, timeoutMs = 60_000) {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err) => {
      proc.watchers.delete(watch);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(performance.now() - start);
    };
    const watch = (text) => {
      seen = (seen + text).slice(-8000);
      if (pattern.test(seen)) done();
    };
    const timer = setTimeout(
      () => done(new Error(`no ${pattern} in the server's log after ${timeoutMs} ms`)),
      timeoutMs,
    );
    proc.watchers.add(watch);
  });
}

/** Resolves once `port` accepts a connection; rejects if the process exits or time runs out. */
export async function waitForPort(proc, port, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!proc.alive()) throw new Error(`exited before listening: ${proc.stderr().trim() || '(no stderr)'}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`not listening on ${port} after ${timeoutMs} ms`);
}

/**
 * Resolves once the server has logged `count` lines matching `pattern` (each worker of a
 * multi-process server says it is listening: the port may accept before all of them are up).
 */
export async function waitForLogCount(proc, pattern, count, timeoutMs = 30_000) {
  const global = new RegExp(pattern.source, 'g');
  const until = Date.now() + timeoutMs;
  while ((proc.stderr().match(global)?.length ?? 0) < count) {
    if (!proc.alive())
      throw new Error(
        `exited before ${count} workers were listening: ${proc.stderr().trim().split('\n').slice(-3).join(' / ')}`,
      );
    if (Date.now() > until) throw new Error(`fewer than ${count} workers listening after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** SIGTERM to the group, SIGKILL after a grace period. */
export async function stop(proc, graceMs = 2000) {
  if (!proc.alive()) return;
  const signal = (sig) => {
    try {
      process.kill(-proc.pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
  signal('SIGKILL'); // stragglers in the group (workers that outlived their master)
  await proc.cleanup?.();
}

/** The fields of /proc/<pid>/stat after the command (which may hold spaces): f[0] is the state. */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The pids of a process group, with their CPU ticks. */
export function groupPids(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    try {
      const f = statFields(name);
      // utime stime cutime cstime: a child's time moves to its parent's cutime/cstime when
      // it is reaped, so a worker that exits mid-window still counts.
      if (Number(f[2]) === pgid)
        pids.push({ pid: Number(name), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** How many processes the group has. */
export function groupSize(pgid) {
  return groupPids(pgid).length;
}

/** User+system CPU time of the group (with its reaped children), in microseconds. */
export function cpuMicros(pgid) {
  let ticks = 0;
  for (const p of groupPids(pgid)) ticks += p.ticks;
  return (ticks * 1e6) / CLK_TCK;
}

/**
 * User+system CPU time (microseconds) of this process's children that have exited and been
 * reaped: read around a load tool's run, the tool's own CPU time (servers are still running).
 */
export function childCpuMicros() {
  const f = statFields('self');
  return ((Number(f[13]) + Number(f[14])) * 1e6) / CLK_TCK;
}

/** Resident set size of one process, in KiB (0 once it has gone). */
export function processRssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    return 0; // exited while we looked
  }
}

/** Resident set size of the group, in KiB. */
export function rssKiB(pgid) {
  let kib = 0;
  for (const { pid } of groupPids(pgid)) kib += processRssKiB(pid);
  return kib;
}

/** A port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
