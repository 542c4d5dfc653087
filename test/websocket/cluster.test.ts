// publish across workers: tsws-master relays a topic message to every other worker, whose
// subscribers get it as if it were published there.
import { once } from 'node:events';
import { expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { until } from '../helpers/wait.mjs';
import { RUNNERS, serve } from '../worker/serve.js';

interface Client {
  ws: WebSocket;
  pid: string;
  got: Array<string | Buffer>;
}

it('publish reaches the subscribers on every worker of tsws-master -w 2, text and binary', async () => {
  const master = RUNNERS.find((r) => r.bin === 'tsws-master')!;
  const { proc, port } = await serve(master, 'ws-crossws.js');
  onTestFinished(() => proc.kill('SIGKILL'));
  // Clients until both workers have some (the welcome names the worker's pid).
  const clients: Client[] = [];
  for (let i = 0; i < 40 && new Set(clients.map((c) => c.pid)).size < 2; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    onTestFinished(() => ws.terminate());
    const got: Array<string | Buffer> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? data : data.toString()));
    await once(ws, 'open');
    await until('the welcome', () => got.length === 1);
    clients.push({ ws, pid: /worker (\d+)/.exec(String(got[0]))![1]!, got });
  }
  expect(new Set(clients.map((c) => c.pid)).size).toBe(2);
  const [from, ...others] = clients;
  from!.ws.send('all:news');
  from!.ws.send('bytes:raw');
  await until('the publish everywhere', () => others.every((c) => c.got.length === 3));
  for (const c of others) {
    expect(c.got[1]).toBe('news');
    expect(Buffer.isBuffer(c.got[2]) && c.got[2].toString()).toBe('raw');
  }
  // Not to the publisher (publishToSelf is off), wherever the others are.
  expect(from!.got).toHaveLength(1);
});
