// examples/node-cluster/cluster.js: a node:cluster program of the user's own, starting tsws
// workers with runApp().
import { expect, it } from 'vitest';
import { freePort, ROOT, run } from '../helpers/proc.js';
import { sleep } from '../helpers/wait.mjs';
import { APPS } from './serve.js';

it('two workers serve the app; SIGTERM to the primary drains them and everything exits 0', async () => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const proc = run(`${ROOT}examples/node-cluster/cluster.js`, [], {
    env: { APP: 'fetch.js', APP_DIR: APPS, BIND: `127.0.0.1:${port}`, WORKERS: '2' },
  });
  await proc.waitFor(/worker \d+ listening on[\s\S]*worker \d+ listening on/);
  const pids = new Set<string>();
  // Fresh connections, so the primary spreads them over both workers.
  for (let i = 0; i < 10 && pids.size < 2; i++)
    pids.add(await (await fetch(`${origin}/pid`, { headers: { connection: 'close' } })).text());
  expect(pids.size).toBe(2);

  const slow = fetch(`${origin}/slow?ms=800`).then((r) => r.text());
  await sleep(200);
  proc.kill('SIGTERM');
  expect(await slow).toBe('slow done');
  expect(await proc.exited).toEqual({ code: 0, signal: null });
  expect(proc.out()).not.toMatch(/starting another/);
});
