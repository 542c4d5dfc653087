import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName, SETTINGS, type Setting, type SettingName } from '@tsws/worker/internal';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/proc.js';
import { childPids, FIXTURES, get, startMaster, tempDir } from './helpers.js';

async function master(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = run('tsws-master', args, { cwd: FIXTURES, env });
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

describe('tsws-master command line', () => {
  it('--help lists every option of the settings table with its env var; --version prints the version', async () => {
    const help = await master(['--help']);
    expect(help.code).toBe(0);
    for (const [name, s] of Object.entries(SETTINGS) as Array<[SettingName, Setting<unknown>]>) {
      if (!s.flags || !s.commands.includes('tsws-master')) continue;
      expect(help.out).toContain(s.flags.match(/--[\w-]+/)![0]);
      if (!s.action) expect(help.out).toContain(envName(name));
    }
    const version = await master(['--version']);
    expect(version).toMatchObject({ code: 0, out: '0.1.0\n' });
  });

  it('a bad setting is one line naming the option and value: exit 2, or 1 with --check-config', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tsws.config.json'), JSON.stringify({ wrokers: 2 }));
    // Each a process of its own: run them side by side.
    const [timeout, checked, env, typo, noApp, bind, fileTypo] = await Promise.all([
      master(['hello.mjs', '--timeout', '-1']),
      master(['hello.mjs', '--check-config', '--workers', 'zero']),
      master(['hello.mjs'], { TSWS_SCHEDULING: 'random' }),
      master(['hello.mjs', '--wrokers', '2']),
      master([]),
      master(['hello.mjs', '-b', 'localhost']),
      master(['hello.mjs', '--chdir', dir, '--check-config']),
    ]);
    expect(timeout).toMatchObject({
      code: 2,
      err: 'tsws-master: error: --timeout: expected a number of seconds >= 0, got "-1"\n',
    });
    expect(checked).toMatchObject({
      code: 1,
      err: 'tsws-master: error: --workers: expected a whole number >= 1, got "zero"\n',
    });
    expect(env).toMatchObject({
      code: 2,
      err: 'tsws-master: error: TSWS_SCHEDULING: expected one of rr, shared, reuseport, got "random"\n',
    });
    expect(typo).toMatchObject({
      code: 2,
      err: "tsws-master: error: unknown option '--wrokers' (did you mean --workers?)\n",
    });
    expect(noApp).toMatchObject({ code: 2, err: expect.stringMatching(/^tsws-master: error: missing APP: /) });
    expect(bind).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^tsws-master: error: --bind: bind "localhost": expected host:port/),
    });
    expect(fileTypo.code).toBe(1);
    expect(fileTypo.err).toMatch(/unknown setting "wrokers" \(did you mean "workers"\?\)/);
  });

  it('--check-config loads the app: 0 when it does, 1 when it does not', async () => {
    const [good, bad] = await Promise.all([
      master(['hello.mjs', '--check-config']),
      master(['throws.mjs', '--check-config']),
    ]);
    expect(good).toMatchObject({
      code: 0,
      out: 'tsws-master: config OK: APP "hello.mjs" is an object with a fetch method, served by worker class tsws\n',
    });
    expect(bad).toMatchObject({ code: 1, err: expect.stringMatching(/this app is broken on purpose/) });
  });

  it('--scheduling reuseport needs Node >= 22.12 and a fixed port', async () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const result = await master(['hello.mjs', '--scheduling', 'reuseport', '-b', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    if (major > 22 || (major === 22 && minor >= 12))
      expect(result.err).toMatch(/bind "127.0.0.1:0" needs a fixed port/);
    else expect(result.err).toMatch(/SO_REUSEPORT needs Node >= 22.12/);
  });

  it('layers settings: defaults < config file < TSWS_* env < TSWS_CMD_ARGS < command line', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'tsws.config.json'),
      JSON.stringify({ workers: 3, timeout: 7, keepAlive: 9, maxRequests: 100, backlog: 100 }),
    );
    const printed = await master(['hello.mjs', '--chdir', dir, '--print-config', '--keep-alive', '11'], {
      TSWS_TIMEOUT: '8',
      TSWS_KEEP_ALIVE: '10',
      TSWS_MAX_REQUESTS: '200',
      TSWS_CMD_ARGS: '--max-requests 300 --keep-alive 12',
    });
    expect(printed.code).toBe(0);
    const settings = JSON.parse(printed.out) as Record<string, unknown>;
    expect(settings).toMatchObject({
      backlog: 100,
      workers: 3,
      timeout: 8,
      maxRequests: 300,
      keepAlive: 11,
      gracefulTimeout: 30,
    });
  });

  it('a config file and the environment reach a running master and its workers', async () => {
    const dir = tempDir('hello.mjs');
    writeFileSync(
      join(dir, 'tsws.config.json'),
      JSON.stringify({ workers: 3, env: { GREETING: 'from-the-config-file' } }),
    );
    const m = await startMaster('hello.mjs', [], { cwd: dir, env: { TSWS_WORKERS: '1' } });
    expect(await childPids(m.pid)).toHaveLength(1);
    expect((await get(`${m.origin}/`)).body).toMatch(/^from-the-config-file /);
  });
});
