// -k node's HTTP/2 port and its timeouts: --body-timeout per stream (a request body that stops
// arriving, a response its client stops reading: that stream is reset, the session lives on) and
// --header-timeout on the HTTP/1.1 connections node:http2 falls back to. Slow but steady clients
// are never cut.
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import type { Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.mjs';
import { parseLogs } from '../master/helpers.js';
import { RUNNERS, serve } from './serve.js';

const { NGHTTP2_CANCEL } = http2.constants;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stream's end: its status, the bytes it got, its RST_STREAM code, how long it took. */
function outcome(stream: http2.ClientHttp2Stream, began: number) {
  return new Promise<{ status: number; bytes: number; text: string; rstCode: number; ms: number }>((resolve) => {
    let status = 0;
    let bytes = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
      if (text.length < 100) text += d;
    });
    stream.on('error', () => {});
    stream.on('close', () => resolve({ status, bytes, text, rstCode: stream.rstCode ?? 0, ms: Date.now() - began }));
  });
}

/** tsws -k node serving `app` over h1 and h2c with `args`, and an h2c session to it. */
async function h2cSession(app: string, args: string[]) {
  const { port, proc } = await serve(RUNNERS[0]!, app, ['-k', 'node', '--http-protocols', 'h1,h2', ...args]);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  return { session, proc };
}

const h2cWithBodyTimeout = () => h2cSession('node-transfer.js', ['--body-timeout', '1']);

const logged = (proc: Proc, msg: string) =>
  until(`"${msg}" logged`, () => parseLogs(proc.err()).some((l) => l.msg === msg), 5000);

describe('-k node HTTP/2: --body-timeout per stream', () => {
  it('a request body that stops arriving is reset after the timeout; a slow steady one is served', async () => {
    const { session, proc } = await h2cWithBodyTimeout();
    try {
      const stalled = session.request({ ':method': 'POST', ':path': '/upload' });
      const stalledEnd = outcome(stalled, Date.now());
      stalled.write(Buffer.alloc(1000, 'a'));
      // On the same session, meanwhile: 12 pieces 250 ms apart, 3 s in all.
      const steady = session.request({ ':method': 'POST', ':path': '/upload' });
      const steadyEnd = outcome(steady, Date.now());
      for (let i = 0; i < 12; i++) {
        steady.write(Buffer.alloc(100, 'b'));
        await sleep(250);
      }
      steady.end();
      const cut = await stalledEnd;
      expect(cut.rstCode).toBe(NGHTTP2_CANCEL);
      expect(cut.ms).toBeGreaterThanOrEqual(900);
      expect(cut.ms).toBeLessThan(2900);
      expect(await steadyEnd).toMatchObject({ status: 200, text: 'got 1200', rstCode: 0 });
    } finally {
      session.close();
    }
    await logged(proc, 'cut a request body that stopped arriving');
  });

  it('a response its client stops reading is reset after the timeout; a slow steady reader gets it all', async () => {
    const { session, proc } = await h2cWithBodyTimeout();
    try {
      const size = 8 * 1024 * 1024;
      const stalled = session.request({ ':path': `/download?bytes=${size}` });
      const stalledEnd = outcome(stalled, Date.now());
      // Reads the first piece, then never again: flow control stops the server.
      stalled.once('data', () => stalled.pause());
      // Meanwhile 1 MiB read at about 320 KiB/s: 3 s, each pause well under the timeout.
      const steady = session.request({ ':path': `/download?bytes=${1024 * 1024}` });
      const steadyEnd = outcome(steady, Date.now());
      steady.on('data', () => {
        steady.pause();
        setTimeout(() => steady.resume(), 50);
      });
      const cut = await stalledEnd;
      expect(cut.rstCode).toBe(NGHTTP2_CANCEL);
      expect(cut.bytes).toBeLessThan(size);
      expect(cut.ms).toBeGreaterThanOrEqual(900);
      expect(await steadyEnd).toMatchObject({ status: 200, bytes: 1024 * 1024, rstCode: 0 });
    } finally {
      session.close();
    }
    await logged(proc, 'cut a client that stopped reading its response');
  });
});

describe("-k node HTTP/2: --header-timeout for a session's first stream", () => {
  it('a session that opens no stream is closed after the timeout, even with --keep-alive 0', async () => {
    const { session } = await h2cSession('node-listener.js', ['--header-timeout', '1', '--keep-alive', '0']);
    const began = Date.now();
    await new Promise((resolve) => session.once('connect', resolve));
    // PING frames are answered but do not push the deadline back.
    const pings = setInterval(() => session.ping(() => {}), 200);
    await new Promise((resolve) => session.once('close', resolve));
    clearInterval(pings);
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    expect(Date.now() - began).toBeLessThan(5000);
  });
});

describe('-k node HTTP/2 port over TLS: --header-timeout on its HTTP/1.1 connections', () => {
  let certs: Certs;
  beforeAll(() => {
    certs = makeCerts();
  });
  afterAll(() => certs.remove());

  /** A TLS connection that chose HTTP/1.1 by ALPN; `text()` is all it has received. */
  async function h1(port: number) {
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: certs.pem.caCert,
      ALPNProtocols: ['http/1.1'],
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d));
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    expect(socket.alpnProtocol).toBe('http/1.1');
    return { socket, closed, text: () => text };
  }

  it('a stalled head gets 408 and a close; a slow whole one is served, idle time not counted', async () => {
    const { port } = await serve(RUNNERS[0]!, 'node-listener.js', [
      '-k',
      'node',
      '--http-protocols',
      'h1,h2',
      '--certfile',
      certs.serverCert,
      '--keyfile',
      certs.serverKey,
      '--header-timeout',
      '1',
      '--keep-alive',
      '10',
    ]);
    const stalled = await h1(port);
    const began = Date.now();
    stalled.socket.write('GET /hello HTTP/1.1\r\nHost: localhost\r\n');
    const closedAt = await stalled.closed;
    expect(stalled.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAt - began).toBeGreaterThanOrEqual(900);
    expect(closedAt - began).toBeLessThan(5000);

    // A head in four pieces over 600 ms: served. Then 1.5 s idle on keep-alive (longer than the
    // timeout, not counted), and a second head that stalls: cut a timeout after its first byte.
    const steady = await h1(port);
    for (const piece of ['GET /hel', 'lo HTTP/1.1\r\n', 'Host: localhost\r\n', '\r\n']) {
      steady.socket.write(piece);
      await sleep(150);
    }
    await until('the answer', () => steady.text().includes('hello from node'), 5000);
    expect(steady.text()).toMatch(/^HTTP\/1\.1 200 /);
    await sleep(1500);
    expect(steady.socket.destroyed).toBe(false);
    const second = Date.now();
    steady.socket.write('GET /hello HTTP/1.1\r\n');
    const steadyClosedAt = await steady.closed;
    expect(steady.text()).toMatch(/HTTP\/1\.1 408 /);
    expect(steadyClosedAt - second).toBeGreaterThanOrEqual(900);
  });
});
