// WebSockets on the core with Bun's interface: a real `ws` client against serve(app, { websocket }).
import { once } from 'node:events';
import type { ServerWebSocket, WebSocketHandler } from '@tsws/core';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { memoryLogger, start } from '../helpers/core.js';
import { connect } from '../helpers/raw.js';
import { until } from '../helpers/wait.mjs';

type Data = { name: string };

const upgrading = (request: Request, info: { upgrade(r: Request, o?: object): boolean }) => {
  if (info.upgrade(request, { data: { name: new URL(request.url).searchParams.get('name') ?? 'anon' } }))
    return undefined as unknown as Response;
  return new Response('plain', { status: 200 });
};

const HANDSHAKE =
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** A server with `websocket`, and a raw client that upgrades and then reads nothing until resumed. */
async function stalled(websocket: WebSocketHandler) {
  let sock: ServerWebSocket | undefined;
  const open = (ws: ServerWebSocket) => {
    sock = ws;
  };
  const { port } = await start(upgrading, { websocket: { ...websocket, open } });
  const client = await connect(port);
  client.socket.pause();
  client.socket.write(HANDSHAKE);
  await until('the open handler', () => sock !== undefined);
  return { sock: sock as ServerWebSocket, client };
}

/** Opens a client and waits for it; the messages it gets, as strings or Buffers. */
async function client(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  const messages: Array<string | Buffer> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => messages.push(isBinary ? data : data.toString()));
  await once(ws, 'open');
  return { ws, messages };
}

