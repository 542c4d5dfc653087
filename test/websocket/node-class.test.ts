// Node apps' own 'upgrade' listeners (ws with noServer, socket.io) under the node class, through
// `tsws` and `tsws-master -w 2`, with the clients they are made for.
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { connect, req } from '../helpers/raw.js';
import { until } from '../helpers/wait.mjs';
import { RUNNERS, serve } from '../worker/serve.js';

const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13'];

describe.each(RUNNERS)('Node WebSocket apps through $name', (runner) => {
  it('ws on the app server’s upgrade event: text and binary echo, and its own 404', async () => {
    const { proc, port, origin } = await serve(runner, 'ws-node.js');
    onTestFinished(() => proc.kill('SIGKILL'));
    expect(await (await fetch(origin)).text()).toBe('hello from node');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    onTestFinished(() => ws.terminate());
    const got: Array<string | Buffer> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? data : data.toString()));
    await once(ws, 'open');
    ws.send('hi');
    ws.send(Buffer.from([7, 8]));
    await until('three messages', () => got.length === 3);
    expect(got[0]).toMatch(/^welcome, worker \d+$/);
    expect(got[1]).toBe('echo: hi');
    expect([...(got[2] as Buffer)]).toEqual([7, 8]);
    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    const [, res] = (await once(other, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(404);
  });

  it('socket.io over its websocket transport', async () => {
    const { proc, port, origin } = await serve(runner, 'socketio.js');
    onTestFinished(() => proc.kill('SIGKILL'));
    expect(await (await fetch(origin)).text()).toBe('hello from socket.io');
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    onTestFinished(() => {
      socket.close();
    });
    const pid = await new Promise<number>((resolve) => socket.once('welcome', resolve));
    expect(pid).toBeGreaterThan(0);
    expect(socket.io.engine.transport.name).toBe('websocket');
    expect(await socket.emitWithAck('echo', 'hi')).toBe('echo: hi');
  });

  it('Hono on @hono/node-server’s websocket option: text, binary and the close event', async () => {
    const { proc, port, origin } = await serve(runner, 'ws-hono-node.js', ['-k', 'node']);
    onTestFinished(() => proc.kill('SIGKILL'));
    expect(await (await fetch(`${origin}/hello`)).text()).toBe('hello from hono on node-server');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=ada`);
    onTestFinished(() => ws.terminate());
    const got: Array<string | Buffer> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? data : data.toString()));
    await once(ws, 'open');
    ws.send('hi');
    ws.send(Buffer.from([1, 2, 3]));
    await until('three messages', () => got.length === 3);
    expect(got[0]).toMatch(/^welcome ada, worker \d+$/);
    expect(got[1]).toBe('echo: hi');
    expect([...(got[2] as Buffer)]).toEqual([1, 2, 3]);
    ws.close(4001, 'done');
    await proc.waitFor(/ws-hono-node closed 4001 done/);
  });
});

describe('Node WebSocket apps on a draining node-class worker', () => {
  const tsws = RUNNERS[0]!;

  it('an Upgrade on a kept-alive connection gets 503 once the worker drains', async () => {
    const { proc, port } = await serve(tsws, 'ws-node.js', ['-k', 'node', '--graceful-timeout', '10']);
    onTestFinished(() => proc.kill('SIGKILL'));
    // An open WebSocket keeps the worker draining; the raw connection has served one request.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    onTestFinished(() => ws.terminate());
    await once(ws, 'open');
    const c = await connect(port);
    c.write(req('GET', '/'));
    expect((await c.response()).status).toBe(200);
    proc.kill('SIGTERM');
    await proc.waitFor(/"msg":"draining"/);
    c.write(req('GET', '/ws', [...UPGRADE, 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']));
    const res = await c.response();
    expect(res.status).toBe(503);
    expect(res.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
  });

  it.each([
    ['ws with noServer', 'ws-node.js', '/ws'],
    ['@hono/node-server', 'ws-hono-node.js', '/ws'],
    // socket.io's websocket transport, spoken to by a plain WebSocket client to see the close code.
    ['socket.io', 'socketio.js', '/socket.io/?EIO=4&transport=websocket'],
  ])('%s: open WebSockets get 1001 (Going Away) at the graceful timeout', async (_name, app, path) => {
    const { proc, port } = await serve(tsws, app, ['-k', 'node', '--graceful-timeout', '1']);
    onTestFinished(() => proc.kill('SIGKILL'));
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    onTestFinished(() => ws.terminate());
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    await once(ws, 'open');
    proc.kill('SIGTERM');
    const [code, reason] = await closed;
    expect(code).toBe(1001);
    expect(reason.toString()).toBe('server shutting down');
    expect((await proc.exited).code).toBe(0);
  });
});
