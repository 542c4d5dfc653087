// Persistent connections (RFC 9112 §9.3): HTTP/1.1 keeps the connection by default, HTTP/1.0 only
// when asked with Connection: keep-alive, and Connection: close from either side ends it.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, RawClient, req } from '../helpers/raw.js';

/** Answers with the client's port, so two answers from one connection show the same number. */
const portEcho = (_request: Request, info: { remotePort: number }) => new Response(String(info.remotePort));

describe('keep-alive', () => {
  it('keeps an HTTP/1.1 connection open by default', async () => {
    const { port } = await start(portEcho);
    const c = await connect(port);
    c.write(req('GET', '/one'));
    const first = await c.response();
    expect(first.status).toBe(200);
    expect(first.header('connection')).toBeUndefined();
    c.write(req('GET', '/two'));
    const second = await c.response();
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe(first.body.toString());
    expect(await c.closed(300)).toBe(false);
  });

  it('lets fetch and node:http reuse one connection for several requests', async () => {
    const { origin } = await start(portEcho);
    // undici may open a second connection while the first is being released: fewer connections
    // than requests is what reuse looks like.
    const ports = [];
    for (let i = 0; i < 6; i++) ports.push(await (await fetch(`${origin}/f${i}`)).text());
    expect(new Set(ports).size).toBeLessThanOrEqual(2);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${origin}/n`, { agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    const a = await get();
    const b = await get();
    agent.destroy();
    expect(b).toBe(a);
  });

  it('keeps an HTTP/1.0 connection only when the client asks, and says so', async () => {
    const { port } = await start(portEcho);
    const c = await connect(port);
    c.write(req('GET', '/a', ['Connection: keep-alive'], '', 'HTTP/1.0'));
    const first = await c.response();
    expect(first.status).toBe(200);
    expect(first.header('connection')).toBe('keep-alive');
    c.write(req('GET', '/b', ['Connection: Keep-Alive'], '', 'HTTP/1.0'));
    const second = await c.response();
    expect(second.header('connection')).toBe('keep-alive');
    expect(second.body.toString()).toBe(first.body.toString());

    // Without the header, HTTP/1.0 closes after one response.
    c.write(req('GET', '/c', [], '', 'HTTP/1.0'));
    const third = await c.response();
    expect(third.status).toBe(200);
    expect(third.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
  });

  it('closes after the response when the client sends Connection: close', async () => {
    const { port } = await start(portEcho);
    const c = await connect(port);
    // The pipelined request after the close must not be answered (RFC 9112 §9.6).
    c.write(req('GET', '/a', ['Connection: close']) + req('GET', '/b'));
    const res = await c.response();
    expect(res.status).toBe(200);
    expect(res.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
    expect(c.pending().length).toBe(0);
  });

  /** A client that keeps its own side open after the server's FIN, as a lingering close waits for. */
  async function halfOpenClient(port: number): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    onTestFinished(() => {
      socket.destroy();
    });
    return new RawClient(socket);
  }

  it('frees a Connection: close connection as soon as its answer is out, sync or async', async () => {
    const { server, port } = await start(async (request) =>
      new URL(request.url).pathname === '/async' ? new Response(await Promise.resolve('later')) : new Response('now'),
    );
    for (const path of ['/sync', '/async']) {
      const c = await halfOpenClient(port);
      c.write(req('GET', path, ['Connection: close']));
      expect((await c.response()).status).toBe(200);
      expect(await c.closed()).toBe(true);
      // Nothing was left unread: the server need not wait for the client's FIN (it lingered 2 s).
      const deadline = Date.now() + 1000;
      while (server.stats().connections > 0 && Date.now() < deadline) await sleep(20);
      expect(server.stats().connections, path).toBe(0);
    }
  });

  it('lingers after a Connection: close answer when the client sent more, so its bytes never reset it', async () => {
    const { server, port } = await start(portEcho);
    const c = await halfOpenClient(port);
    const errors: string[] = [];
    c.socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    c.write(req('GET', '/a', ['Connection: close']) + req('GET', '/b'));
    expect((await c.response()).status).toBe(200);
    expect(await c.closed()).toBe(true);
    // Still reading and dropping what the client sends: a closed socket would answer with a reset.
    c.write('more bytes');
    await sleep(300);
    expect(server.stats().connections).toBe(1);
    c.socket.end();
    await sleep(200);
    expect(errors).toEqual([]);
  });

  it('closes after the response when the app says Connection: close', async () => {
    const { port } = await start((request) =>
      new URL(request.url).pathname === '/bye'
        ? new Response('bye', { headers: { Connection: 'close' } })
        : new Response('hi'),
    );
    const c = await connect(port);
    c.write(req('GET', '/hi'));
    expect((await c.response()).body.toString()).toBe('hi');
    c.write(req('GET', '/bye') + req('GET', '/hi'));
    const res = await c.response();
    expect(res.body.toString()).toBe('bye');
    expect(res.all('connection')).toEqual(['close']);
    expect(await c.closed()).toBe(true);
    expect(c.pending().length).toBe(0);
  });

  it('closes every connection after one response with keepAlive: false', async () => {
    const { port } = await start(portEcho, { keepAlive: false });
    for (const [version, headers] of [
      ['HTTP/1.1', []],
      ['HTTP/1.0', ['Connection: keep-alive']],
    ] as const) {
      const c = await connect(port);
      c.write(req('GET', '/', [...headers], '', version) + req('GET', '/again', [...headers], '', version));
      const res = await c.response();
      expect(res.status).toBe(200);
      expect(res.header('connection')).toBe('close');
      expect(await c.closed()).toBe(true);
      expect(c.pending().length).toBe(0);
    }
  });

  it('gives each connection its own head when heads arrive split and interleaved across connections', async () => {
    // Idle connections hold no head reader; a head split across reads must keep its own.
    const { port } = await start(
      (request: Request) =>
        new Response(`${request.url} ${request.headers.get('x-who')} ${request.headers.get('x-n')}`),
    );
    const a = await connect(port);
    const b = await connect(port);
    for (let n = 0; n < 3; n++) {
      a.write(`GET /a${n} HTTP/1.1\r\nHost: a.test\r\nX-Who: a`);
      await sleep(20);
      b.write(`GET /b${n} HTTP/1.1\r\nHost: b.test\r\nX-Who: b\r\nX-N: ${n}\r\n\r\n`);
      expect((await b.response()).body.toString()).toBe(`http://b.test/b${n} b ${n}`);
      a.write(`\r\nX-N: ${n}\r\n\r\n`);
      expect((await a.response()).body.toString()).toBe(`http://a.test/a${n} a ${n}`);
    }
  });
});
