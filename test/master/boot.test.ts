import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/proc.js';
import { childPids, FIXTURES, get, type LogLine, parseLogs, startMaster, tempDir, until } from './helpers.js';

describe('tsws-master when workers cannot boot', () => {
  it('halts with 4 when the app cannot be loaded: one line, as tsws says it, or the stack if it threw', async () => {
    const [missing, threw] = await Promise.all([
      startMaster('missing.mjs:app', ['-w', '2'], { wait: false }),
      startMaster('throws.mjs', ['-w', '2'], { wait: false }),
    ]);
    expect((await missing.exited).code).toBe(4);
    expect(missing.err()).toBe(
      `tsws-master: error: APP "missing.mjs:app": cannot find module "missing.mjs" in ${FIXTURES.replace(/\/$/, '')} ` +
        '(tried missing.mjs and node_modules)\n',
    );
    expect((await threw.exited).code).toBe(4);
    const lines = threw.err().trimEnd().split('\n');
    expect(lines, threw.err()).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as LogLine & { err: { type: string; stack: string } };
    expect(line).toMatchObject({ level: 60, msg: expect.stringMatching(/throws\.mjs threw while loading: this app/) });
    expect(line.err).toMatchObject({ type: 'Error', stack: expect.stringMatching(/throws\.mjs:2/) });
  });

  it('into an error log file: the whole story, and it forked each worker once', async () => {
    const log = join(tempDir(), 'error.log');
    const m = await startMaster('throws.mjs', ['-w', '2', '--error-log', log], { wait: false });
    expect((await m.exited).code).toBe(4);
    expect(m.err()).toBe('');
    const lines = parseLogs(readFileSync(log, 'utf8'));
    expect(lines.filter((l) => l.msg === 'worker started')).toHaveLength(2);
    expect(lines.find((l) => l.level === 60)?.msg).toMatch(/threw while loading: this app is broken on purpose/);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped', exitCode: 4 });
  });

  it('halts with exit code 3 when the port is taken, naming the address in one line', async () => {
    const port = await freePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const m = await startMaster('hello.mjs', ['-w', '2'], { port, wait: false });
      expect((await m.exited).code).toBe(3);
      expect(m.err()).toBe(
        `tsws-master: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`,
      );
    } finally {
      squatter.close();
    }
  });

  it('halts with exit code 3 when a worker is not ready within --boot-timeout', async () => {
    const m = await startMaster('hangs.mjs', ['-w', '1', '--boot-timeout', '1'], { wait: false });
    expect((await m.exited).code).toBe(3);
    expect(m.err()).toBe('tsws-master: error: worker 1 could not boot (not ready within --boot-timeout 1 s)\n');
  });

  it('respawns a worker that dies after boot, backing off when deaths repeat', async () => {
    const m = await startMaster('hello.mjs', ['-w', '1']);
    for (let i = 1; i <= 2; i++) {
      const before = await childPids(m.pid);
      expect((await get(`${m.origin}/crash`)).body).toMatch(/^crashing /);
      await m.waitForLog(() => m.logs().filter((l) => /^worker 1 died \(exit code 70\)$/.test(l.msg)).length === i);
      await until('a replacement', async () => {
        const now = await childPids(m.pid);
        return (
          now.length === 1 && now[0] !== before[0] && m.logs().filter((l) => l.msg === 'worker ready').length === i + 1
        );
      });
    }
    const waits = m.logs().filter((l) => /workers died in the last minute; waiting/.test(l.msg));
    expect(waits.map((l) => l.delayMs)).toEqual([500]);
    expect((await get(`${m.origin}/`)).status).toBe(200);
  });
});
