// Slow and greedy clients: slowloris headers, stalled bodies, readers that do not keep up with
// a 100 MiB response, and connection floods past maxConnections. The server must cut the slow
// ones off, keep serving everyone else, buffer nothing it does not need, and leak nothing.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { start } from '../helpers/core.js';
import { type Child, startChild } from '../helpers/fuzz.mjs';
import { connect, type RawClient, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const MIB = 1024 * 1024;

/** The server process's resident memory now, from /proc (no GC first: what it really holds). */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process is gone
  }
}

/** Sends `data` a byte every `delayMs`, stopping once the server has closed the connection. */
async function trickleUntilClosed(c: RawClient, data: string, delayMs: number): Promise<void> {
  for (const byte of Buffer.from(data, 'latin1')) {
    if (c.socket.destroyed || c.socket.readableEnded) return;
    c.socket.write(Buffer.from([byte]));
    await sleep(delayMs);
  }
}

async function child(options: Record<string, unknown>): Promise<Child> {
  const c = await startChild(options);
  onTestFinished(() => c.stop());
  return c;
}

/** Polls `stats()` until `ok` holds or 10 s pass; returns the last stats. */
async function statsWhen(c: Child, ok: (s: Awaited<ReturnType<Child['stats']>>) => boolean) {
  const deadline = Date.now() + 10_000;
  let s = await c.stats();
  while (!ok(s) && Date.now() < deadline) {
    await sleep(100);
    s = await c.stats();
  }
  return s;
}

