// The master never waits on user code without a bound, and never on its loop: while a reload's
// onReload hook or config file hangs, signals are handled and dead workers replaced; after
// --hook-timeout the hook is abandoned (the reload goes on) or the reload is (its settings were
// never read), and the old workers keep serving.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, get, hup, type RunningMaster, startMaster, tempDir, until } from './helpers.js';

const NEVER = 'new Promise(() => {})';

/** A tsws.config.mjs in `dir`: `settings` as an object literal, after `prelude` (top-level code). */
function writeConfig(dir: string, settings: string, prelude = ''): void {
  writeFileSync(join(dir, 'tsws.config.mjs'), `${prelude}\nexport default { ${settings} };\n`);
}

/** SIGKILLs one worker; resolves once a replacement is ready and the master's port answers. */
async function killAWorker(m: RunningMaster): Promise<void> {
  const pids = await childPids(m.pid);
  process.kill(pids[0]!, 'SIGKILL');
  await m.waitForLog((l) => l.msg === 'worker ready' && !pids.includes(l.workerPid as number));
  expect((await get(`${m.origin}/`)).status).toBe(200);
}

/** HUP while its user code hangs: a worker killed meanwhile is replaced, and TERM stops the master. */
async function hangThenStop(m: RunningMaster): Promise<void> {
  m.kill('SIGHUP');
  await m.waitForLog((l) => l.msg === 'reloading');
  await killAWorker(m);
  m.kill('SIGTERM');
  expect(await m.exited).toEqual({ code: 0, signal: null });
  expect(m.logs().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });
  // All of it while the user code was still running.
  expect(m.logs().filter((l) => /hook-timeout|reload done/.test(l.msg))).toEqual([]);
}

describe('tsws-master and user code that never returns', () => {
  it('an onReload hook that never returns: a killed worker is replaced, and TERM stops the master', async () => {
    const dir = tempDir('hello.mjs');
    writeConfig(dir, `workers: 2, hookTimeout: 60, onReload: () => ${NEVER}`);
    await hangThenStop(await startMaster('hello.mjs', [], { cwd: dir }));
  });

  it('a config file whose import never settles: a killed worker is replaced, and TERM stops the master', async () => {
    const dir = tempDir('hello.mjs');
    writeConfig(dir, 'workers: 2, hookTimeout: 60');
    const m = await startMaster('hello.mjs', [], { cwd: dir });
    writeConfig(dir, 'workers: 2', `await ${NEVER};`);
    await hangThenStop(m);
  });

  it('--hook-timeout: the hook is abandoned, the reload goes on; a config that never loads abandons it', async () => {
    const dir = tempDir('hello.mjs');
    writeConfig(dir, `workers: 1, hookTimeout: 1, onReload: () => ${NEVER}`);
    const m = await startMaster('hello.mjs', [], { cwd: dir });

    expect((await hup(m)).msg).toBe('reload done');
    expect(m.logs().find((l) => l.hook === 'onReload')?.msg).toBe(
      'the onReload hook did not return within --hook-timeout 1 s; carrying on without it',
    );
    const serving = (await get(`${m.origin}/`)).body;

    writeConfig(dir, 'workers: 2', `await ${NEVER};`);
    expect((await hup(m)).msg).toBe(
      'reload abandoned: the settings were not read within --hook-timeout 1 s (does the config file finish ' +
        'loading?); the old workers keep serving',
    );
    expect((await get(`${m.origin}/`)).body).toBe(serving);

    writeConfig(dir, 'workers: 2, hookTimeout: 1');
    expect((await hup(m)).msg).toBe('reload done');
    await until('two workers', async () => (await childPids(m.pid)).length === 2);
  });
});
