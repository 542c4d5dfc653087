// tsws-master in a container, as far as this machine can make one without Docker (as root): PID 1
// of a new PID namespace (`unshare --pid --fork --mount-proc`), under tini as a container's init,
// and in cgroups with a CPU quota or a memory limit.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCgroup } from '../helpers/cgroup.js';
import { freePort, run } from '../helpers/proc.js';
import { childPids } from '../helpers/procfs.mjs';
import { get, parseLogs, type RunningMaster, sleep, startMaster, tempDir, until } from './helpers.js';

const NEW_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc'];

function needRoot(): void {
  expect(process.getuid?.(), 'these tests make PID namespaces and cgroups: run them as root (CI does)').toBe(0);
}

/** The one child of `pid` (unshare's forked child, tini's child: the next process down). */
async function onlyChild(pid: number): Promise<number> {
  return until(`the child of ${pid}`, () => {
    const children = childPids(pid);
    return children.length === 1 ? children[0] : null;
  });
}

function stat(pid: number): { name: string; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return {
      name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
      state: text.slice(text.lastIndexOf(')') + 2)[0]!,
    };
  } catch {
    return null;
  }
}

/** Children of `pid` (host pids) that are not the master's workers, with their state. */
function strangers(pid: number, workers: number[]): Array<{ pid: number; name: string; state: string }> {
  return childPids(pid)
    .filter((p) => !workers.includes(p))
    .map((p) => ({ pid: p, ...stat(p)! }))
    .filter((p) => p.name !== undefined);
}

async function startCtl(socket: string, ...command: string[]): Promise<string> {
  const p = run('tsws-ctl', ['--control-socket', socket, '--json', ...command]);
  const { code } = await p.exited;
  expect(code, p.err()).toBe(0);
  return p.out();
}

