import { join } from 'node:path';
import { createMaster, EXIT, HaltError, type MasterEvents, SettingError } from '@tsws/master';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/proc.js';
import { FIXTURES, get, tempDir, until } from './helpers.js';

// createMaster() runs in this test process: node:cluster forks the workers from here.
describe('createMaster()', () => {
  it('starts, reports its workers and events, reloads, scales and stops', async () => {
    const port = await freePort();
    const master = createMaster({
      app: join(FIXTURES, 'hello.mjs'),
      workers: 2,
      bind: [`127.0.0.1:${port}`],
      errorLog: join(tempDir(), 'error.log'),
    });
    const events: Array<[keyof MasterEvents, unknown]> = [];
    for (const name of ['worker-ready', 'worker-exit', 'worker-timeout', 'reload', 'stop'] as const)
      master.on(name, (value: unknown) => events.push([name, value]));
    try {
      await master.start();
      expect(master.state).toBe('running');
      expect(master.workers.map((w) => [w.id, w.state]).sort()).toEqual([
        [1, 'ready'],
        [2, 'ready'],
      ]);
      expect(events.filter(([e]) => e === 'worker-ready')).toHaveLength(2);
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);

      const before = master.workers.map((w) => w.pid);
      await master.reload();
      expect(events.find(([e]) => e === 'reload')).toEqual(['reload', { ok: true }]);
      await until('the old workers to exit', () => events.filter(([e]) => e === 'worker-exit').length === 2);
      expect(master.workers.filter((w) => before.includes(w.pid))).toEqual([]);

      master.scale(3);
      await until('a third worker', () => master.workers.filter((w) => w.state === 'ready').length === 3);
      expect(() => master.scale(0)).toThrow(RangeError);
    } finally {
      expect(await master.stop()).toBe(EXIT.OK);
    }
    expect(master.state).toBe('stopped');
    expect(master.workers).toEqual([]);
    expect(events.at(-1)).toEqual(['stop', { code: 0 }]);
  });

  it('rejects start() with a SettingError before any worker starts, or a HaltError with the exit code', async () => {
    const bad = createMaster({ app: join(FIXTURES, 'hello.mjs'), workers: 0 });
    await expect(bad.start()).rejects.toThrow(SettingError);
    await expect(bad.start()).rejects.toThrow(/already called/);
    expect(await bad.done).toBe(EXIT.USAGE);

    const broken = createMaster({
      app: join(FIXTURES, 'throws.mjs'),
      workers: 1,
      bind: [`127.0.0.1:${await freePort()}`],
      errorLog: join(tempDir(), 'error.log'),
    });
    const err = await broken.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HaltError);
    expect((err as HaltError).exitCode).toBe(EXIT.APP_LOAD_ERROR);
    expect(await broken.done).toBe(EXIT.APP_LOAD_ERROR);
  });
});
