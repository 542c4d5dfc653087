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
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  return { child, pid: child.pid, exited, stderr: () => stderr, alive: () => !gone };
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
}

/** The pids of a process group. */
function groupPids(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // Fields after the command (which may hold spaces) start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime stime cutime cstime: a child's time moves to its parent's cutime/cstime when
      // it is reaped, so a worker that exits mid-window still counts.
      if (Number(f[2]) === pgid) pids.push({ pid: Number(name), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
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

/** Resident set size of the group, in KiB. */
export function rssKiB(pgid) {
  let kib = 0;
  for (const { pid } of groupPids(pgid)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
    } catch {
      // exited while we looked
    }
  }
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
