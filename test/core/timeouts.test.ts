// Timeouts and the connection cap. Deadlines are swept every 500 ms, so each check allows a
// second or more of slack on top of the configured time.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryLogger, start } from '../helpers/core.js';
import { connect, type RawClient, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

describe('timeouts', () => {
  it('headerTimeout: slowloris gets 408 and a close, a silent client a quiet close; others are served', async () => {
    const { port, origin } = await start(() => new Response('ok'), { headerTimeout: 1000 });
    const silent = await connect(port);
    const slow = await connect(port);
    const began = Date.now();
    let stop = false;
    // One byte every 100 ms, forever: the header never ends.
    void (async () => {
      const head = 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ';
      for (let i = 0; !stop && !slow.socket.destroyed; i++) {
        slow.write(i < head.length ? head[i]! : 'z');
        await sleep(100);
      }
    })();
    await sleep(300);
    const t0 = Date.now();
    const res = await fetch(origin);
    expect(await res.text()).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(1000);

    const timedOut = await slow.response({ timeoutMs: 5000 });
    stop = true;
    const elapsed = Date.now() - began;
    expect(timedOut.status).toBe(408);
    expect(timedOut.header('connection')).toBe('close');
    expect(await slow.closed()).toBe(true);
    expect(elapsed).toBeGreaterThan(400);
    expect(elapsed).toBeLessThan(4000);
    // A connection that never sent a byte is closed without an answer.
    expect(await silent.closed(3000)).toBe(true);
    expect(silent.pending().length).toBe(0);
  });

  it('keepAliveTimeout: an idle connection is closed quietly, a busy one is kept', async () => {
    const { port, server } = await start(() => new Response('ok'), { keepAliveTimeout: 1000 });
    const busy = await connect(port);
    const idle = await connect(port);
    idle.write(req('GET', '/'));
    expect((await idle.response()).status).toBe(200);
    // The busy one asks every 400 ms, under the timeout each time.
    for (let i = 0; i < 4; i++) {
      busy.write(req('GET', '/'));
      expect((await busy.response()).status).toBe(200);
      await sleep(400);
    }
    expect(await idle.closed(3000)).toBe(true);
    expect(idle.pending().length).toBe(0);
    expect(await busy.closed(0)).toBe(false);
    expect(server.stats().connections).toBe(1);
  });

  it('bodyTimeout: a stalled body gets 408 and a close, also when the app answered without it', async () => {
    let appSaw = '';
    const { port } = await start(
      async (request) => {
        if (new URL(request.url).pathname === '/early') return new Response('answered early');
        try {
          await request.text();
        } catch (err) {
          appSaw = (err as Error).message;
        }
        return new Response('app answer');
      },
      { bodyTimeout: 1000, keepAliveTimeout: 60_000, headerTimeout: 60_000 },
    );
    const waiting = await connect(port);
    const early = await connect(port);
    const began = Date.now();
    waiting.write(`${req('POST', '/', ['Content-Length: 100'])}only ten b`);
    early.write(`${req('POST', '/early', ['Content-Length: 100'])}only ten b`);
    // The app that waited for the body: 408, and it saw the body fail.
    const res = await waiting.response({ timeoutMs: 5000 });
    expect(res.status).toBe(408);
    expect(res.header('connection')).toBe('close');
    expect(await waiting.closed()).toBe(true);
    expect(Date.now() - began).toBeLessThan(4000);
    expect(appSaw).not.toBe('');
    // The app that answered first: its answer, then (the rest of the body never coming) a close,
    // well before keepAliveTimeout.
    expect((await early.response()).body.toString()).toBe('answered early');
    expect(await early.closed(3000)).toBe(true);
  });

  it('bodyTimeout: an upload is not cut for the time the event loop was blocked; a stalled one still is', async () => {
    const { logger, lines } = memoryLogger();
    const { port } = await start(async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength}`), {
      bodyTimeout: 1000,
      logger,
    });
    const steady = await connect(port);
    const stalled = await connect(port);
    const chunks = 30;
    steady.write(req('POST', '/', [`Content-Length: ${chunks * 1024}`]));
    stalled.write(`${req('POST', '/', ['Content-Length: 2048'])}${'x'.repeat(1024)}`);
    // 1 KiB every 100 ms, with the loop blocked for longer than bodyTimeout along the way: the
    // server cannot read meanwhile (nor, in this process, the client send), and on waking its
    // timers run before it reads what came.
    for (let i = 0; i < chunks; i++) {
      steady.write('y'.repeat(1024));
      await sleep(100);
      if (i === 5) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    }
    const res = await steady.response({ timeoutMs: 5000 });
    expect(`${res.status} ${res.body}`).toBe(`200 got ${chunks * 1024}`);
    expect((await stalled.response({ timeoutMs: 5000 })).status).toBe(408);
    const cuts = lines.filter((l) => l.level === 'warn');
    expect(cuts.map((l) => `${l.msg}: ${l.obj.receivedBytes}`)).toEqual([
      'cut a request body that stopped arriving: 1024',
    ]);
  });

  it('bodyTimeout: a client that stops reading a response is cut off', async () => {
    const size = 32 * 1024 * 1024;
    const { port, server } = await start(() => new Response(new Uint8Array(size)), {
      bodyTimeout: 1000,
      keepAliveTimeout: 60_000,
    });
    const c = await connect(port);
    c.socket.pause();
    c.write(req('GET', '/'));
    await sleep(200);
    expect(server.stats().connections).toBe(1);
    const deadline = Date.now() + 4000;
    while (server.stats().connections > 0 && Date.now() < deadline) await sleep(50);
    expect(server.stats().connections).toBe(0);
    c.socket.resume();
    expect(await c.closed()).toBe(true);
    // What arrived is a truncated response.
    expect(c.pending().length).toBeLessThan(size);
  });

  it('bodyTimeout: a reader that stops is cut no sooner than bodyTimeout after it took its last byte', async () => {
    // Stamped on a clock up to a tick stale, the stall looked older than it was: started a fifth of
    // a tick apart, some of these would be cut that much early.
    const cuts: number[] = [];
    const logger = { ...memoryLogger().logger, warn: () => cuts.push(Date.now()) };
    const body = new Uint8Array(32 * 1024 * 1024);
    const { port } = await start(() => new Response(body), { bodyTimeout: 1000, logger });
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await connect(port);
      c.socket.pause();
      sent.push(Date.now());
      c.write(req('GET', '/'));
      await sleep(100);
    }
    const deadline = Date.now() + 5000;
    while (cuts.length < sent.length && Date.now() < deadline) await sleep(50);
    expect(cuts.length).toBe(sent.length);
    // Each stall began after its request was sent; the k-th cut is no sooner than the k-th send's.
    cuts.sort((a, b) => a - b);
    for (let k = 0; k < sent.length; k++) expect(cuts[k]! - sent[k]!).toBeGreaterThanOrEqual(1000);
  });
});

describe('slow but steady readers', () => {
  // Larger than what loopback's kernel buffers hold, so what is cut shows.
  const size = 16 * 1024 * 1024;
  const body = new Uint8Array(size).map((_, i) => i % 251);
  const digest = createHash('sha256').update(body).digest('hex');

  /** Sends `head`, then reads at about `rate` bytes a second, never pausing for long. */
  async function slowReader(port: number, head: string, rate: number): Promise<RawClient> {
    const c = await connect(port);
    c.write(head);
    const started = Date.now();
    let got = 0;
    c.socket.on('data', (d: Buffer) => {
      got += d.length;
      const ahead = got / rate - (Date.now() - started) / 1000;
      if (ahead > 0.01) {
        c.socket.pause();
        setTimeout(() => c.socket.resume(), Math.min(70, ahead * 1000));
      }
    });
    return c;
  }

  const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('get every byte of a body that takes far longer than bodyTimeout to read, whatever the framing', async () => {
    const { logger, lines } = memoryLogger();
    // Twice what checks on a loaded machine need, and still far less than a read takes. The
    // keep-alive reader may finish seconds before the others: its connection must wait for them.
    const { port } = await start(() => new Response(body), { bodyTimeout: 2000, keepAliveTimeout: 60_000, logger });
    const rate = 4 * 1024 * 1024; // about 4 s each, read side by side
    const close = await slowReader(port, req('GET', '/', ['Connection: close']), rate);
    const http10 = await slowReader(port, 'GET / HTTP/1.0\r\n\r\n', rate);
    const keepAlive = await slowReader(port, req('GET', '/'), rate);
    const responses = await Promise.all([close, http10, keepAlive].map((c) => c.response({ timeoutMs: 30_000 })));
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(size);
      expect(hash(res.body)).toBe(digest);
    }
    expect(await close.closed(5000)).toBe(true);
    expect(await http10.closed(5000)).toBe(true);
    // The keep-alive connection is still there for the next request.
    keepAlive.write(req('GET', '/'));
    expect((await keepAlive.response({ timeoutMs: 30_000 })).body.length).toBe(size);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('are not cut for the time the event loop was blocked', async () => {
    const { logger, lines } = memoryLogger();
    const { port } = await start(() => new Response(body), { bodyTimeout: 1000, logger });
    const c = await slowReader(port, req('GET', '/'), 4 * 1024 * 1024);
    await sleep(1000);
    // Blocked for longer than bodyTimeout: libuv hands the kernel nothing meanwhile, so the
    // output looks stalled, though the client has read all along.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    const res = await c.response({ timeoutMs: 30_000 });
    expect(res.body.length).toBe(size);
    expect(hash(res.body)).toBe(digest);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });
});

describe('maxConnections', () => {
  it('closes connections over the cap and serves the rest', async () => {
    const { port, server } = await start(() => new Response('ok'), { maxConnections: 2 });
    const a = await connect(port);
    const b = await connect(port);
    a.write(req('GET', '/'));
    b.write(req('GET', '/'));
    expect((await a.response()).status).toBe(200);
    expect((await b.response()).status).toBe(200);

    const excess = await connect(port);
    excess.write(req('GET', '/'));
    expect(await excess.closed()).toBe(true);
    expect(excess.pending().length).toBe(0);

    // The two held connections are still served.
    a.write(req('GET', '/'));
    expect((await a.response()).status).toBe(200);

    // Room again once one leaves.
    b.close();
    const deadline = Date.now() + 3000;
    while (server.stats().connections > 1 && Date.now() < deadline) await sleep(20);
    const next = await connect(port);
    next.write(req('GET', '/'));
    expect((await next.response()).status).toBe(200);
  });
});
