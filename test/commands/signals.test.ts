// No signal ends a process without a word: HUP has a meaning in the single process (reopen the
// logs; requests in flight finish), USR2 is said and ignored, and a hangup sent to a master's
// whole process group (a closed terminal) reloads it without killing its workers.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, run } from '../helpers/proc.js';
import { parseLogs, sleep, startMaster, tempDir, until } from '../master/helpers.js';
import { APPS } from '../worker/serve.js';

describe('tsws', () => {
  it('HUP reopens the log files; a request in flight is answered and it keeps serving', async () => {
    const dir = tempDir();
    const errorLog = join(dir, 'error.log');
    const origin = `http://127.0.0.1:${await freePort()}`;
    const proc = run('tsws', ['fetch.js', '--chdir', APPS, '-b', origin.slice(7), '--error-log', errorLog]);
    await until('listening', () => existsSync(errorLog) && /listening on/.test(readFileSync(errorLog, 'utf8')));
    const slow = fetch(`${origin}/slow?ms=800`).then((r) => r.text());
    await sleep(200);
    renameSync(errorLog, `${errorLog}.1`);
    proc.kill('SIGHUP');
    expect(await slow).toBe('slow done');
    expect(await (await fetch(`${origin}/hello`)).text()).toBe('hello from fetch');
    await until('the new log file', () => existsSync(errorLog));
    expect(parseLogs(readFileSync(errorLog, 'utf8')).map((l) => l.msg)).toEqual([
      'SIGHUP: reopened the log files (one process cannot reload its code: see tsws --help)',
    ]);
    proc.kill('SIGUSR2');
    await until('the USR2 line', () => /SIGUSR2 ignored/.test(readFileSync(errorLog, 'utf8')));
    expect(await (await fetch(`${origin}/hello`)).text()).toBe('hello from fetch');
    proc.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});

describe('tsws-master', () => {
  it('says USR2 is ignored, and keeps serving', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1']);
    m.kill('SIGUSR2');
    expect(await m.waitForLog((l) => l.msg === 'SIGUSR2 ignored')).toMatchObject({ level: 40 });
    expect((await fetch(`${m.origin}/`)).status).toBe(200);
  });

  it('a hangup to the whole process group reloads; the workers are not killed by it', async () => {
    const m = await startMaster('hello.mjs', ['-w', '2']);
    process.kill(-m.pid, 'SIGHUP');
    await m.waitForLog((l) => l.msg === 'reload done');
    const died = m.logs().filter((l) => /died|killed/.test(l.msg));
    expect(died).toEqual([]);
    expect(m.logs().filter((l) => /^worker \d+ exited \(exit code 0\)$/.test(l.msg)).length).toBeLessThanOrEqual(2);
    expect((await fetch(`${m.origin}/`)).status).toBe(200);
  });
});

describe('the signal lines are JSON log lines too', () => {
  it('tsws on stderr', async () => {
    const port = await freePort();
    const proc = run('tsws', ['fetch.js', '--chdir', APPS, '-b', `127.0.0.1:${port}`]);
    await proc.waitFor(/listening on/);
    proc.kill('SIGHUP');
    await proc.waitFor(/SIGHUP: reopened/);
    expect(parseLogs(proc.err()).find((l) => /SIGHUP/.test(l.msg))).toMatchObject({ level: 30, signal: 'SIGHUP' });
    proc.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});
