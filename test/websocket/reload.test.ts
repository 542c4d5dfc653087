// HUP and TERM under tsws-master: open WebSockets stay on their old worker until they close or
// --graceful-timeout ends them with 1001 (Going Away); new ones upgrade on the new worker.
import { once } from 'node:events';
import { expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { until } from '../helpers/wait.mjs';
import { serve } from '../worker/serve.js';

const oneWorker = { name: 'tsws-master -w 1', bin: 'tsws-master' as const, args: ['-w', '1'] };

async function open(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  onTestFinished(() => ws.terminate());
  const got: string[] = [];
  ws.on('message', (data: Buffer) => got.push(data.toString()));
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  await once(ws, 'open');
  await until('the welcome', () => got.length === 1);
  return { ws, got, closed, pid: /worker (\d+)/.exec(got[0]!)![1]! };
}

it('HUP: old WebSockets keep working on the old worker, then get 1001 at the graceful timeout', async () => {
  const { proc, port } = await serve(oneWorker, 'ws-crossws.js', ['--graceful-timeout', '2']);
  onTestFinished(() => proc.kill('SIGKILL'));
  const old = await open(port);
  proc.kill('SIGHUP');
  // The new worker serves new connections; the old socket still echoes meanwhile.
  let fresh = await open(port);
  for (let i = 0; i < 50 && fresh.pid === old.pid; i++) {
    fresh.ws.terminate();
    await new Promise((r) => setTimeout(r, 100));
    fresh = await open(port);
  }
  expect(fresh.pid).not.toBe(old.pid);
  old.ws.send('still here');
  await until('the old echo', () => old.got.length === 2);
  expect(old.got[1]).toBe('echo: still here');
  const [code] = await old.closed;
  expect(code).toBe(1001);
  // The new one is untouched.
  fresh.ws.send('hi');
  await until('the new echo', () => fresh.got.length === 2);
});

it('TERM: open WebSockets get 1001 at the graceful timeout, and the master exits 0', async () => {
  const { proc, port } = await serve(oneWorker, 'ws-crossws.js', ['--graceful-timeout', '1']);
  onTestFinished(() => proc.kill('SIGKILL'));
  const ws = await open(port);
  proc.kill('SIGTERM');
  const [code] = await ws.closed;
  expect(code).toBe(1001);
  expect((await proc.exited).code).toBe(0);
});
