// Node apps' own 'upgrade' listeners (ws with noServer, socket.io) under the node class, through
// `tsws` and `tsws-master -w 2`, with the clients they are made for.
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { until } from '../helpers/wait.mjs';
import { RUNNERS, serve } from '../worker/serve.js';

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
});