describe('WebSockets with Bun’s server.upgrade() and websocket handler', () => {
  it('echoes text and binary, with ws.data from upgrade(), and ignores the handler’s answer', async () => {
    const opened: string[] = [];
    const closed: Array<[number, string]> = [];
    const websocket: WebSocketHandler<Data> = {
      open(ws) {
        opened.push(ws.data.name);
      },
      message(ws, message) {
        if (typeof message === 'string') ws.send(`${ws.data.name}: ${message}`);
        else ws.send(message);
      },
      close(_ws, code, reason) {
        closed.push([code, reason]);
      },
    };
    const { port } = await start(
      (request, info) => {
        // Hono answers `new Response(null)` after upgrading: the answer must never reach the client.
        if (info.upgrade(request, { data: { name: 'ann' } })) return new Response('ignored', { status: 418 });
        return new Response('plain');
      },
      { websocket: websocket as WebSocketHandler },
    );
    const { ws, messages } = await client(`ws://127.0.0.1:${port}/chat`);
    ws.send('hello');
    ws.send(Buffer.from([1, 2, 3]));
    await until('two echoes', () => messages.length === 2);
    expect(messages[0]).toBe('ann: hello');
    expect([...(messages[1] as Buffer)]).toEqual([1, 2, 3]);
    expect(opened).toEqual(['ann']);
    ws.close(4000, 'bye');
    await until('the close handler', () => closed.length === 1);
    expect(closed[0]).toEqual([4000, 'bye']);
    // A plain request on the same server still gets its answer.
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('plain');
  });

  it('hands binary messages over owning exactly their bytes (message.buffer leaks nothing)', async () => {
    const seen: number[] = [];
    const { port } = await start(upgrading, {
      websocket: {
        message(_ws, message) {
          const m = message as Buffer;
          seen.push(m.byteOffset, m.buffer.byteLength, m.length);
        },
      },
    });
    const { ws } = await client(`ws://127.0.0.1:${port}/`);
    // Two frames in one packet: the second is a view into the same read unless it is copied.
    ws.send(Buffer.from('abc'));
    ws.send(Buffer.from('defgh'));
    await until('two messages', () => seen.length === 6);
    expect(seen).toEqual([0, 3, 3, 0, 5, 5]);
  });

  it('keeps the bytes a client sends right after its handshake', async () => {
    const { port } = await start(
      async (request, info) => {
        // The app takes its time: the frame is already waiting when the socket switches.
        await new Promise((r) => setTimeout(r, 50));
        info.upgrade(request);
        return undefined as unknown as Response;
      },
      { websocket: { message: (ws, m) => ws.send(`got ${String(m)}`) } },
    );
    const c = await connect(port);
    // A masked text frame "hi" straight after the request, in the same write.
    const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]);
    c.socket.write(Buffer.concat([Buffer.from(HANDSHAKE), frame]));
    await until('the echo', () => c.pending().includes('got hi'));
    const text = c.pending().toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('says false to a request that is no WebSocket handshake, which is answered as usual', async () => {
    const answers: boolean[] = [];
    const { port } = await start(
      (request, info) => {
        answers.push(info.upgrade(request));
        return new Response('no');
      },
      { websocket: { message() {} } },
    );
    const c = await connect(port);
    // Upgrade to something else, and a websocket upgrade with a bad key.
    c.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
    const res = await c.response();
    expect(res.status).toBe(200);
    expect(res.header('connection')).toBe('close');
    const d = await connect(port);
    d.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect((await d.response()).status).toBe(200);
    expect(answers).toEqual([false, false]);
  });

  it('closes with 1009 on a message over maxPayloadLength', async () => {
    const { port } = await start(upgrading, { websocket: { maxPayloadLength: 1024, message() {} } });
    const { ws } = await client(`ws://127.0.0.1:${port}/`);
    ws.send(Buffer.alloc(2048));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1009);
  });

  it('holds handshakes to the header limits and the header timeout', async () => {
    const { port } = await start(upgrading, {
      websocket: { message() {} },
      limitRequestFieldSize: 200,
      headerTimeout: 300,
    });
    const big = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { 'x-big': 'a'.repeat(400) } });
    const [, res] = (await once(big, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(431);
    const slow = await connect(port);
    slow.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    expect((await slow.response()).status).toBe(408);
  });

  it('bounds what a client that stops reading costs by backpressureLimit', async () => {
    const results: number[] = [];
    const { sock } = await stalled({ backpressureLimit: 256 * 1024, message() {} });
    const chunk = Buffer.alloc(64 * 1024);
    // 64 MiB offered to a client that reads nothing: the server queues about the limit, then drops.
    for (let i = 0; i < 1024; i++) results.push(sock.send(chunk));
    expect(results).toContain(-1);
    expect(results.at(-1)).toBe(0);
    expect(sock.getBufferedAmount()).toBeLessThan(256 * 1024 + 64 * 1024 + 1);
  });

  it('calls drain once a client that made send() say -1 reads again', async () => {
    let drains = 0;
    const { sock, client } = await stalled({
      backpressureLimit: 64 * 1024,
      drain() {
        drains++;
      },
      message() {},
    });
    let sent = 1;
    for (let i = 0; i < 2048 && sent > 0; i++) sent = sock.send(Buffer.alloc(40 * 1024));
    expect(sent).toBe(-1);
    expect(drains).toBe(0);
    client.socket.resume();
    await until('the drain handler', () => drains === 1);
    // Backed up once, drained once: a later send that fits calls nothing more.
    expect(sock.send('fits')).toBe(4);
  });

  it('hands pings and pongs to their handlers, and pongs a client’s ping', async () => {
    const seen: string[] = [];
    const { port } = await start(upgrading, {
      websocket: {
        message(ws) {
          ws.ping('from server');
        },
        ping(_ws, data) {
          seen.push(`ping ${data}`);
        },
        pong(_ws, data) {
          seen.push(`pong ${data}`);
        },
      },
    });
    const { ws } = await client(`ws://127.0.0.1:${port}/`);
    const ponged = once(ws, 'pong');
    ws.ping('from client');
    expect(String((await ponged)[0])).toBe('from client');
    ws.send('ping me');
    await until('both handlers', () => seen.length === 2);
    expect(seen).toEqual(['ping from client', 'pong from server']);
  });

  it('pings a client silent for idleTimeout once, cuts it if it does not answer, keeps one that does', async () => {
    const { port } = await start(upgrading, { websocket: { idleTimeout: 0.3, message() {} } });
    const mute = await client(`ws://127.0.0.1:${port}/`, { autoPong: false });
    const alive = await client(`ws://127.0.0.1:${port}/`);
    let pings = 0;
    mute.ws.on('ping', () => pings++);
    const [code] = (await once(mute.ws, 'close')) as [number];
    // Cut, not closed: a client that answers nothing gets no close handshake.
    expect(code).toBe(1006);
    expect(pings).toBe(1);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
  });

  it('closes a silent client without a ping when sendPings is off', async () => {
    const { port } = await start(upgrading, { websocket: { idleTimeout: 0.3, sendPings: false, message() {} } });
    const { ws } = await client(`ws://127.0.0.1:${port}/`);
    let pings = 0;
    ws.on('ping', () => pings++);
    await once(ws, 'close');
    expect(pings).toBe(0);
  });

  it('publishes to the subscribers of a topic, and server.publish() from a request', async () => {
    let server: { publish(t: string, d: string): number } | undefined;
    const { port } = await start(
      (request, info) => {
        server = info;
        if (new URL(request.url).pathname === '/say') {
          return new Response(String(info.publish('room', 'from http')));
        }
        return upgrading(request, info);
      },
      {
        websocket: {
          open: (ws) => ws.subscribe('room'),
          message: (ws, m) => ws.publish('room', String(m)),
        },
      },
    );
    const a = await client(`ws://127.0.0.1:${port}/`);
    const b = await client(`ws://127.0.0.1:${port}/`);
    a.ws.send('from a');
    await until('the publish', () => b.messages.length === 1);
    expect(b.messages).toEqual(['from a']);
    expect(a.messages).toEqual([]); // publishToSelf is off
    expect(await (await fetch(`http://127.0.0.1:${port}/say`)).text()).toBe('9');
    await until('server.publish', () => a.messages.length === 1 && b.messages.length === 2);
    expect(server).toBeDefined();
  });

  it('logs a handler that throws and keeps serving', async () => {
    const { lines, logger } = memoryLogger();
    const { port } = await start(upgrading, {
      logger,
      websocket: {
        message(ws, m) {
          if (m === 'boom') throw new Error('boom');
          ws.send('ok');
        },
      },
    });
    const { ws, messages } = await client(`ws://127.0.0.1:${port}/`);
    ws.send('boom');
    ws.send('again');
    await until('the second answer', () => messages.length === 1);
    expect(lines.some((l) => l.level === 'error' && /message handler failed/.test(l.msg))).toBe(true);
  });

  it('tells open sockets 1001 when a shutdown’s graceful time ends', async () => {
    const { server, port } = await start(upgrading, { websocket: { message() {} } });
    const { ws } = await client(`ws://127.0.0.1:${port}/`);
    const closing = once(ws, 'close');
    const stopped = server.shutdown(300);
    const [code] = (await closing) as [number];
    expect(code).toBe(1001);
    await stopped;
  });
});
