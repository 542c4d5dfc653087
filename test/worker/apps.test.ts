// Real apps written with each framework, loaded as module:export and served by each runner.
import { describe, expect, it } from 'vitest';
import { expectTheApp, RUNNERS, serve, servedAs } from './serve.js';

const APPS: Array<{ spec: string; name: string; workerClass: 'tsws' | 'node' }> = [
  { spec: 'express5.cjs', name: 'express', workerClass: 'node' },
  { spec: 'koa3.js', name: 'koa', workerClass: 'node' },
  { spec: 'hono4.js', name: 'hono', workerClass: 'tsws' },
  { spec: 'fastify5.js', name: 'fastify', workerClass: 'node' },
  { spec: 'fastify5.js:handler', name: 'fastify', workerClass: 'node' },
  { spec: 'node-listener.js', name: 'node', workerClass: 'node' },
  { spec: 'fetch.js:handler', name: 'fetch', workerClass: 'tsws' },
  // Node 24 strips the types itself; Node 20 loads it through the repo's tsx.
  { spec: 'ts-fetch.ts', name: 'typescript', workerClass: 'tsws' },
];

for (const runner of RUNNERS) {
  describe(`${runner.name} serves`, () => {
    for (const app of APPS) {
      it(`${app.spec} (auto picks ${app.workerClass})`, async () => {
        const { proc, origin } = await serve(runner, app.spec);
        await expectTheApp(origin, app.name);
        expect(servedAs(proc.err())).toBe(
          `worker class ${app.workerClass}, ${app.workerClass === 'tsws' ? 'fetch' : 'node'} app`,
        );
      });
    }

    // A fetch app on node:http, through the adapter.
    it('hono4.js with -k node', async () => {
      const { proc, origin } = await serve(runner, 'hono4.js', ['-k', 'node']);
      await expectTheApp(origin, 'hono');
      expect(servedAs(proc.err())).toBe('worker class node, fetch app');
    });
  });
}
