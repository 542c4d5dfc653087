import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, get, hup, load, sleep, startMaster, tempDir, until } from './helpers.js';

/** The app's code on disk: its answer names its version. */
const CODE = {
  good: (version: string) => `export default { fetch: () => new Response('${version} ' + process.pid) };\n`,
  throws: () => `throw new Error('broken on purpose');\n`,
  hangs: () => `await new Promise(() => {});\nexport default () => new Response('never');\n`,
};

function writeApp(dir: string, code: string): void {
  writeFileSync(join(dir, 'app.mjs'), code);
}

describe('tsws-master reload (HUP)', () => {
  it('replaces every worker under load, failing no request, refusing no connection; serves the new code', async () => {
    const dir = tempDir();
    writeApp(dir, CODE.good('v1'));
    const m = await startMaster('app.mjs', ['-w', '2', '--graceful-timeout', '5'], { cwd: dir });
    const before = await childPids(m.pid);
    expect(before).toHaveLength(2);
    let stopLoad!: () => void;
    const running = load(`${m.origin}/`, new Promise<void>((r) => (stopLoad = r)), { maxMs: 25_000 });
    await sleep(300);
    writeApp(dir, CODE.good('v2'));
    expect((await hup(m)).msg).toBe('reload done');
    await sleep(300);
    stopLoad();
    const result = await running;
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThan(100);
    expect(result.bodies.get('v1')).toBeGreaterThan(0);
    expect(result.bodies.get('v2')).toBeGreaterThan(0);
    expect((await get(`${m.origin}/`)).body).toMatch(/^v2 /);
    const after = await until('the old workers to exit', async () =>
      (await childPids(m.pid)).length === 2 ? childPids(m.pid) : null,
    );
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  });

  it('abandons a reload onto code that throws or never boots; the old workers serve; a good reload works', async () => {
    const dir = tempDir();
    writeApp(dir, CODE.good('v1'));
    // The config file is read again at each reload: a short boot timeout while the code hangs.
    const config = (bootTimeout: number) =>
      writeFileSync(join(dir, 'tsws.config.json'), JSON.stringify({ workers: 2, bootTimeout }));
    // The first workers get a long one: a loaded machine may take over 2 s to boot them.
    config(30);
    const m = await startMaster('app.mjs', [], { cwd: dir });
    const before = (await childPids(m.pid)).sort();

    for (const [bad, bootTimeout] of [
      [CODE.throws(), 30],
      [CODE.hangs(), 2],
    ] as const) {
      writeApp(dir, bad);
      config(bootTimeout);
      const outcome = await hup(m);
      expect(outcome.msg).toMatch(/^reload abandoned: a new worker could not boot .*the old workers keep serving$/);
      // The failed workers are gone; the old ones answer every request.
      await until('the new workers to be gone', async () => (await childPids(m.pid)).length === 2);
      expect((await childPids(m.pid)).sort()).toEqual(before);
      const answers = await Promise.all(Array.from({ length: 10 }, () => get(`${m.origin}/`)));
      for (const a of answers) expect(a.body).toMatch(/^v1 /);
    }
    expect(m.logs().some((l) => /worker \d+ was not ready within --boot-timeout 2 s/.test(l.msg))).toBe(true);

    writeApp(dir, CODE.good('v4'));
    config(30);
    expect((await hup(m)).msg).toBe('reload done');
    expect((await get(`${m.origin}/`)).body).toMatch(/^v4 /);
  });

  it('--reload replaces the workers when a source file changes', async () => {
    const dir = tempDir();
    writeApp(dir, CODE.good('v1'));
    const m = await startMaster('app.mjs', ['-w', '1', '--reload'], { cwd: dir });
    expect((await get(`${m.origin}/`)).body).toMatch(/^v1 /);
    writeApp(dir, CODE.good('v2'));
    await until('the new code', async () => (await get(`${m.origin}/`)).body.startsWith('v2 '));
    expect(m.logs().find((l) => l.msg === 'reloading')?.why).toBe(`${join(dir, 'app.mjs')} changed`);
  });

  it('reads the config file again: new workers get its new settings', async () => {
    const dir = tempDir('hello.mjs');
    const config = (workers: number, greeting: string) =>
      writeFileSync(
        join(dir, 'tsws.config.mjs'),
        `export default { workers: ${workers}, env: { GREETING: '${greeting}' } };\n`,
      );
    config(1, 'before');
    const m = await startMaster('hello.mjs', [], { cwd: dir });
    expect((await get(`${m.origin}/`)).body).toMatch(/^before /);
    config(2, 'after');
    expect((await hup(m)).msg).toBe('reload done');
    expect((await get(`${m.origin}/`)).body).toMatch(/^after /);
    await until('two workers', async () => (await childPids(m.pid)).length === 2);
  });
});
