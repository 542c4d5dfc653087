// Replacing workers on purpose must cost nothing: 20 reloads (HUP) in a row, and recycling by
// --max-requests, both under continuous load on keep-alive and new connections. Every request
// is accounted for (test/helpers/loadgen.mjs), with no retries: the count of failed requests and
// of refused connections must be exactly zero.
import { describe, expect, it } from 'vitest';
import { describeFate, startLoad } from '../helpers/loadgen.mjs';
import { childPids } from '../helpers/procfs.mjs';
import { hup, until } from '../master/helpers.js';
import { figures, startFaultMaster } from './helpers.js';

const RELOADS = 20;

describe('replacing workers under load loses nothing', () => {
  // One worker, so each reload hands the whole load from one process to the next (and boots half
  // as many processes on a 2-core machine); the soak runs two and more.
  it(`${RELOADS} reloads (HUP) in a row: zero failed requests, zero refused connections`, {
    timeout: 90_000,
  }, async () => {
    const m = await startFaultMaster(['-w', '1', '--graceful-timeout', '5']);
    const first = childPids(m.pid);
    const load = startLoad({ port: m.port, keepAlive: 4, fresh: 2, pauseMs: 1, maxMs: 80_000 });
    await load.answered(100);
    for (let i = 0; i < RELOADS; i++) {
      expect((await hup(m)).msg, `reload ${i + 1}`).toBe('reload done');
    }
    await load.answered(100);
    const result = await load.stop();
    const summary = `${result.sent} requests: ${JSON.stringify(result.counts)}`;
    figures('20 reloads', result, { reloads: RELOADS, lost: result.failed });
    expect(result.failures.map(describeFate), summary).toEqual([]);
    expect(result.counts.refused).toBe(0);
    expect(result.retried).toBe(0);
    // Every generation served: the answers came from many workers, the first ones gone.
    const servers = new Set(load.fates.map((f) => f.pid));
    expect(servers.size, summary).toBeGreaterThanOrEqual(RELOADS);
    await until(
      'every retired worker to exit',
      () => m.logs().filter((l) => /^worker \d+ exited \(exit code 0\)$/.test(l.msg)).length >= RELOADS,
      20_000,
    );
    expect(childPids(m.pid).filter((pid) => first.includes(pid))).toEqual([]);
    expect(
      m
        .logs()
        .filter((l) => l.level >= 50)
        .map((l) => l.msg),
    ).toEqual([]);
  });

  it('--max-requests under load: many workers retired, zero failed requests, zero refused connections', async () => {
    const m = await startFaultMaster([
      '-w',
      '2',
      '--max-requests',
      '150',
      '--max-requests-jitter',
      '50',
      '--timeout',
      '2',
    ]);
    const load = startLoad({ port: m.port, keepAlive: 4, fresh: 2, pauseMs: 1, maxMs: 25_000 });
    const recycled = () => m.logs().filter((l) => /^retiring worker \d+ \(max-requests\)$/.test(l.msg)).length;
    await until('six workers recycled', () => recycled() >= 6, 25_000);
    await load.answered(100);
    const result = await load.stop();
    const summary = `${result.sent} requests: ${JSON.stringify(result.counts)}; ${recycled()} workers recycled`;
    figures('recycling', result, { recycled: recycled(), lost: result.failed });
    expect(result.failures.map(describeFate), summary).toEqual([]);
    expect(result.counts.refused).toBe(0);
    expect(new Set(load.fates.map((f) => f.pid)).size, summary).toBeGreaterThanOrEqual(6);
    expect(
      m
        .logs()
        .filter((l) => l.level >= 50)
        .map((l) => l.msg),
    ).toEqual([]);
  });
});
