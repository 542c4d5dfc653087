// Timeouts and the connection cap. Deadlines are swept every 500 ms, so each check allows a
// second or more of slack on top of the configured time.
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('timeouts', () => {
  it('headerTimeout: a slowloris client gets 408 and a close, a silent one a quiet close; others are served meanwhile', async () => {
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
    waiting.write(req('POST', '/', ['Content-Length: 100']) + 'only ten b');
    early.write(req('POST', '/early', ['Content-Length: 100']) + 'only ten b');
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

  it('bodyTimeout: a client that stops reading a response is cut off', async () => {
    const size = 32 * 1024 * 1024;
    const { port, server } = await start(() => new Response(new Uint8Array(size)), { bodyTimeout: 1000, keepAliveTimeout: 60_000 });
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
