import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { hasReusePort } from '@tsws/core';
import { describe, expect, it } from 'vitest';
import { childPids, hup, startMaster, tempDir, until } from './helpers.js';

/** The listening TCP sockets on `port`, from the kernel (ss): backlog and owning pids of each. */
function listeners(port: number): Array<{ backlog: number; pids: number[] }> {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => ({
      backlog: Number(line.trim().split(/\s+/)[2]),
      pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])).sort(),
    }));
}

function getUnix(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const POLICIES = hasReusePort() ? (['shared', 'rr', 'reuseport'] as const) : (['shared', 'rr'] as const);

describe('tsws-master listening sockets', () => {
  for (const scheduling of POLICIES) {
    const holder =
      scheduling === 'reuseport' ? 'each worker' : scheduling === 'rr' ? 'the master' : 'the master and every worker';
    it(`--scheduling ${scheduling}: --backlog reaches the kernel's listening socket, held by ${holder}`, async () => {
      const m = await startMaster('hello.mjs', ['-w', '2', '--backlog', '77', '--scheduling', scheduling]);
      const workers = (await childPids(m.pid)).sort();
      const sockets = listeners(m.port);
      for (const s of sockets) expect(s.backlog).toBe(77);
      if (scheduling === 'reuseport') expect(sockets.map((s) => s.pids).sort()).toEqual(workers.map((pid) => [pid]));
      else if (scheduling === 'rr') expect(sockets).toEqual([{ backlog: 77, pids: [m.pid] }]);
      else expect(sockets).toEqual([{ backlog: 77, pids: [m.pid, ...workers].sort() }]);
    });
  }

  it('a Unix socket: a stale file is replaced, --umask sets its mode, it outlives a reload, goes at stop', async () => {
    const dir = tempDir();
    const path = join(dir, 'app.sock');
    // A stale socket file: its process is gone.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    expect(statSync(path).isSocket()).toBe(true);
    const m = await startMaster('hello.mjs', ['-w', '2', '-b', `unix:${path}`, '--umask', '0o007']);
    expect(statSync(path).mode & 0o777).toBe(0o770);
    expect(await getUnix(path)).toMatch(/^hello \d+$/);
    expect((await hup(m)).msg).toBe('reload done');
    await until('the old workers to exit', async () => (await childPids(m.pid)).length === 2);
    expect(await getUnix(path)).toMatch(/^hello \d+$/);
    m.kill('SIGTERM');
    expect((await m.exited).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});