/** A normal client asking every 100 ms, each time on a fresh connection; records the slowest answer. */
function steadyClient(port: number) {
  let running = true;
  let served = 0;
  let slowest = 0;
  const statuses: number[] = [];
  const done = (async () => {
    while (running) {
      const t0 = Date.now();
      const c = await connect(port);
      c.write(req('GET', '/ok', ['Connection: close']));
      const res = await c.response();
      c.close();
      statuses.push(res.status);
      slowest = Math.max(slowest, Date.now() - t0);
      served++;
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      expect(statuses.every((s) => s === 200)).toBe(true);
      return { served, slowest };
    },
  };
}

describe('slowloris: headers one byte at a time', () => {
  it('is cut off by headerTimeout with 408 while other clients are served promptly', async () => {
    // The loris hold their connections for about 2 s; a server they could block would keep the
    // normal client waiting about that long.
    const { port } = await start(() => new Response('ok'), { headerTimeout: 2000 });
    const normal = steadyClient(port);
    // 20 clients, each sending a byte every 150 ms from the moment it connects: their headers
    // would take 9 s.
    const request = req('GET', '/slow', ['X-Pad: '.padEnd(40, 'x')]);
    const t0 = Date.now();
    const loris = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
    const trickles = loris.map((c) => trickleUntilClosed(c, request, 150));
    const answers = await Promise.all(loris.map((c) => c.response({ timeoutMs: 6000 })));
    const elapsed = Date.now() - t0;
    for (const res of answers) {
      expect(res.status).toBe(408);
      expect(res.header('connection')).toBe('close');
    }
    for (const c of loris) expect(await c.closed(3000)).toBe(true);
    // Not before the timeout (the clock is coarse: 500 ms ticks), and well before the headers end.
    expect(elapsed).toBeGreaterThan(1000);
    expect(elapsed).toBeLessThan(7000);
    await Promise.all(trickles);
    const { served, slowest } = await normal.stop();
    expect(served).toBeGreaterThan(3);
    expect(slowest, 'the slowest normal request, in ms').toBeLessThan(1500);
  });
});

describe('slow request bodies', () => {
  it('a body that stalls is cut off by bodyTimeout with 408', async () => {
    const { port } = await start(async (request) => new Response(await request.text()), { bodyTimeout: 1000 });
    const normal = steadyClient(port);
    const c = await connect(port);
    const t0 = Date.now();
    c.write(req('POST', '/upload', ['Content-Length: 100']));
    c.write('only ten b');
    const res = await c.response({ timeoutMs: 6000 });
    expect(res.status).toBe(408);
    expect(Date.now() - t0).toBeGreaterThan(400);
    expect(await c.closed(3000)).toBe(true);
    const { slowest } = await normal.stop();
    expect(slowest).toBeLessThan(1500);
  });

  it('a body that is slow but keeps coming is not cut off (bodyTimeout is a stall limit)', async () => {
    const { port } = await start(async (request) => new Response(`got ${await request.text()}`), { bodyTimeout: 2000 });
    const c = await connect(port);
    c.write(req('POST', '/upload', ['Content-Length: 8']));
    // 8 bytes over about 2.4 s: longer than bodyTimeout in total, never stalled for long.
    await c.trickle('patience', 300);
    const res = await c.response();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got patience');
  });
});

describe('a slow reader of a 100 MiB streamed response', () => {
  /** Requests /__stream?mib=100 with node:http and hands back the response, paused. */
  async function get100(port: number) {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = http.get({ host: '127.0.0.1', port, path: '/__stream?mib=100', agent: false }, resolve);
      r.on('error', reject);
    });
    res.pause();
    onTestFinished(() => {
      res.destroy();
    });
    return res;
  }

  it('is fed by backpressure: server memory stays flat, and every byte arrives', async () => {
    const server = await child({ bodyTimeout: 5000 });
    const base = rssOf(server.pid);
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    onTestFinished(() => {
      socket.destroy();
    });
    socket.write('GET /__stream?mib=100 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
    let received = 0;
    let tail = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      received += d.length;
      tail = Buffer.concat([tail, d]).subarray(-5);
    });
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    // About 3 s of a reader taking one read (at most 64 KiB) every 50 ms, then one that keeps up.
    let peak = 0;
    socket.pause();
    for (let i = 0; i < 60; i++) {
      socket.resume();
      await new Promise<void>((r) => socket.once('data', () => r()));
      socket.pause();
      await sleep(50);
      peak = Math.max(peak, rssOf(server.pid));
    }
    const slowPart = received;
    socket.resume();
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(server.pid))), 50);
    await ended;
    clearInterval(sampler);
    expect(slowPart).toBeLessThan(40 * MIB);
    // The head, then 1600 chunks of 64 KiB ("10000\r\n" + data + "\r\n"), then the last chunk.
    const head =
      'HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 00:00:00 GMT\r\ncontent-type: application/octet-stream\r\n' +
      'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
    expect(received).toBe(head.length + 1600 * (7 + 65536 + 2) + 5);
    expect(tail.toString()).toBe('0\r\n\r\n');
    // Measured: 25 MiB (the first stream's code and heap). A server that held what the reader had
    // not taken would grow by most of the 100 MiB.
    expect(peak - base, `RSS growth while streaming (base ${(base / MIB).toFixed(0)} MiB)`).toBeLessThan(64 * MIB);
    const after = await statsWhen(server, (s) => s.connections === 0);
    expect(after.connections).toBe(0);
  });

  it('a reader that stops reading is cut off after bodyTimeout, holding no memory', async () => {
    const server = await child({ bodyTimeout: 2000 });
    const base = rssOf(server.pid);
    await get100(server.port);
    // The client reads nothing more (a paused socket does not even see the server's FIN, so
    // watch the server's side): the stalled write counts against bodyTimeout.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(server.pid))), 100);
    const t0 = Date.now();
    const after = await statsWhen(server, (s) => s.connections === 0);
    const elapsed = Date.now() - t0;
    clearInterval(sampler);
    expect(after.connections).toBe(0);
    // 2 s, on a clock that ticks every 500 ms.
    expect(elapsed).toBeGreaterThan(1000);
    expect(elapsed).toBeLessThan(8000);
    expect(peak - base, 'RSS growth while the client did not read').toBeLessThan(100 * 1e6);
  });
});

