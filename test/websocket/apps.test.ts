// Hono's and crossws's own Bun adapters, unchanged from npm, through `tsws` and `tsws-master -w 2`.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { run } from '../helpers/proc.js';
import { until } from '../helpers/wait.mjs';
import { APPS, RUNNERS, serve } from '../worker/serve.js';

/** A client that keeps what it gets; closed when the test ends. */
async function open(url: string) {
  const ws = new WebSocket(url);
  onTestFinished(() => ws.terminate());
  const messages: Array<string | Buffer> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => messages.push(isBinary ? data : data.toString()));
  // 'open' follows 'upgrade' in the same turn: listen for both at once.
  const upgraded = once(ws, 'upgrade') as Promise<[IncomingMessage]>;
  await once(ws, 'open');
  const [response] = await upgraded;
  return { ws, messages, response };
}

describe.each(RUNNERS)('WebSocket apps through $name', (runner) => {
  it('Hono’s hono/bun upgradeWebSocket: text, binary and the close event', async () => {
    const { proc, port, origin } = await serve(runner, 'ws-hono.js');
    onTestFinished(() => proc.kill('SIGKILL'));
    expect(await (await fetch(`${origin}/hello`)).text()).toBe('hello from hono');
    expect(await (await fetch(`${origin}/ip`)).text()).toBe('127.0.0.1');
    const { ws, messages } = await open(`ws://127.0.0.1:${port}/ws?name=ann`);
    ws.send('hi');
    ws.send(Buffer.from([0, 1, 2, 255]));
    await until('three messages', () => messages.length === 3);
    expect(messages[0]).toMatch(/^welcome ann, worker \d+$/);
    expect(messages[1]).toBe('echo: hi');
    expect([...(messages[2] as Buffer)]).toEqual([0, 1, 2, 255]);
    ws.close(4001, 'done');
    // Hono's close handler builds a CloseEvent, a global Node 20 lacks.
    await proc.waitFor(/ws-hono closed 4001 done/);
    expect(proc.err()).not.toMatch(/CloseEvent is not defined/);
  });

  it('crossws’s Bun adapter: the upgrade hook’s headers, echo and publish', async () => {
    const { proc, port, origin } = await serve(runner, 'ws-crossws.js');
    onTestFinished(() => proc.kill('SIGKILL'));
    expect(await (await fetch(origin)).text()).toBe('hello from crossws');
    const a = await open(`ws://127.0.0.1:${port}/`);
    expect(a.response.headers['x-powered-by']).toBe('crossws');
    a.ws.send('hi');
    await until('the echo', () => a.messages.length === 2);
    expect(a.messages[0]).toMatch(/^welcome, worker \d+$/);
    expect(a.messages[1]).toBe('echo: hi');
    if (runner.name !== 'tsws') return;
    // Within one process; across workers is the master's relay.
    const b = await open(`ws://127.0.0.1:${port}/`);
    await until('b’s welcome', () => b.messages.length === 1);
    a.ws.send('all:news');
    await until('the publish', () => b.messages.length === 2);
    expect(b.messages[1]).toBe('news');
  });
});

it('refuses a websocket export without message() in one line, exit 4', async () => {
  const proc = run('tsws', ['ws-bad-handler.js', '--chdir', APPS, '-b', '127.0.0.1:0']);
  const { code } = await proc.exited;
  expect(code).toBe(4);
  expect(proc.err()).toMatch(/websocket export must be Bun's handler object, with a message\(ws, message\) function/);
  expect(proc.err()).not.toMatch(/\n\s+at /);
});
