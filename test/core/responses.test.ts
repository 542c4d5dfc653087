// Writing responses (RFC 9112 §6, RFC 9110 §6.4.1): framing by what the body is, no body where
// none is allowed, Date, repeated Set-Cookie, status text, every headers shape, and Responses
// the server did not make itself.
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { memoryLogger, start } from '../helpers/core.js';
import { connect, exchange, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

// Node's own Response, captured before any server installs the light one.
const RealResponse = globalThis.Response;

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(enc.encode(p));
      controller.close();
    },
  });
}

describe('responses', () => {
  it('frames bodies of known size with Content-Length', async () => {
    const bodies: Record<string, () => Response> = {
      '/string': () => new Response('héllo'),
      '/bytes': () => new Response(new Uint8Array([1, 2, 3])),
      '/buffer': () => new Response(Buffer.from('buffer')),
      '/arraybuffer': () => new Response(new Uint8Array([4, 5, 6, 7]).buffer),
      '/null': () => new Response(null),
      '/empty': () => new Response(''),
    };
    const { port } = await start((request) => bodies[new URL(request.url).pathname]!());
    const expected: Record<string, Buffer> = {
      '/string': Buffer.from('héllo'),
      '/bytes': Buffer.from([1, 2, 3]),
      '/buffer': Buffer.from('buffer'),
      '/arraybuffer': Buffer.from([4, 5, 6, 7]),
      '/null': Buffer.alloc(0),
      '/empty': Buffer.alloc(0),
    };
    const c = await connect(port);
    for (const [path, body] of Object.entries(expected)) {
      c.write(req('GET', path));
      const res = await c.response();
      expect(res.header('content-length'), path).toBe(String(body.length));
      expect(res.header('transfer-encoding'), path).toBeUndefined();
      expect(res.body.equals(body), path).toBe(true);
    }
    // A string body says what it is unless the app did.
    c.write(req('GET', '/string'));
    expect((await c.response()).header('content-type')).toBe('text/plain;charset=UTF-8');
  });

  it('sends a Blob with its Content-Length and type, a file-backed one read from its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsws-blob-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'data.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 'tsws');
    writeFileSync(file, bytes);
    const { port, origin } = await start(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/file') return new Response(await openAsBlob(file, { type: 'application/x-data' }));
      if (path === '/empty') return new Response(new Blob([]));
      return new Response(new Blob(['hello ', 'blob'], { type: 'text/x-blob' }), {
        headers: path === '/typed' ? { 'content-type': 'text/plain' } : {},
      });
    });
    const c = await connect(port);
    c.write(req('GET', '/file') + req('GET', '/') + req('HEAD', '/file') + req('GET', '/typed') + req('GET', '/empty'));
    const fromFile = await c.response({ timeoutMs: 10_000 });
    expect(fromFile.header('content-length')).toBe(String(bytes.length));
    expect(fromFile.header('transfer-encoding')).toBeUndefined();
    expect(fromFile.header('content-type')).toBe('application/x-data');
    expect(Buffer.compare(fromFile.body, bytes)).toBe(0);
    const small = await c.response();
    expect(small.header('content-length')).toBe('10');
    expect(small.header('content-type')).toBe('text/x-blob');
    expect(small.body.toString()).toBe('hello blob');
    const head = await c.response({ head: true });
    expect(head.header('content-length')).toBe(String(bytes.length));
    expect(head.body.length).toBe(0);
    expect((await c.response()).header('content-type')).toBe('text/plain');
    const empty = await c.response();
    expect(empty.header('content-length')).toBe('0');
    // Kept alive through all of them.
    expect(await c.closed(200)).toBe(false);
    expect(await (await fetch(`${origin}/file`)).arrayBuffer()).toEqual(bytes.buffer.slice(0, bytes.length));
  });

  it('streams bodies chunked on HTTP/1.1 and close-delimited on HTTP/1.0', async () => {
    const { port, origin } = await start(() => new Response(streamOf('one,', 'two,', 'three')));
    const c = await connect(port);
    c.write(req('GET', '/'));
    const res = await c.response();
    expect(res.header('transfer-encoding')).toBe('chunked');
    expect(res.header('content-length')).toBeUndefined();
    expect(res.raw.toString()).toContain('\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n');
    expect(await c.closed(200)).toBe(false);

    const old = await connect(port);
    old.write(req('GET', '/', ['Connection: keep-alive'], '', 'HTTP/1.0'));
    const res10 = await old.response();
    expect(res10.header('transfer-encoding')).toBeUndefined();
    expect(res10.header('content-length')).toBeUndefined();
    expect(res10.header('connection')).toBe('close');
    expect(res10.body.toString()).toBe('one,two,three');
    expect(await old.closed()).toBe(true);

    expect(await (await fetch(origin)).text()).toBe('one,two,three');
  });

  it('streams chunks of every size, given at once or after a wait, each in its own chunk', async () => {
    // Sizes on both sides of what the server copies into one write (16 KiB) and of what it
    // gathers before writing (128 KiB); some given in one go, some after a timer.
    const sizes = [1, 10, 1024, 16 * 1024, 16 * 1024 + 1, 100, 128 * 1024, 300 * 1024, 5, 64 * 1024];
    const chunks = sizes.map((n, i) => new Uint8Array(n).fill(97 + i));
    const { port } = await start(() => {
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            if (i % 4 === 3) await sleep(20);
            controller.enqueue(chunks[i]!);
            if (++i === chunks.length) controller.close();
          },
        }),
      );
    });
    const c = await connect(port);
    c.write(req('GET', '/'));
    const res = await c.response({ timeoutMs: 10_000 });
    const framed = chunks.map((b) => `${b.length.toString(16)}\r\n${Buffer.from(b).toString('latin1')}\r\n`);
    const raw = res.raw.toString('latin1');
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe(`${framed.join('')}0\r\n\r\n`);
    // The same over HTTP/1.0, close-delimited.
    const old = await connect(port);
    old.write(req('GET', '/', [], '', 'HTTP/1.0'));
    expect(Buffer.compare((await old.response({ timeoutMs: 10_000 })).body, Buffer.concat(chunks))).toBe(0);
  });

  it('streams a body whose Response was touched after it was made, and refuses a locked stream', async () => {
    let refused = '';
    const { origin } = await start((request) => {
      const stream = streamOf('a', 'b');
      if (new URL(request.url).pathname === '/locked') {
        stream.getReader();
        try {
          new Response(stream);
        } catch (err) {
          refused = (err as Error).constructor.name;
        }
        return new Response('refused');
      }
      const res = new Response(stream, { headers: { 'x-a': '1' } });
      res.headers.set('x-b', '2');
      return res;
    });
    const res = await fetch(origin);
    expect(res.headers.get('x-a')).toBe('1');
    expect(res.headers.get('x-b')).toBe('2');
    expect(await res.text()).toBe('ab');
    expect(await (await fetch(`${origin}/locked`)).text()).toBe('refused');
    expect(refused).toBe('TypeError');
  });

  it('reads an endless stream only as fast as the client takes it', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(1024);
    const { port } = await start(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulled++;
              controller.enqueue(chunk);
            },
          }),
        ),
      { bodyTimeout: 60_000 },
    );
    const c = await connect(port);
    c.socket.pause();
    c.write(req('GET', '/'));
    await sleep(500);
    const soon = pulled;
    await sleep(500);
    // The kernel's buffers and the server's batch fill, then pulling stops.
    expect(pulled).toBe(soon);
    expect(pulled * chunk.length).toBeLessThan(64 * 1024 * 1024);
  });

  it('cancels a streamed body (and aborts request.signal) when the client goes away', async () => {
    let cancelled!: () => void;
    const wasCancelled = new Promise<void>((r) => (cancelled = r));
    let aborted = false;
    let timer: NodeJS.Timeout | undefined;
    const { port, server } = await start((request) => {
      request.signal.addEventListener('abort', () => (aborted = true));
      // An endless event stream, as server-sent events are.
      return new Response(
        new ReadableStream({
          start(controller) {
            timer = setInterval(() => controller.enqueue(new TextEncoder().encode('data: tick\n\n')), 50);
          },
          cancel() {
            clearInterval(timer);
            cancelled();
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    });
    const c = await connect(port);
    c.write(req('GET', '/events'));
    await sleep(200);
    expect(c.pending().toString()).toContain('data: tick');
    c.close();
    const outcome = await Promise.race([
      wasCancelled.then(() => 'cancelled'),
      new Promise((r) => setTimeout(() => r('still running'), 3000)),
    ]);
    clearInterval(timer);
    expect(outcome).toBe('cancelled');
    expect(aborted).toBe(true);
    expect(server.stats().connections).toBe(0);
  });

  it('sends no body for HEAD, but the Content-Length a GET would get', async () => {
    const { port } = await start((request) => {
      const path = new URL(request.url).pathname;
      if (path === '/declared') return new Response(null, { headers: { 'Content-Length': '1234' } });
      if (path === '/stream') return new Response(streamOf('abc'));
      return new Response('twelve bytes');
    });
    const c = await connect(port);
    c.write(req('HEAD', '/') + req('HEAD', '/declared') + req('HEAD', '/stream') + req('GET', '/'));
    const head = await c.response({ head: true });
    expect(head.header('content-length')).toBe('12');
    const declared = await c.response({ head: true });
    expect(declared.header('content-length')).toBe('1234');
    const stream = await c.response({ head: true });
    expect(stream.status).toBe(200);
    expect(stream.header('transfer-encoding')).toBeUndefined();
    // Nothing but the next response follows the HEAD answers.
    const get = await c.response();
    expect(get.body.toString()).toBe('twelve bytes');
    expect(c.pending().length).toBe(0);
  });

  it('sends no body and no framing for 204 and 304', async () => {
    const { port } = await start((request) => {
      const path = new URL(request.url).pathname;
      if (path === '/204') return new Response(null, { status: 204, headers: { 'x-a': '1' } });
      if (path === '/304') return new Response(null, { status: 304, headers: { etag: '"v1"' } });
      return new RealResponse(null, { status: 204 });
    });
    const c = await connect(port);
    c.write(req('GET', '/204') + req('GET', '/304') + req('GET', '/real204') + req('GET', '/204'));
    for (const status of [204, 304, 204, 204]) {
      const res = await c.response();
      expect(res.status).toBe(status);
      expect(res.header('content-length')).toBeUndefined();
      expect(res.header('transfer-encoding')).toBeUndefined();
      expect(res.raw.toString().endsWith('\r\n\r\n')).toBe(true);
    }
    expect(c.pending().length).toBe(0);
  });

  it('adds a Date header, unless the app sets its own', async () => {
    const { port } = await start((request) =>
      new URL(request.url).pathname === '/own'
        ? new Response('x', { headers: { Date: 'Tue, 01 Jan 2030 00:00:00 GMT' } })
        : new Response('x'),
    );
    const res = await exchange(port, req('GET', '/'));
    const date = Date.parse(res.header('date')!);
    expect(Math.abs(date - Date.now())).toBeLessThan(5000);
    expect(res.raw.toString()).toMatch(/\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    const own = await exchange(port, req('GET', '/own'));
    expect(own.all('date')).toEqual(['Tue, 01 Jan 2030 00:00:00 GMT']);
  });

  it('keeps repeated Set-Cookie headers apart, from Headers and from arrays of pairs', async () => {
    const { port } = await start((request) => {
      if (new URL(request.url).pathname === '/headers') {
        const h = new Headers();
        h.append('Set-Cookie', 'a=1; Path=/');
        h.append('Set-Cookie', 'b=2, with comma; Path=/');
        return new Response('h', { headers: h });
      }
      return new Response('p', {
        headers: [
          ['Set-Cookie', 'c=3'],
          ['Set-Cookie', 'd=4; HttpOnly'],
        ],
      });
    });
    const fromHeaders = await exchange(port, req('GET', '/headers'));
    expect(fromHeaders.all('set-cookie')).toEqual(['a=1; Path=/', 'b=2, with comma; Path=/']);
    const fromPairs = await exchange(port, req('GET', '/pairs'));
    expect(fromPairs.all('set-cookie')).toEqual(['c=3', 'd=4; HttpOnly']);
  });

  it('uses a custom status text, and the standard one otherwise', async () => {
    const { port } = await start((request) =>
      new URL(request.url).pathname === '/custom'
        ? new Response('x', { status: 299, statusText: 'Quite Fine' })
        : new Response('x', { status: 418 }),
    );
    expect((await exchange(port, req('GET', '/custom'))).raw.toString()).toMatch(/^HTTP\/1\.1 299 Quite Fine\r\n/);
    expect((await exchange(port, req('GET', '/std'))).raw.toString()).toMatch(/^HTTP\/1\.1 418 I'm a Teapot\r\n/i);
  });

  it('writes app headers given as an object, pairs or Headers, names as given', async () => {
    const shapes: Record<string, () => ResponseInit['headers']> = {
      '/object': () => ({ 'X-Mixed-Case': 'one', 'content-type': 'text/x-a' }),
      '/pairs': () => [
        ['X-Mixed-Case', 'one'],
        ['content-type', 'text/x-a'],
      ],
      '/headers': () => new Headers({ 'X-Mixed-Case': 'one', 'content-type': 'text/x-a' }),
      '/map': () =>
        new Map([
          ['X-Mixed-Case', 'one'],
          ['content-type', 'text/x-a'],
        ]) as unknown as ResponseInit['headers'],
    };
    const { port } = await start(
      (request) => new Response('body', { headers: shapes[new URL(request.url).pathname]!() }),
    );
    for (const path of Object.keys(shapes)) {
      const res = await exchange(port, req('GET', path));
      expect(res.header('x-mixed-case'), path).toBe('one');
      expect(res.all('content-type'), path).toEqual(['text/x-a']);
      expect(res.body.toString()).toBe('body');
    }
    // The app's spelling reaches the wire; the server's own names are capitalised.
    const raw = (await exchange(port, req('GET', '/object'))).raw.toString();
    expect(raw).toContain('\r\nX-Mixed-Case: one\r\n');
    expect(raw).toContain('\r\nContent-Length: 4\r\n');
  });

  it('serves Response.json() and Response.redirect()', async () => {
    const { origin } = await start((request) => {
      const path = new URL(request.url).pathname;
      if (path === '/json') return Response.json({ ok: true, list: [1, 'two'] });
      if (path === '/json-init') return Response.json({ created: 1 }, { status: 201, headers: { 'x-extra': 'y' } });
      if (path === '/redirect') return Response.redirect(`${new URL(request.url).origin}/json`, 307);
      return Response.redirect('http://example.invalid/elsewhere', 302);
    });
    const json = await fetch(`${origin}/json`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ ok: true, list: [1, 'two'] });
    const init = await fetch(`${origin}/json-init`);
    expect(init.status).toBe(201);
    expect(init.headers.get('x-extra')).toBe('y');
    expect(init.headers.get('content-type')).toBe('application/json');
    expect(await init.json()).toEqual({ created: 1 });
    const followed = await fetch(`${origin}/redirect`);
    expect(followed.redirected).toBe(true);
    expect(await followed.json()).toEqual({ ok: true, list: [1, 'two'] });
    const manual = await fetch(`${origin}/plain`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe('http://example.invalid/elsewhere');
  });

  it("serves real Responses: one fetched from another server, and Node's own", async () => {
    const upstream = await start((request) => {
      const n = Number(new URL(request.url).searchParams.get('n') ?? 0);
      return new Response(streamOf(...Array.from({ length: n }, (_, i) => `part${i};`)), {
        status: 203,
        headers: { 'x-upstream': 'yes', 'content-type': 'text/x-up' },
      });
    });
    const { lines, logger } = memoryLogger();
    const { origin } = await start(
      async (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/proxy') return fetch(`${upstream.origin}/?n=50`);
        if (path === '/real-text') return new RealResponse('real body', { headers: { 'x-real': '1' } });
        const res = await fetch(`${upstream.origin}/?n=3`);
        await res.text(); // a fetched Response whose body was read cannot be served again
        return res;
      },
      { logger },
    );
    const proxied = await fetch(`${origin}/proxy`);
    expect(proxied.status).toBe(203);
    expect(proxied.headers.get('x-upstream')).toBe('yes');
    expect(proxied.headers.get('content-type')).toBe('text/x-up');
    expect(await proxied.text()).toBe(Array.from({ length: 50 }, (_, i) => `part${i};`).join(''));
    const real = await fetch(`${origin}/real-text`);
    expect(real.headers.get('x-real')).toBe('1');
    expect(await real.text()).toBe('real body');
    const used = await fetch(`${origin}/used`);
    expect(used.status).toBe(500);
    expect(lines.map((l) => [l.level, l.msg, (l.obj.err as Error).message])).toEqual([
      ['error', 'refused to write the response', 'the response body was already read'],
    ]);
  });
});