describe('idle streams (event streams between events)', () => {
  it('hold none of the chunks already sent', async () => {
    const CLIENTS = 40;
    const server = await child({});
    const baseline = await server.stats();
    // Each stream sends one 1 MiB chunk of its own, then nothing: the server must not keep it.
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const s = net.connect({ port: server.port, host: '127.0.0.1' });
        onTestFinished(() => {
          s.destroy();
        });
        // Until the whole chunk is in: the head, then `100000\r\n`, 1 MiB and its CRLF.
        let got = Buffer.alloc(0);
        let body = -1;
        s.on('data', (d: Buffer) => {
          if (body < 0) {
            got = Buffer.concat([got, d]);
            const end = got.indexOf('\r\n\r\n');
            if (end >= 0) body = got.length - end - 4;
          } else body += d.length;
        });
        s.write(req('GET', '/__hold?kib=1024'));
        while (body < MIB + 10) await sleep(20);
        return s;
      }),
    );
    expect(clients).toHaveLength(CLIENTS);
    // Sent means gone, once Node has seen its writes complete: a few MiB of slack for what V8
    // and Node keep around, far below the 40 MiB sent.
    const held = await statsWhen(server, (s) => s.arrayBuffers - baseline.arrayBuffers < 8 * MIB);
    expect(held.connections).toBe(CLIENTS);
    expect(held.arrayBuffers - baseline.arrayBuffers, 'buffers held by idle streams').toBeLessThan(8 * MIB);
  });
});

describe('a connection flood up to maxConnections', () => {
  it('closes the excess cleanly, keeps serving the admitted, and leaks nothing', async () => {
    const CAP = 100;
    const server = await child({ maxConnections: CAP, headerTimeout: 20_000, keepAliveTimeout: 20_000 });
    const baseline = await server.stats();

    // CAP keep-alive clients, each served once.
    const admitted: RawClient[] = [];
    for (let i = 0; i < CAP; i++) {
      const c = await connect(server.port);
      c.write(req('GET', `/a${i}`));
      admitted.push(c);
    }
    for (const c of admitted) expect((await c.response()).status).toBe(200);
    expect((await server.stats()).connections).toBe(CAP);

    // As many again: each is accepted by the kernel, then closed by the server unanswered.
    const excess = await Promise.all(
      Array.from(
        { length: CAP },
        () =>
          new Promise<{ bytes: number; how: string }>((resolve) => {
            const s = net.connect({ port: server.port, host: '127.0.0.1' });
            let bytes = 0;
            let how = 'open';
            s.on('data', (d) => (bytes += d.length));
            s.on('end', () => (how = 'end'));
            s.on('error', (err: NodeJS.ErrnoException) => (how = err.code ?? 'error'));
            s.on('close', () => resolve({ bytes, how }));
            setTimeout(() => s.destroy(), 5000);
          }),
      ),
    );
    for (const e of excess) {
      expect(e.bytes).toBe(0);
      expect(e.how, 'closed by the server with a FIN').toBe('end');
    }
    expect((await server.stats()).connections).toBe(CAP);

    // The admitted ones are unaffected: each answers again on its own connection.
    for (const [i, c] of admitted.entries()) c.write(req('GET', `/b${i}`));
    for (const c of admitted) expect((await c.response()).status).toBe(200);

    // Once they all go, the server is back where it started.
    for (const c of admitted) c.close();
    const after = await statsWhen(server, (s) => s.connections === 0 && s.fds <= baseline.fds);
    expect(after.connections).toBe(0);
    expect(after.fds, `fds before ${baseline.fds}`).toBeLessThanOrEqual(baseline.fds);
    // After a GC the heap is back; RSS keeps some of what V8 and malloc grew into.
    expect(after.heapUsed - baseline.heapUsed, 'heap growth after GC').toBeLessThan(5 * 1e6);
    expect(after.rss - baseline.rss, 'RSS growth after GC').toBeLessThan(50 * 1e6);

    // And it still admits new connections.
    const fresh = await connect(server.port);
    fresh.write(req('GET', '/c'));
    expect((await fresh.response()).status).toBe(200);
  });
});
