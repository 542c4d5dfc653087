// PM2 in cluster mode with examples/pm2/ecosystem.config.cjs: the real pm2 package, its home in a
// temp dir, its daemon killed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { freePort, ROOT, run } from '../helpers/proc.js';
import { sleep } from '../helpers/wait.mjs';
import { APPS } from './serve.js';

const PM2 = `${ROOT}node_modules/pm2/bin/pm2`;
const ECOSYSTEM = `${ROOT}examples/pm2/ecosystem.config.cjs`;

/** GET on a fresh connection (no keep-alive), so every request meets the current workers. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      })
      .on('error', reject)
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timed out'));
      });
  });
}

it('cluster mode: two instances signal ready, pm2 reload drains them and drops no request', async () => {
  const home = mkdtempSync(join(tmpdir(), 'tsws-pm2-'));
  const port = await freePort();
  const env = { PM2_HOME: home, APP: 'fetch.js', BIND: `127.0.0.1:${port}`, APP_DIR: APPS };
  const pm2 = async (...args: string[]) => {
    const proc = run(PM2, args, { env });
    const { code } = await proc.exited;
    return { code, out: proc.out() + proc.err() };
  };
  onTestFinished(async () => {
    await pm2('kill');
    rmSync(home, { recursive: true, force: true });
  });

  // wait_ready: `pm2 start` returns once both instances said 'ready'.
  const started = await pm2('start', ECOSYSTEM);
  expect(started.code, started.out).toBe(0);
  expect(started.out).toMatch(/launched \(2 instances\)/);
  const before = new Set<string>();
  for (let i = 0; i < 8; i++) before.add((await get(port, '/pid')).body);
  expect(before.size).toBe(2);

  // Requests keep coming, one connection each, while PM2 replaces both instances; a slow one is
  // in flight on an old instance when PM2 sends it SIGINT.
  const slow = get(port, '/slow?ms=800');
  let reloading = true;
  const outcomes: string[] = [];
  const traffic = (async () => {
    while (reloading)
      outcomes.push(
        await get(port, '/hello').then(
          (r) => `${r.status} ${r.body}`,
          (e: Error) => `failed: ${e.message}`,
        ),
      );
  })();
  await sleep(200);
  const reloaded = await pm2('reload', 'tsws-app');
  reloading = false;
  await traffic;
  expect(reloaded.code, reloaded.out).toBe(0);

  expect(await slow).toEqual({ status: 200, body: 'slow done' });
  expect(outcomes.length).toBeGreaterThan(5);
  expect(outcomes.filter((o) => o !== '200 hello from fetch')).toEqual([]);
  const after = new Set<string>();
  for (let i = 0; i < 8; i++) after.add((await get(port, '/pid')).body);
  expect(after.size).toBe(2);
  expect([...after].filter((pid) => before.has(pid))).toEqual([]);
});
