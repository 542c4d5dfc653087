// The worked example of docs/workers.md: a custom worker class, run by every runner.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/proc.js';
import { sleep } from '../helpers/wait.mjs';
import { get } from '../master/helpers.js';
import { RUNNERS, serve, servedAs } from './serve.js';

const EXAMPLE = `${ROOT}examples/custom-worker/health-worker.js:HealthWorker`;

for (const runner of RUNNERS) {
  describe(`${runner.name} -k ${EXAMPLE.slice(ROOT.length)}`, () => {
    it('serves the app, answers /healthz with its counters, and drains on SIGTERM', async () => {
      const { proc, origin } = await serve(runner, 'fetch.js', ['-k', EXAMPLE]);
      expect(servedAs(proc.err())).toBe('worker class health, fetch app');
      // /hello, then /slow, on one keep-alive connection: one worker serves both.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await get(`${origin}/hello`, agent)).body).toBe('hello from fetch');
      const slow = get(`${origin}/slow?ms=800`, agent).then((r) => r.body);
      await sleep(200);
      // Each worker reports its own counters, and under tsws-master -w 2 a new connection may
      // reach either one: ask on fresh connections until the worker serving both answers.
      type Health = { ok: boolean; requests: number; inFlight: number; oldest: { target: string } | null };
      let health: Health | undefined;
      for (let i = 0; i < 20 && !health?.inFlight; i++)
        health = JSON.parse((await get(`${origin}/healthz`)).body) as Health;
      expect(health).toMatchObject({ ok: true, inFlight: 1, oldest: { target: '/slow?ms=800' } });
      expect(health!.requests).toBeGreaterThanOrEqual(2);
      proc.kill('SIGTERM');
      expect(await slow).toBe('slow done');
      expect((await proc.exited).code).toBe(0);
      agent.destroy();
    });
  });
}