describe('tsws-master in a container', () => {
  it('as PID 1: says so, never takes an orphan for a worker, and stops on TERM with exit code 0', async () => {
    needRoot();
    const socket = join(tempDir(), 'ctl.sock');
    const m: RunningMaster = await startMaster('ops.mjs', ['-w', '2', '--control-socket', socket], {
      prefix: NEW_PID_NAMESPACE,
    });
    expect(m.logs().find((l) => String(l.msg).startsWith('running as PID 1'))).toMatchObject({
      pid: 1,
      msg: expect.stringContaining('orphaned processes are left to the kernel'),
    });
    const master = await onlyChild(m.pid); // the master's pid out here (1 in its namespace)
    const workers = childPids(master);
    expect(workers).toHaveLength(2);

    // The app starts a shell that leaves a `sleep` behind: it is re-parented to PID 1, the master.
    const answer = (await get(`${m.origin}/orphan`)).body;
    expect(answer).toMatch(/^orphan \d+ \d+$/);
    const orphan = await until('the orphan under the master', () =>
      strangers(master, workers).find((p) => p.name === 'sleep'),
    );
    // It exits after two seconds. Node cannot wait for a process it did not start, so it stays a
    // zombie (the reason to run under tini, below); the master neither counts nor restarts it.
    await until('the orphan to exit', () => stat(orphan.pid)?.state === 'Z');
    await sleep(500);
    const shown = JSON.parse(await startCtl(socket, 'show', 'workers')) as Array<{ pid: number; state: string }>;
    expect(shown.map((w) => w.state)).toEqual(['ready', 'ready']);
    expect(
      childPids(master)
        .filter((p) => p !== orphan.pid)
        .sort(),
    ).toEqual([...workers].sort());
    expect(m.logs().filter((l) => /died|exited|could not boot/.test(String(l.msg)))).toEqual([]);
    expect((await get(`${m.origin}/`)).status).toBe(200);

    process.kill(master, 'SIGTERM');
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(m.logs().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });
  });

  it('under tini as PID 1 (docker run --init): orphans are reaped, and TERM reaches the master', async () => {
    needRoot();
    const m = await startMaster('ops.mjs', ['-w', '2', '--no-control-socket'], {
      prefix: [...NEW_PID_NAMESPACE, 'tini', '--'],
    });
    const tini = await onlyChild(m.pid);
    expect(stat(tini)?.name).toBe('tini');
    const master = await onlyChild(tini);
    expect(m.logs().find((l) => String(l.msg).startsWith('running as PID 1'))).toBeUndefined();
    const [, orphanNs] = (await get(`${m.origin}/orphan`)).body.split(' ');
    expect(Number(orphanNs)).toBeGreaterThan(1);
    const orphan = await until('the orphan under tini', () =>
      strangers(tini, [master]).find((p) => p.name === 'sleep'),
    );
    // tini waits for it when it exits: gone, not a zombie.
    await until('the orphan to be reaped', () => stat(orphan.pid) === null, 10_000);
    process.kill(tini, 'SIGTERM'); // what `docker stop` does: tini passes it on
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(m.logs().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });
  });

  it('as PID 1, an app that cannot load exits once with code 4, without a crash loop', async () => {
    needRoot();
    // A failed start shows only its failure on stderr; the error log holds the whole story.
    const log = join(tempDir(), 'error.log');
    const m = await startMaster('throws.mjs', ['-w', '2', '--no-control-socket', '--error-log', log], {
      prefix: NEW_PID_NAMESPACE,
      wait: false,
    });
    expect(await m.exited).toEqual({ code: 4, signal: null });
    const logs = parseLogs(readFileSync(log, 'utf8')).filter((l) => l.pid === 1);
    expect(logs.filter((l) => l.msg === 'worker started')).toHaveLength(2);
    expect(logs.filter((l) => l.level === 60)).toHaveLength(1);
    expect(logs.at(-1)).toMatchObject({ msg: 'stopped', exitCode: 4 });
  });

  it('starts one worker per CPU it may use: the CPU affinity, capped by the cgroup CPU quota', async () => {
    needRoot();
    const workersOf = async (prefix: string[] | undefined) => {
      const m = await startMaster('ops.mjs', ['--no-control-socket'], prefix ? { prefix } : {});
      const n = m.logs().find((l) => l.msg === 'starting')?.workers;
      m.kill('SIGINT');
      await m.exited;
      return n;
    };
    expect(await workersOf(undefined)).toBe(os.availableParallelism());
    expect(os.availableParallelism(), 'this test needs 2 CPUs or more').toBeGreaterThanOrEqual(2);
    // A container's --cpus=1.5: one worker (whole CPUs, rounded down).
    expect(await workersOf(makeCgroup({ cpus: 1.5 }).prefix)).toBe(1);
    // docker --cpuset-cpus=0: the affinity.
    expect(await workersOf(['taskset', '-c', '0'])).toBe(1);
  });

  it('with --max-worker-memory auto under a memory limit, replaces a worker before it outgrows its share', async () => {
    needRoot();
    const limit = 1024 * 1024 * 1024;
    const metrics = await freePort();
    const m = await startMaster('ops.mjs', ['-w', '2', '--metrics-bind', `127.0.0.1:${metrics}`], {
      prefix: makeCgroup({ memoryBytes: limit }).prefix,
    });
    const share = Math.floor((limit * 0.9) / 2);
    expect(m.logs().find((l) => String(l.msg).startsWith('--max-worker-memory auto'))).toMatchObject({
      memoryLimit: limit,
      maxWorkerMemory: share,
      msg: '--max-worker-memory auto: 461 MiB per worker (90% of the 1024 MiB memory limit over 2 workers)',
    });
    const grown = (await get(`${m.origin}/grow?mb=500`)).body;
    const pid = Number(grown.split(' ')[2]);
    await m.waitForLog(
      (l) => l.msg === `worker ${l.worker} reached --max-worker-memory; replacing it` && l.workerPid === pid,
    );
    await until('the big worker to be gone', () => !childPids(m.pid).includes(pid));
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toContain('tsws_worker_respawns_total{cause="max-memory"} 1');
  });
});
