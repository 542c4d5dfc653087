// The DoS limits (options.ts): each accepts a request exactly at the limit, refuses one byte or
// one field over it with its status and a close, and is off at 0.
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, exchange, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const echo = async (request: Request) =>
  new Response(`${request.method} ${new URL(request.url).pathname.length} ${(await request.arrayBuffer()).byteLength}`);

/** Sends `bytes` on a new connection: the response, and whether the server then closed. */
async function send(port: number, bytes: string) {
  const c = await connect(port);
  c.write(bytes);
  const res = await c.response();
  return { res, closed: res.header('connection') === 'close' && (await c.closed()) };
}

function headers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `X-H${i}: v`);
}

describe('limits', () => {
  it('limitRequestLine: 414 for a request line over the limit', async () => {
    const { port } = await start(echo, { limitRequestLine: 100 });
    // "GET " + target + " HTTP/1.1" is the target plus 13 bytes.
    const atLimit = `/${'a'.repeat(100 - 13 - 1)}`;
    const ok = await send(port, req('GET', atLimit));
    expect(ok.res.status).toBe(200);
    expect(ok.res.body.toString()).toBe(`GET ${atLimit.length} 0`);
    const over = await send(port, req('GET', `${atLimit}a`));
    expect(over.res.status).toBe(414);
    expect(over.closed).toBe(true);
    // The method counts too.
    expect((await send(port, req('DELETE', atLimit))).res.status).toBe(414);
  });

  it('limitRequestFields: 431 for more header fields than the limit', async () => {
    const { port } = await start(echo, { limitRequestFields: 5 });
    // Host is one of the five.
    expect((await send(port, req('GET', '/', headers(4)))).res.status).toBe(200);
    const over = await send(port, req('GET', '/', headers(5)));
    expect(over.res.status).toBe(431);
    expect(over.closed).toBe(true);
  });

  it('limitRequestFieldSize: 431 for a header field (name plus value) over the limit', async () => {
    const { port } = await start(echo, { limitRequestFieldSize: 100 });
    expect((await send(port, req('GET', '/', [`X-Big: ${'v'.repeat(100 - 5)}`]))).res.status).toBe(200);
    const over = await send(port, req('GET', '/', [`X-Big: ${'v'.repeat(100 - 4)}`]));
    expect(over.res.status).toBe(431);
    expect(over.closed).toBe(true);
    // A long name counts the same way.
    expect((await send(port, req('GET', '/', [`X-${'n'.repeat(98)}: v`]))).res.status).toBe(431);
  });

  it('limitRequestBody: 413 from Content-Length before the body is sent', async () => {
    const { port } = await start(echo, { limitRequestBody: 1000 });
    expect((await send(port, req('POST', '/', [], 'b'.repeat(1000)))).res.body.toString()).toBe('POST 1 1000');
    // Only the head goes out: the answer must not wait for the body.
    const c = await connect(port);
    c.write(req('POST', '/', ['Content-Length: 1001']));
    const res = await c.response({ timeoutMs: 3000 });
    expect(res.status).toBe(413);
    expect(res.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
  });

  it('limitRequestBody: chunked bodies are counted as they arrive', async () => {
    const { port } = await start(echo, { limitRequestBody: 1000 });
    const chunked = (sizes: number[]) =>
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
      `${sizes.map((n) => `${n.toString(16)}\r\n${'c'.repeat(n)}\r\n`).join('')}0\r\n\r\n`;
    expect((await send(port, chunked([600, 400]))).res.body.toString()).toBe('POST 1 1000');
    const over = await send(port, chunked([600, 401]));
    expect(over.res.status).toBe(413);
    expect(over.closed).toBe(true);

    // The app may already be reading when the limit trips: it sees the body fail, the client a 413.
    let appSaw = '';
    const reading = await start(
      async (request) => {
        try {
          await request.text();
          appSaw = 'whole body';
        } catch (err) {
          appSaw = `error: ${(err as Error).message}`;
        }
        return new Response('app answer');
      },
      { limitRequestBody: 1000 },
    );
    const c = await connect(reading.port);
    c.write(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${'c'.repeat(600)}\r\n`);
    await sleep(100);
    c.write(`191\r\n${'c'.repeat(401)}\r\n0\r\n\r\n`);
    const res = await c.response();
    expect(res.status).toBe(413);
    expect(await c.closed()).toBe(true);
    expect(appSaw).toMatch(/^error: /);
  });

  it('has defaults in force: 1 MiB bodies, 8190-byte lines, 100 fields', async () => {
    const { port } = await start(echo);
    expect((await exchange(port, req('POST', '/', [`Content-Length: ${1024 * 1024 + 1}`]))).status).toBe(413);
    expect((await exchange(port, req('GET', `/${'a'.repeat(8190)}`))).status).toBe(414);
    expect((await exchange(port, req('GET', '/', headers(100)))).status).toBe(431);
    expect((await exchange(port, req('GET', '/', [`X-Big: ${'v'.repeat(8190)}`]))).status).toBe(431);
  });

  it('turns each limit off at 0', async () => {
    const { port } = await start(echo, {
      limitRequestLine: 0,
      limitRequestFields: 0,
      limitRequestFieldSize: 0,
      limitRequestBody: 0,
    });
    const longPath = `/${'a'.repeat(20_000)}`;
    expect((await exchange(port, req('GET', longPath))).body.toString()).toBe(`GET ${longPath.length} 0`);
    expect((await exchange(port, req('GET', '/', headers(300)))).status).toBe(200);
    expect((await exchange(port, req('GET', '/', [`X-Big: ${'v'.repeat(20_000)}`]))).status).toBe(200);
    const big = 2 * 1024 * 1024;
    const res = await exchange(port, req('POST', '/', [], 'b'.repeat(big)), { timeoutMs: 10_000 });
    expect(res.body.toString()).toBe(`POST 1 ${big}`);
  });
});
