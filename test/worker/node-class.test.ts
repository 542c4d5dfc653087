// The node worker class: the settings mapped onto node:http, the limits it checks itself, the
// fetch adapter, graceful stop and the stats heartbeats carry. Real sockets, in this process.
import type http from 'node:http';
import type { AccessRecord } from '@tsws/core';
import { NodeWorker } from '@tsws/worker';
import { type AccessLog, createLogger, defaults, type Settings } from '@tsws/worker/internal';
import { detectApp } from '@tsws/worker/internal/app-kind';
import { describe, expect, it, onTestFinished } from 'vitest';
import { download } from '../helpers/delivery/client.mjs';
import { connect, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const log = createLogger({ logLevel: 'silent', logFormat: 'json', errorLog: '-' }).log;

async function startNode(app: unknown, overrides: Partial<Settings> = {}, accessLog?: AccessLog) {
  const settings = { ...defaults(), bind: ['127.0.0.1:0'], ...overrides };
  const worker = new NodeWorker(await detectApp(app, 'auto', 'test'), settings, log, accessLog ? { accessLog } : {});
  const [url] = await worker.start();
  onTestFinished(() => worker.stop(false, 0));
  const port = Number(url!.split(':').at(-1));
  return { worker, port, origin: `http://127.0.0.1:${port}` };
}

const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');

describe('limits node:http has no option for, checked per request', () => {
  it('a request line over --limit-request-line gets 414', async () => {
    const { port } = await startNode(hello, { limitRequestLine: 100 });
    const c = await connect(port);
    c.write(req('GET', `/${'a'.repeat(120)}`));
    const res = await c.response();
    expect(res.status).toBe(414);
    expect(res.header('connection')).toBe('close');
    c.write(req('GET', '/short'));
    expect(await c.closed()).toBe(true);
  });

  it('more fields than --limit-request-fields, or one over --limit-request-field-size, get 431', async () => {
    const { port } = await startNode(hello, { limitRequestFields: 4, limitRequestFieldSize: 64 });
    const many = await connect(port);
    many.write(req('GET', '/', ['A: 1', 'B: 2', 'C: 3', 'D: 4']));
    expect((await many.response()).status).toBe(431);
    const big = await connect(port);
    big.write(req('GET', '/', [`X-Big: ${'b'.repeat(70)}`]));
    expect((await big.response()).status).toBe(431);
    const fine = await connect(port);
    fine.write(req('GET', '/', ['A: 1', `X-Ok: ${'b'.repeat(40)}`]));
    expect((await fine.response()).body.toString()).toBe('hello');
  });

  it('a declared body over --limit-request-body gets 413 before the app, and no 100 Continue', async () => {
    let called = 0;
    const { port } = await startNode(
      (_req: http.IncomingMessage, res: http.ServerResponse) => res.end(String(++called)),
      { limitRequestBody: 1000 },
    );
    const c = await connect(port);
    c.write(req('POST', '/', ['Content-Length: 5000', 'Expect: 100-continue']));
    const res = await c.response({ interim: true });
    expect(res.status).toBe(413);
    expect(called).toBe(0);
  });

  it('a chunked body over the limit gets 413 from the fetch adapter', async () => {
    const { port } = await startNode(
      async (request: Request) => new Response(`read ${(await request.arrayBuffer()).byteLength}`),
      { limitRequestBody: 1000 },
    );
    const c = await connect(port);
    c.write(
      req(
        'POST',
        '/',
        ['Transfer-Encoding: chunked'],
        `400\r\n${'x'.repeat(1024)}\r\n400\r\n${'y'.repeat(1024)}\r\n0\r\n\r\n`,
      ),
    );
    expect((await c.response()).status).toBe(413);
    const ok = await connect(port);
    ok.write(req('POST', '/', ['Transfer-Encoding: chunked'], `200\r\n${'x'.repeat(512)}\r\n0\r\n\r\n`));
    expect((await ok.response()).body.toString()).toBe('read 512');
  });
});

describe('timeouts and connections', () => {
  it('--keep-alive 0 closes after each response', async () => {
    const { port } = await startNode(hello, { keepAlive: 0 });
    const c = await connect(port);
    c.write(req('GET', '/'));
    expect((await c.response()).header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
  });

  it('--header-timeout answers a slow request head with 408; --body-timeout cuts a stalled body', async () => {
    const readsBody = (request: http.IncomingMessage, res: http.ServerResponse) => {
      request.resume();
      request.on('end', () => res.end('read it all'));
    };
    const { port } = await startNode(readsBody, { headerTimeout: 1, bodyTimeout: 1 });
    const head = await connect(port);
    head.write('GET / HTTP/1.1\r\nHost: x\r\n');
    expect((await head.response({ timeoutMs: 5000 })).status).toBe(408);
    const body = await connect(port);
    body.write(req('POST', '/', ['Content-Length: 100'], '').replace(/\r\n\r\n$/, '\r\n\r\n12345'));
    expect(await body.closed(5000)).toBe(true);
  });

  it('cuts a response the client stopped reading after --body-timeout', async () => {
    let closed = 0;
    const { port } = await startNode(
      (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.once('close', () => (closed = Date.now()));
        const chunk = Buffer.alloc(64 * 1024, 'z');
        const pump = () => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        pump();
      },
      { bodyTimeout: 1 },
    );
    const c = await connect(port);
    c.socket.pause();
    c.write(req('GET', '/'));
    const started = Date.now();
    for (let i = 0; i < 100 && closed === 0; i++) await sleep(100);
    expect(closed).toBeGreaterThan(0);
    expect(closed - started).toBeGreaterThanOrEqual(900);
  });

  it('does not cut a steady reader for the time the event loop was blocked', async () => {
    const size = 16 * 1024 * 1024;
    const { port } = await startNode(
      (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.setHeader('Content-Length', size);
        const chunk = Buffer.alloc(64 * 1024, 'z');
        let left = size / chunk.length;
        const pump = () => {
          while (left > 0) {
            left--;
            if (left === 0) res.end(chunk);
            else if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      },
      { bodyTimeout: 1 },
    );
    // 4 MiB/s: about 4 s in all. A second in, the loop (the server's, and here the client's) is
    // blocked for longer than --body-timeout: on waking, the sweep runs before libuv writes.
    const reading = download({ port, path: '/', framing: 'close', reader: { kind: 'slow', rate: 4 * 1024 * 1024 } });
    await sleep(1000);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    const got = await reading;
    expect(`${got.bodyBytes} ${got.complete}`).toBe(`${size} true`);
  });

  it('--worker-connections refuses connections over the limit', async () => {
    const { port } = await startNode(hello, { workerConnections: 2 });
    const a = await connect(port);
    const b = await connect(port);
    const c = await connect(port);
    expect(await c.closed(3000)).toBe(true);
    a.write(req('GET', '/'));
    b.write(req('GET', '/'));
    expect((await a.response()).status).toBe(200);
    expect((await b.response()).status).toBe(200);
  });
});

describe('graceful stop and stats', () => {
  it('finishes in-flight requests with Connection: close, closes idle connections, refuses new ones', async () => {
    const { worker, port } = await startNode((_req: http.IncomingMessage, res: http.ServerResponse) =>
      setTimeout(() => res.end('late'), 500),
    );
    const idle = await connect(port);
    idle.write(req('GET', '/'));
    await idle.response();
    const busy = await connect(port);
    busy.write(req('GET', '/'));
    await sleep(100);
    expect(worker.stats()).toMatchObject({
      requests: 2,
      inFlight: 1,
      connections: 2,
      oldest: { method: 'GET', target: '/' },
    });
    const stopped = worker.stop(true, 5000);
    expect(await idle.closed()).toBe(true);
    const res = await busy.response();
    expect(res.body.toString()).toBe('late');
    expect(res.header('connection')).toBe('close');
    await stopped;
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('the fetch adapter', () => {
  it('keeps Set-Cookie fields apart, answers HEAD without a body, passes ConnInfo, writes the access log', async () => {
    const records: AccessRecord[] = [];
    const access: AccessLog = { write: (r) => records.push(r), reopen: () => {}, flush: () => {} };
    const { port } = await startNode(
      (request: Request, info: { remoteAddress: string }) => {
        const headers = new Headers({ 'content-type': 'text/plain' });
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        return new Response(`${request.method} from ${info.remoteAddress}`, { status: 201, headers });
      },
      {},
      access,
    );
    const c = await connect(port);
    c.write(req('GET', '/x?y=1', ['User-Agent: t/1']));
    const res = await c.response();
    expect(res.status).toBe(201);
    expect(res.all('set-cookie')).toEqual(['a=1', 'b=2']);
    expect(res.body.toString()).toBe('GET from 127.0.0.1');
    c.write(req('HEAD', '/'));
    const head = await c.response({ head: true });
    expect(head.status).toBe(201);
    expect(head.body.length).toBe(0);
    await sleep(50);
    expect(records[0]).toMatchObject({
      method: 'GET',
      target: '/x?y=1',
      status: 201,
      userAgent: 't/1',
      remoteAddress: '127.0.0.1',
    });
    // What went out after the header block: the body and its chunked framing.
    expect(records[0]!.bytes).toBe(Buffer.byteLength(`12\r\n${res.body}\r\n0\r\n\r\n`));
  });

  it('aborts the request signal when the client goes away, and answers 500 when the app throws', async () => {
    let aborted = false;
    const { port } = await startNode((request: Request) => {
      if (new URL(request.url).pathname === '/throw') throw new Error('app bug');
      return new Promise<Response>((resolve) =>
        request.signal.addEventListener('abort', () => {
          aborted = true;
          resolve(new Response('late'));
        }),
      );
    });
    const c = await connect(port);
    c.write(req('GET', '/wait'));
    await sleep(100);
    c.close();
    for (let i = 0; i < 30 && !aborted; i++) await sleep(50);
    expect(aborted).toBe(true);
    const t = await connect(port);
    t.write(req('GET', '/throw'));
    expect((await t.response()).status).toBe(500);
  });
});
