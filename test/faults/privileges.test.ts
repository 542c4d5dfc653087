// Privilege drop, as root (CI runs as root; anyone else gets a failure saying so, not a skip):
// --user/--group take effect in the workers once the sockets are bound, so a port below 1024
// still works; the master stays root; --umask gives a Unix socket file its mode. Identities are
// read from /proc/PID/status, as the kernel sees them (real, effective, saved and filesystem ids,
// and the supplementary groups).
import { statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { hasReusePort } from '@tsws/core';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/proc.js';
import { childPids, identity } from '../helpers/procfs.mjs';
import { get, startMaster, tempDir } from '../master/helpers.js';
import { SOAK } from './helpers.js';

const NOBODY = 65534;
const AS_NOBODY = { uid: [NOBODY, NOBODY, NOBODY, NOBODY], gid: [NOBODY, NOBODY, NOBODY, NOBODY], groups: [NOBODY] };

function needRoot(): void {
  expect(process.getuid?.(), 'these tests switch users and bind ports below 1024: run them as root (CI does)').toBe(0);
}

/** A port below 1024 that nothing on 127.0.0.1 holds now (needs root). */
async function privilegedPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 600 + Math.floor(Math.random() * 424);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 1024 on 127.0.0.1');
}

function getUnix(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const POLICIES = hasReusePort() ? (['shared', 'reuseport'] as const) : (['shared'] as const);

describe('--user and --group', () => {
  for (const scheduling of POLICIES) {
    const where =
      scheduling === 'shared' ? 'port < 1024 and a Unix socket: the master binds' : 'port < 1024: each worker binds';
    it(`--scheduling ${scheduling}, ${where}; workers serve as nobody, the master stays root`, async () => {
      needRoot();
      const dir = tempDir();
      const socket = join(dir, 'app.sock');
      const port = await privilegedPort();
      const binds = scheduling === 'shared' ? ['-b', `unix:${socket}`, '--umask', '0o007'] : [];
      const m = await startMaster(
        'app.mjs',
        ['-w', '2', '--scheduling', scheduling, '--user', 'nobody', '--group', 'nogroup', ...binds],
        { cwd: SOAK, port },
      );
      const workers = childPids(m.pid);
      expect(workers).toHaveLength(2);
      expect(identity(m.pid).uid).toEqual([0, 0, 0, 0]);
      for (const pid of workers) expect(identity(pid)).toEqual(AS_NOBODY);
      // Each worker switched by itself, once listening.
      for (const pid of workers)
        expect(m.logs().find((l) => l.pid === pid && l.msg === 'switched user and group')).toMatchObject({
          uid: NOBODY,
          gid: NOBODY,
        });
      expect((await get(`${m.origin}/whoami`)).body).toMatch(/^65534:65534 \d+$/);
      if (scheduling === 'shared') {
        // The master made the socket file (as root, with its umask); the workers serve on it.
        const stat = statSync(socket);
        expect(stat.mode & 0o777).toBe(0o770);
        expect(stat.uid).toBe(0);
        expect(await getUnix(socket, '/whoami')).toMatch(/^65534:65534 \d+$/);
      }
    });
  }

  it('tsws on port < 1024 and a Unix socket with --umask: binds as root, then serves as nobody', async () => {
    needRoot();
    const dir = tempDir();
    const socket = join(dir, 'app.sock');
    const port = await privilegedPort();
    const proc = run('tsws', [
      'app.mjs',
      '--chdir',
      SOAK,
      '-b',
      `127.0.0.1:${port}`,
      '-b',
      `unix:${socket}`,
      '--umask',
      '0o027',
      '--user',
      'nobody',
      '--group',
      'nogroup',
    ]);
    await proc.waitFor(/listening on/);
    expect(identity(proc.pid)).toEqual(AS_NOBODY);
    expect((await get(`http://127.0.0.1:${port}/whoami`)).body).toBe(`65534:65534 ${proc.pid}`);
    expect(statSync(socket).mode & 0o777).toBe(0o750);
    expect(await getUnix(socket, '/whoami')).toBe(`65534:65534 ${proc.pid}`);
    proc.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});
