// Failures: a bad request gets 400 and a close; a failing app gets 500 and the server carries on;
// a body that fails mid-stream cuts the connection; unsafe response headers are never written.
import { describe, expect, it } from 'vitest';
import { memoryLogger, start } from '../helpers/core.js';
import { connect, exchange, type RawResponse, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

describe('errors', () => {
  it('answers a request it cannot parse with 400 and closes', async () => {
    const { port } = await start(async (request) => new Response(await request.text()));
    const bad = [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n',
    ];
    for (const bytes of bad) {
      const c = await connect(port);
      c.write(bytes);
      const res = await c.response();
      expect(res.status, JSON.stringify(bytes)).toBe(400);
      expect(res.header('connection')).toBe('close');
      expect(await c.closed()).toBe(true);
    }
  });

  it('answers an app that throws or rejects with 500, logs it, and keeps serving', async () => {
    const { lines, logger } = memoryLogger();
    const { port, origin } = await start(
      (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/throw') throw new Error('thrown on purpose');
        if (path === '/reject') return Promise.reject(new Error('rejected on purpose'));
        if (path === '/error') return Response.error();
        return new Response('fine');
      },
      { logger },
    );
    const c = await connect(port);
    c.write(
      req('GET', '/throw') + req('GET', '/ok') + req('GET', '/reject') + req('GET', '/error') + req('GET', '/ok'),
    );
    for (const status of [500, 200, 500, 500, 200]) expect((await c.response()).status).toBe(status);
    expect(await c.closed(200)).toBe(false);
    expect(await (await fetch(`${origin}/ok`)).text()).toBe('fine');
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => String((l.obj.err as Error).message))).toEqual(
      expect.arrayContaining(['thrown on purpose', 'rejected on purpose']),
    );
    expect(errors.every((l) => l.obj.target !== undefined)).toBe(true);
  });

  it('answers a handler that returns no Response with 500 and a log line', async () => {
    const { lines, logger } = memoryLogger();
    const results: Record<string, () => unknown> = {
      '/undefined': () => undefined,
      '/string': () => 'just a string',
      '/object': () => ({ status: 200, body: 'looks like one' }),
      '/async-null': async () => null,
    };
    const { port } = await start((request) => results[new URL(request.url).pathname]!() as Response, { logger });
    for (const path of Object.keys(results)) {
      const res = await exchange(port, req('GET', path));
      expect(res.status, path).toBe(500);
    }
    const messages = lines.filter((l) => l.level === 'error').map((l) => (l.obj.err as Error).message);
    expect(messages).toHaveLength(4);
    for (const m of messages) expect(m).toMatch(/instead of a Response/);
  });

  it('cuts the connection when a streamed body fails after the head went out', async () => {
    const { lines, logger } = memoryLogger();
    const { port, origin } = await start(
      () =>
        new Response(
          new ReadableStream({
            async pull(controller) {
              controller.enqueue(new TextEncoder().encode('first part;'));
              await sleep(50);
              controller.error(new Error('stream failed on purpose'));
            },
          }),
        ),
      { logger },
    );
    const res = await fetch(origin);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();

    const c = await connect(port);
    c.write(req('GET', '/'));
    const rest = await c.rest();
    expect(rest.toString()).toContain('first part;');
    expect(rest.toString()).not.toContain('\r\n0\r\n\r\n');
    expect(lines.some((l) => l.level === 'error' && (l.obj.err as Error).message === 'stream failed on purpose')).toBe(
      true,
    );
  });

  it('answers 500 when a streamed body fails before any of it was written, once logged', async () => {
    const { lines, logger } = memoryLogger();
    const failing: Record<string, () => ReadableStream<Uint8Array>> = {
      '/start': () =>
        new ReadableStream({
          start(controller) {
            controller.error(new Error('failed at start'));
          },
        }),
      '/pull': () =>
        new ReadableStream({
          pull() {
            throw new Error('pull threw');
          },
        }),
    };
    const { port } = await start(
      (request) => {
        const make = failing[new URL(request.url).pathname];
        return new Response(make ? make() : 'fine');
      },
      { logger },
    );
    const c = await connect(port);
    // Pipelined: the answers before and after each failed stream go out whole, in order.
    c.write(req('GET', '/ok') + req('GET', '/start') + req('GET', '/pull') + req('GET', '/ok'));
    const got: RawResponse[] = [];
    for (let i = 0; i < 4; i++) got.push(await c.response());
    expect(got.map((r) => `${r.status} ${r.body}`)).toEqual([
      '200 fine',
      '500 Internal Server Error\n',
      '500 Internal Server Error\n',
      '200 fine',
    ]);
    expect(got[1]!.header('content-length')).toBe('22');
    expect(got[1]!.header('transfer-encoding')).toBeUndefined();
    expect(await c.closed(200)).toBe(false);
    // HTTP/1.0: the body would have been close-delimited; the 500 has a length, then the close.
    const c10 = await connect(port);
    c10.write('GET /pull HTTP/1.0\r\n\r\n');
    const res10 = await c10.response();
    expect(`${res10.version} ${res10.status} ${res10.header('content-length')}`).toBe('HTTP/1.1 500 22');
    expect(await c10.closed()).toBe(true);
    const failed = lines.filter((l) => l.msg === 'the response body stream failed');
    expect(failed.map((l) => `${l.level} ${(l.obj.err as Error).message}`)).toEqual([
      'error failed at start',
      'error pull threw',
      'error pull threw',
    ]);
  });

  it('refuses response headers with CR, LF or NUL: 500 and a log line, nothing written', async () => {
    const { lines, logger } = memoryLogger();
    const bad: Record<string, () => Response> = {
      '/crlf-value': () => new Response('x', { headers: { 'X-A': 'a\r\nX-Injected: yes' } }),
      '/lf-value': () => new Response('x', { headers: [['X-A', 'a\nX-Injected: yes']] }),
      '/nul-value': () => new Response('x', { headers: { 'X-A': 'a\0X-Injected: yes' } }),
      '/cr-name': () => new Response('x', { headers: { 'X-Injected: yes\r\nX-A': 'a' } }),
      '/space-name': () => new Response('x', { headers: [['X-Injected yes', 'a']] }),
    };
    const { port } = await start((request) => bad[new URL(request.url).pathname]!(), { logger });
    for (const path of Object.keys(bad)) {
      const res = await exchange(port, req('GET', path));
      expect(res.status, path).toBe(500);
      expect(res.raw.toString().toLowerCase(), path).not.toContain('x-injected');
    }
    const refused = lines.filter((l) => l.level === 'error' && l.msg === 'refused to write the response');
    expect(refused).toHaveLength(Object.keys(bad).length);
    for (const line of refused) expect(line.obj.err).toMatchObject({ code: 'ERR_TSWS_BAD_RESPONSE' });
  });

  it('survives whatever a client sends, and serves the next client', async () => {
    const { lines, logger } = memoryLogger();
    // Like most apps, this one parses request.url: a URL it cannot parse would be a 500.
    const app = async (request: Request) =>
      new Response(`ok ${new URL(request.url).pathname.length} ${(await request.arrayBuffer()).byteLength}`);
    const { port, origin } = await start(app, {
      logger,
      headerTimeout: 1000,
      keepAliveTimeout: 500,
      bodyTimeout: 1000,
    });
    const inputs: Array<string | Buffer> = [
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n Folded: header\r\n\r\n',
      '\r\n\r\n\r\n',
      `GET /${'%'.repeat(3000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n',
      'GET http://[::1 HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nhalf, then the client leaves',
    ];
    // All at once: each ends with an answer, a close, or a timeout of the server's.
    const answers = await Promise.all(
      inputs.map(async (bytes) => {
        const c = await connect(port);
        c.write(bytes);
        return (await c.rest(4000)).toString('latin1');
      }),
    );
    answers.forEach((all, i) => {
      // Refused, or (for the oddly shaped but valid) answered: never a 5xx.
      expect(all, JSON.stringify(inputs[i]!.toString('latin1').slice(0, 60))).not.toMatch(/^HTTP\/1\.1 5/);
    });
    expect(await (await fetch(origin, { method: 'POST', body: 'abc' })).text()).toBe('ok 1 3');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
