// A worker fails under load (killed by SIGKILL, stuck in a busy loop, an exception thrown in a
// timer): the master replaces it, and the only requests lost are on connections that worker held
// when it failed. Which connections it held is read from the kernel (/proc) at a moment the
// worker cannot accept another: while it is stopped (SIGSTOP) before the kill, while its loop is
// blocked, and from the app's own 'exit' handler as the process ends.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startLoad } from '../helpers/loadgen.mjs';
import { childPids, heldConnections } from '../helpers/procfs.mjs';
import { connect, req } from '../helpers/raw.js';
import { until } from '../master/helpers.js';
import { account, figures, fileOf, newWorkerReady, servedBy, startFaultMaster } from './helpers.js';

/** Half the requests take 150 ms, so a fault always finds some in flight. */
const MIXED = (_client: number, n: number) => (n % 2 ? '/slow?ms=150' : '/');

describe('a worker that fails under load costs only what it held', () => {
  it("SIGKILL: replaced; failures only on the killed worker's connections, none refused", async () => {
    const m = await startFaultMaster(['-w', '2']);
    const workers = childPids(m.pid);
    expect(workers).toHaveLength(2);
    const load = startLoad({ port: m.port, keepAlive: 6, fresh: 2, path: MIXED, maxMs: 20_000 });
    await load.answered(150);

    // Stopped, neither worker can accept: what each holds now is what it holds at the kill.
    for (const pid of workers) process.kill(pid, 'SIGSTOP');
    const held = new Map(workers.map((pid) => [pid, heldConnections(pid, m.port)]));
    const victim = [...held.entries()].sort((a, b) => b[1].size - a[1].size)[0]![0];
    process.kill(victim, 'SIGKILL');
    for (const pid of workers) if (pid !== victim) process.kill(pid, 'SIGCONT');

    const replacement = await newWorkerReady(m, workers);
    const readyAt = load.now();
    await load.answered(150);
    const result = await load.stop();

    const line = m.logs().find((l) => l.workerPid === victim && l.signal === 'SIGKILL');
    expect(line?.msg).toMatch(/was killed by SIGKILL/);
    const { confined, elsewhere, report } = account(result, held.get(victim)!);
    figures('worker SIGKILL', result, {
      held: held.get(victim)!.size,
      confined: confined.length,
      lost: elsewhere.length,
    });
    expect(held.get(victim)!.size, report).toBeGreaterThan(0);
    expect(elsewhere, report).toEqual([]);
    expect(confined.length, report).toBeLessThanOrEqual(held.get(victim)!.size);
    expect(result.counts.refused, report).toBe(0);
    // The replacement serves.
    expect(servedBy(load.fates, [replacement], readyAt), report).toBeGreaterThan(0);
  });

  it('a busy loop: the other worker serves; past --timeout it is replaced; only its connections fail', async () => {
    const m = await startFaultMaster(['-w', '2', '--timeout', '1']);
    const workers = childPids(m.pid);
    const load = startLoad({ port: m.port, keepAlive: 6, fresh: 2, path: MIXED, maxMs: 20_000 });
    await load.answered(150);

    const spinner = await connect(m.port);
    spinner.write(req('GET', '/spin'));
    const marker = await until('a worker to start spinning', () =>
      readdirSync(m.dir).find((f) => f.startsWith('spin-')),
    );
    const victim = Number(marker.slice('spin-'.length));
    const spinningAt = load.now();
    // Its event loop is blocked: it accepts nothing more until it dies.
    const held = heldConnections(victim, m.port);
    const line = await m.waitForLog((l) => l.workerPid === victim && /timed out: silent for/.test(l.msg), 10_000);
    const killedAt = load.now();
    const replacement = await newWorkerReady(m, workers);
    const readyAt = load.now();
    await load.answered(150);
    const result = await load.stop();

    expect(line.level).toBe(50);
    // What it held when its heartbeats stopped: the load's requests in flight then.
    expect(line.inFlight).toBeGreaterThanOrEqual(1);
    const { confined, elsewhere, report } = account(result, held);
    figures('worker busy loop', result, { held: held.size, confined: confined.length, lost: elsewhere.length });
    expect(elsewhere, report).toEqual([]);
    expect(confined.length, report).toBeLessThanOrEqual(held.size);
    expect(result.counts.refused, report).toBe(0);
    // While it spun, the other worker answered.
    const other = workers.filter((pid) => pid !== victim);
    expect(servedBy(load.fates, other, spinningAt, killedAt), report).toBeGreaterThan(0);
    expect(servedBy(load.fates, [replacement], readyAt), report).toBeGreaterThan(0);
  });

  it('an exception in a timer: logged with its stack, exit 1, replaced; failures only on its connections', async () => {
    const m = await startFaultMaster(['-w', '2']);
    const workers = childPids(m.pid);
    const load = startLoad({ port: m.port, keepAlive: 6, fresh: 2, path: MIXED, maxMs: 20_000 });
    await load.answered(150);

    const thrower = await connect(m.port);
    thrower.write(req('GET', '/throw?ms=100'));
    const victim = Number((await thrower.response()).body.toString().split(' ')[1]);
    expect(workers).toContain(victim);
    // Written by the app as the process exits: the connections it held then.
    const exit = await fileOf<{ code: number; sockets: Array<{ localPort: number; remotePort: number }> }>(
      m.dir,
      `exit-${victim}.json`,
    );
    const held = new Set(exit.sockets.filter((s) => s.localPort === m.port).map((s) => s.remotePort));
    const replacement = await newWorkerReady(m, workers);
    const readyAt = load.now();
    await load.answered(150);
    const result = await load.stop();

    // The worker's own log line, JSON like every other, with the stack.
    const fatal = m.logs().find((l) => l.pid === victim && l.level === 60);
    expect(fatal, m.err()).toBeDefined();
    expect(fatal!.msg).toMatch(/uncaught exception/);
    expect((fatal!.err as { stack: string }).stack).toMatch(
      /^Error: thrown in a timer, outside any request\n\s+at Timeout\._onTimeout \(\S+app\.mjs:\d+/,
    );
    expect(exit.code).toBe(1);
    const died = m.logs().find((l) => l.workerPid === victim && l.code === 1);
    expect(died?.msg).toMatch(/^worker \d+ died \(exit code 1\)$/);

    const { confined, elsewhere, report } = account(result, held);
    figures('worker exception in a timer', result, {
      held: held.size,
      confined: confined.length,
      lost: elsewhere.length,
    });
    expect(elsewhere, report).toEqual([]);
    expect(confined.length, report).toBeLessThanOrEqual(held.size);
    expect(result.counts.refused, report).toBe(0);
    expect(servedBy(load.fates, [replacement], readyAt), report).toBeGreaterThan(0);
  });
});
