// The master stopped under load. SIGTERM: every request in flight is answered, then the master
// exits 0 within --graceful-timeout. SIGKILL (nothing runs in the master): its workers notice
// the IPC channel close, answer what they hold and exit by themselves, leaving no process of
// the master's process group behind. The load stops sending at the signal; requests sent before
// it must all be answered.
import { describe, expect, it } from 'vitest';
import { describeFate, startLoad } from '../helpers/loadgen.mjs';
import { childPids, processGroup } from '../helpers/procfs.mjs';
import { until } from '../master/helpers.js';
import { figures, startFaultMaster } from './helpers.js';

/** Half the requests take a second: a stop always finds several in flight. */
const SLOW = (_client: number, n: number) => (n % 2 ? '/slow?ms=1000' : '/');
const GRACEFUL_TIMEOUT_S = 10;

/** Processes of the group still running (an exited one not yet reaped is `Z`). */
const running = (pgid: number) => processGroup(pgid).filter((p) => p.state !== 'Z');

describe('the master stopped under load', () => {
  it('SIGTERM: every request in flight is answered, then a clean exit (0) within --graceful-timeout', async () => {
    const m = await startFaultMaster(['-w', '2', '--graceful-timeout', String(GRACEFUL_TIMEOUT_S)]);
    const load = startLoad({ port: m.port, keepAlive: 6, fresh: 2, path: SLOW, maxMs: 30_000 });
    await load.answered(30);
    const termAt = load.now();
    const t0 = Date.now();
    m.kill('SIGTERM');
    const result = await load.stop();
    const exit = await m.exited;
    const tookMs = Date.now() - t0;

    const before = load.fates.filter((f) => f.sent < termAt);
    const inFlight = before.filter((f) => f.ended > termAt);
    const summary =
      `${inFlight.length} requests in flight at TERM; ` + `${result.sent} in all: ${JSON.stringify(result.counts)}`;
    figures('master SIGTERM', result, {
      inFlight: inFlight.length,
      lost: before.filter((f) => f.outcome !== 'ok').length,
      exitMs: tookMs,
    });
    expect(before.filter((f) => f.outcome !== 'ok').map(describeFate), summary).toEqual([]);
    expect(inFlight.length, summary).toBeGreaterThanOrEqual(3);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(GRACEFUL_TIMEOUT_S * 1000);
    expect(m.logs().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });
    expect(running(m.pid)).toEqual([]);
  });

  it('SIGKILL: the workers answer what they hold and exit by themselves; no orphan is left', async () => {
    const m = await startFaultMaster(['-w', '2', '--graceful-timeout', String(GRACEFUL_TIMEOUT_S)]);
    const workers = childPids(m.pid);
    const load = startLoad({ port: m.port, keepAlive: 6, fresh: 2, path: SLOW, maxMs: 30_000 });
    await load.answered(30);
    const killAt = load.now();
    m.kill('SIGKILL');
    const result = await load.stop();
    expect(await m.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The master's process group is everything it started (the test spawned it as a group leader).
    await until("no process of the master's group to be left", () => running(m.pid).length === 0, 10_000);

    const before = load.fates.filter((f) => f.sent < killAt);
    const inFlight = before.filter((f) => f.ended > killAt);
    const summary =
      `${inFlight.length} requests in flight at the kill; ` + `${result.sent} in all: ${JSON.stringify(result.counts)}`;
    figures('master SIGKILL', result, {
      inFlight: inFlight.length,
      lost: before.filter((f) => f.outcome !== 'ok').length,
    });
    expect(before.filter((f) => f.outcome !== 'ok').map(describeFate), summary).toEqual([]);
    expect(inFlight.length, summary).toBeGreaterThanOrEqual(3);
    // Each worker said why it stopped.
    for (const pid of workers)
      expect(m.logs().find((l) => l.pid === pid && l.msg === 'draining')).toMatchObject({ why: 'parent gone' });
  });
});
