import { describe, expect, it } from 'vitest';
import { alive } from '../helpers/procfs.mjs';
import { childPids, get, load, sleep, startMaster, until } from './helpers.js';

describe('tsws-master keeps its workers alive', () => {
  it('replaces a worker killed with SIGKILL while the other keeps serving', async () => {
    const m = await startMaster('hello.mjs', ['-w', '2']);
    const [victim, survivor] = await childPids(m.pid);
    process.kill(victim!, 'SIGKILL');
    // Right away, before any replacement is ready, every request is answered (by the survivor).
    for (let i = 0; i < 10; i++) expect((await get(`${m.origin}/`)).status).toBe(200);
    const line = await m.waitForLog((l) => l.workerPid === victim && l.signal === 'SIGKILL');
    expect(line.msg).toMatch(/was killed by SIGKILL: perhaps out of memory\?/);
    const now = await until('a replacement', async () => {
      const pids = await childPids(m.pid);
      return pids.length === 2 && !pids.includes(victim!) ? pids : null;
    });
    expect(now).toContain(survivor);
    await m.waitForLog((l) => l.msg === 'worker ready' && l.workerPid !== victim && l.workerPid !== survivor);
  });

  it('kills and replaces a worker whose event loop is blocked past --timeout, saying what it was doing', async () => {
    const m = await startMaster('hello.mjs', ['-w', '2', '--timeout', '1']);
    const pids = await childPids(m.pid);
    const blocked = get(`${m.origin}/block?ms=60000`).catch((err: Error) => err);
    const line = await m.waitForLog((l) => /timed out/.test(l.msg), 10_000);
    expect(pids).toContain(line.workerPid);
    expect(line.level).toBe(50);
    expect(line.msg).toMatch(/^worker \d+ \(pid \d+\) timed out: silent for \d+\.\d s/);
    expect(line.inFlight).toBe(1);
    expect(line.oldest).toMatch(/^GET \/block\?ms=60000 \(\d+\.\d s old\)$/);
    // The blocked request's connection dies with its worker; the other worker served meanwhile.
    expect(await blocked).toBeInstanceOf(Error);
    expect((await get(`${m.origin}/`)).status).toBe(200);
    await until('a replacement', async () => {
      const now = await childPids(m.pid);
      return now.length === 2 && !now.includes(line.workerPid as number);
    });
  });

  it('TTIN adds a worker, TTOU retires one, never below one', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1']);
    m.kill('SIGTTIN');
    await until(
      'two workers',
      async () =>
        (await childPids(m.pid)).length === 2 && m.logs().filter((l) => l.msg === 'worker ready').length === 2,
    );
    for (let i = 0; i < 3; i++) {
      m.kill('SIGTTOU');
      await sleep(100);
    }
    const retired = await m.waitForLog((l) => /^retiring worker \d+ \(scale down\)$/.test(l.msg));
    await until('one worker', async () => (await childPids(m.pid)).length === 1);
    await m.waitForLog((l) => l.workerPid === retired.workerPid && l.code === 0);
    expect(
      m
        .logs()
        .filter((l) => /^workers: /.test(l.msg))
        .map((l) => l.msg),
    ).toEqual(['workers: 1 -> 2', 'workers: 2 -> 1']);
    expect((await get(`${m.origin}/`)).status).toBe(200);
  });

  it('recycles workers past --max-requests under load without failing a request', async () => {
    const m = await startMaster('hello.mjs', [
      '-w',
      '2',
      '--max-requests',
      '100',
      '--max-requests-jitter',
      '20',
      '--timeout',
      '2',
    ]);
    // A worker past its limit retires once its replacement is ready.
    const recycled = until(
      'two workers recycled',
      () => m.logs().filter((l) => /^retiring worker \d+ \(max-requests\)$/.test(l.msg)).length >= 2,
      20_000,
    );
    const result = await load(`${m.origin}/`, recycled, { maxMs: 20_000 });
    await recycled;
    expect(result.failures).toEqual([]);
    expect(m.logs().filter((l) => /reached --max-requests; replacing it/.test(l.msg)).length).toBeGreaterThanOrEqual(2);
    const servedBy = new Set(
      m
        .logs()
        .filter((l) => l.msg === 'worker ready')
        .map((l) => l.workerPid),
    );
    expect(servedBy.size).toBeGreaterThanOrEqual(4);
    await until(
      'the retired workers to exit',
      () => m.logs().filter((l) => /^worker \d+ exited/.test(l.msg) && l.code === 0).length >= 2,
    );
  });

  it('replaces a worker past --max-worker-lifetime or --max-worker-memory, the replacement first', async () => {
    const [lifetime, memory] = await Promise.all([
      startMaster('hello.mjs', ['-w', '1', '--max-worker-lifetime', '1', '--timeout', '2']),
      startMaster('hello.mjs', ['-w', '1', '--max-worker-memory', '1', '--timeout', '2']),
    ]);
    for (const [m, limit] of [
      [lifetime, 'max-worker-lifetime'],
      [memory, 'max-worker-memory'],
    ] as const) {
      const first = m.logs().find((l) => l.msg === 'worker started')!.workerPid;
      const marked = await m.waitForLog((l) => l.msg === `worker 1 reached --${limit}; replacing it`);
      expect(marked.workerPid).toBe(first);
      // It retires only once its replacement is ready.
      await m.waitForLog((l) => l.msg === `retiring worker 1 (${limit})`);
      expect(m.logs().filter((l) => l.msg === 'worker ready').length).toBeGreaterThanOrEqual(2);
      await m.waitForLog((l) => l.workerPid === first && l.code === 0);
      expect((await get(`${m.origin}/`)).status).toBe(200);
    }
  });

  it('workers leave by themselves when the master is killed', async () => {
    const m = await startMaster('hello.mjs', ['-w', '2']);
    const pids = await childPids(m.pid);
    m.kill('SIGKILL');
    await m.exited;
    await until('the orphaned workers to exit', () => pids.every((pid) => !alive(pid)), 10_000);
  });
});
