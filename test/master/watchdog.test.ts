// Each worker's watchdog thread speaks for a blocked event loop: the master's timeout line names
// the request even when the loop stopped before any heartbeat told of it, and a worker left
// blocked by a master that was killed ends itself instead of spinning on for ever.
import { describe, expect, it } from 'vitest';
import { alive } from '../helpers/procfs.mjs';
import { childPids, get, parseLogs, sleep, startMaster, until } from './helpers.js';

describe('the watchdog', () => {
  it('names the request a loop blocked in at once in the timeout line', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1', '--timeout', '1']);
    const blocked = get(`${m.origin}/block-now?ms=60000`).catch((err: Error) => err);
    const line = await m.waitForLog((l) => /timed out/.test(l.msg), 10_000);
    expect(line).toMatchObject({
      level: 50,
      inFlight: 1,
      requests: 1,
      oldest: expect.stringMatching(/^GET \/block-now\?ms=60000 \(\d+\.\d s old\)$/),
      blockedIn: expect.stringMatching(/^GET \/block-now\?ms=60000 \(\d+\.\d s old\)$/),
    });
    expect(await blocked).toBeInstanceOf(Error);
  });

  it('without it (--no-watchdog) the line knows only what the last heartbeat said', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1', '--timeout', '1', '--no-watchdog']);
    void get(`${m.origin}/block-now?ms=60000`).catch(() => {});
    const line = await m.waitForLog((l) => /timed out/.test(l.msg), 10_000);
    expect(line).toMatchObject({ inFlight: 0, requests: 0 });
    expect(line.blockedIn).toBeUndefined();
  });

  it('ends a worker whose loop stays blocked after its master was killed', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1', '--timeout', '2']);
    const [worker] = await childPids(m.pid);
    void get(`${m.origin}/block-now?ms=60000`).catch(() => {});
    await sleep(500);
    m.kill('SIGKILL');
    await m.exited;
    // Its own limit is the master's: --timeout of silence, then it goes (without the watchdog: 60 s).
    await until('the orphan to end', () => !alive(worker!), 15_000);
    const said = parseLogs(m.err()).find((l) => l.pid === worker && l.level === 60);
    expect(said?.msg).toMatch(
      /^the master is gone and the event loop has been blocked for \d+\.\d s \(GET \/block-now\?ms=60000\): exiting$/,
    );
  });
});
