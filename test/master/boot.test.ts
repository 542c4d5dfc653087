import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/proc.js';
import { childPids, get, startMaster, until } from './helpers.js';

describe('tsws-master when workers cannot boot', () => {
  it('halts with exit code 4 when the app cannot be loaded, without forking again', async () => {
    for (const app of ['throws.mjs', 'missing.mjs:app']) {
      const m = await startMaster(app, ['-w', '2'], { wait: false });
      expect((await m.exited).code).toBe(4);
      const halt = m.logs().find((l) => l.level === 60 && l.exitCode === 4)!;
      expect(halt.msg).toMatch(/^worker \d could not load the app \(exit code 4\); halting/);
      expect(m.logs().filter((l) => l.msg === 'worker started')).toHaveLength(2);
      // The worker said why, in its own line.
      const why = m.logs().find((l) => l.level === 60 && l.worker !== undefined)!;
      expect((why.err as { message: string }).message).toMatch(
        app === 'throws.mjs' ? /this app is broken on purpose/ : /cannot find module "missing.mjs"/,
      );
    }
  });

  it('halts with exit code 3 when the port is taken, naming the address', async () => {
    const port = await freePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const m = await startMaster('hello.mjs', ['-w', '2'], { port, wait: false });
      expect((await m.exited).code).toBe(3);
      expect(m.err()).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
      expect(m.logs().find((l) => l.level === 60 && l.exitCode === 3)?.msg).toMatch(
        /could not boot \(exit code 3\); halting/,
      );
    } finally {
      squatter.close();
    }
  });

  it('halts with exit code 3 when a worker is not ready within --boot-timeout', async () => {
    const m = await startMaster('hangs.mjs', ['-w', '1', '--boot-timeout', '1'], { wait: false });
    expect((await m.exited).code).toBe(3);
    expect(m.logs().some((l) => /^worker 1 was not ready within --boot-timeout 1 s; killing it$/.test(l.msg))).toBe(
      true,
    );
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
