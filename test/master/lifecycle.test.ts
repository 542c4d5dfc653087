import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, run } from '../helpers/proc.js';
import { connect, req } from '../helpers/raw.js';
import { childPids, FIXTURES, get, hup, sleep, startMaster, tempDir, until } from './helpers.js';

describe('tsws-master from start to stop', () => {
  it('writes its pid file, runs the hooks in order; TERM finishes requests, closes keep-alive, exits 0', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'master.pid');
    const hookLog = join(dir, 'hooks.log');
    const m = await startMaster('hello.mjs', ['-c', join(FIXTURES, 'hooks.config.mjs'), '-p', pidFile], {
      env: { HOOK_LOG: hookLog },
    });
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(m.pid));
    // Both workers answer.
    const pids = new Set<string>();
    await until(
      'both workers to answer',
      async () => pids.add((await get(`${m.origin}/`)).body.split(' ')[1]!).size === 2,
    );

    expect((await hup(m)).msg).toBe('reload done');

    // In flight at TERM: two slow requests, one on a keep-alive connection.
    const slow = [get(`${m.origin}/slow?ms=1500`), get(`${m.origin}/slow?ms=1500`)];
    const c = await connect(m.port);
    c.write(req('GET', '/slow?ms=1500'));
    await sleep(400);
    m.kill('SIGTERM');
    for (const r of await Promise.all(slow))
      expect(r).toMatchObject({ status: 200, body: expect.stringMatching(/^slow /) });
    const kept = await c.response({ timeoutMs: 5000 });
    expect(kept.status).toBe(200);
    expect(kept.header('connection')).toBe('close');
    await c.closed();
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
    expect(m.logs().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });

    const hooks = readFileSync(hookLog, 'utf8').trim().split('\n');
    const sorted = (lines: string[]) => [...lines].sort();
    // Starting: onStarting, two forks, whenReady; reload: onReload, two forks, two old workers exit;
    // stop: two exits, onExit.
    expect(hooks[0]).toBe('onStarting starting');
    expect(sorted(hooks.slice(1, 3))).toEqual(['postFork 1', 'postFork 2']);
    expect(hooks[3]).toBe('whenReady 2');
    expect(hooks[4]).toBe('onReload');
    expect(hooks.filter((h) => h.startsWith('postFork'))).toHaveLength(4);
    expect(hooks.filter((h) => h.startsWith('workerExit'))).toHaveLength(4);
    expect(hooks.at(-1)).toBe('onExit stopping');
  });

  it('cuts requests still running after --graceful-timeout, and INT stops at once', async () => {
    const [graceful, quick] = await Promise.all([
      startMaster('hello.mjs', ['-w', '1', '--graceful-timeout', '1']),
      startMaster('hello.mjs', ['-w', '1']),
    ]);
    const stuck = [graceful, quick].map((m) => get(`${m.origin}/slow?ms=30000`).catch((err: Error) => err));
    await sleep(300);
    const t0 = Date.now();
    graceful.kill('SIGTERM');
    quick.kill('SIGINT');
    for (const request of stuck) expect(await request).toBeInstanceOf(Error);
    expect(await quick.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(await graceful.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(6000);
  });

  it('USR1 reopens the log files after they were moved; workers write one access log line per request', async () => {
    const dir = tempDir();
    const errorLog = join(dir, 'error.log');
    const accessLog = join(dir, 'access.log');
    const port = await freePort();
    const m = run(
      'tsws-master',
      ['hello.mjs', '-w', '2', '-b', `127.0.0.1:${port}`, '--error-log', errorLog, '--access-log', accessLog],
      { cwd: FIXTURES },
    );
    const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
    await until('the master to be ready', () => read(errorLog).includes('"msg":"ready"'));
    for (let i = 0; i < 5; i++) expect((await get(`http://127.0.0.1:${port}/?n=${i}`)).status).toBe(200);
    const workers = await childPids(m.pid);

    renameSync(errorLog, `${errorLog}.1`);
    m.kill('SIGUSR1');
    await until('a new error log', () => read(errorLog).includes('reopened the log files'));
    expect(read(`${errorLog}.1`)).not.toContain('reopened the log files');

    m.kill('SIGTERM');
    expect((await m.exited).code).toBe(0);
    const lines = read(accessLog)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.target).sort()).toEqual(['/?n=0', '/?n=1', '/?n=2', '/?n=3', '/?n=4']);
    for (const line of lines) {
      expect(line).toMatchObject({ method: 'GET', status: 200, remote: '127.0.0.1' });
      expect(workers).toContain(line.pid);
    }
  });
});
