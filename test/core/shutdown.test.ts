// Stopping: graceful shutdown(timeoutMs) finishes what was received and closes the rest, close()
// stops at once, and run() (bjoern's shape) does a graceful stop on SIGTERM.

import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { freePort, ROOT, run, waitForHttp } from '../helpers/proc.js';
import { connect, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

/** Resolves with the error code of a new connection attempt ('connected' if it got in). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('shutdown', () => {
  it('stops accepting, closes idle connections after a grace; in-flight ones end with Connection: close', async () => {
    let inFlight!: () => void;
    const entered = new Promise<void>((r) => (inFlight = r));
    const { port, server } = await start(async (request) => {
      if (new URL(request.url).pathname === '/slow') {
        inFlight();
        await sleep(800);
        return new Response('finished');
      }
      return new Response('quick');
    });
    const idle = await connect(port);
    idle.write(req('GET', '/'));
    expect((await idle.response()).body.toString()).toBe('quick');
    const busy = await connect(port);
    busy.write(req('GET', '/slow'));
    await entered;

    const began = Date.now();
    const stopped = server.shutdown(10_000);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    // The grace is 1 s on a 500 ms sweep: closed within about 1.5 s, with nothing sent.
    expect(await idle.closed(3000)).toBe(true);
    expect(idle.pending().length).toBe(0);

    const res = await busy.response();
    expect(res.body.toString()).toBe('finished');
    expect(res.header('connection')).toBe('close');
    expect(await busy.closed()).toBe(true);
    await stopped;
    // Done when the last request was, not at the timeout.
    expect(Date.now() - began).toBeLessThan(5000);
    expect(server.stats().connections).toBe(0);
  });

  it('answers a request reaching an idle connection just after shutdown began, with Connection: close', async () => {
    const { port, server } = await start(() => new Response('late but served'));
    const idle = await connect(port);
    idle.write(req('GET', '/'));
    await idle.response();
    const stopped = server.shutdown(10_000);
    // The client could not know: its next request was already on the way.
    await sleep(200);
    idle.write(req('GET', '/again'));
    const res = await idle.response();
    expect(res.body.toString()).toBe('late but served');
    expect(res.header('connection')).toBe('close');
    expect(await idle.closed()).toBe(true);
    await stopped;
  });

  it('a later shutdown with a shorter timeout cuts what the first is still draining', async () => {
    let entered!: () => void;
    const inApp = new Promise<void>((r) => (entered = r));
    const { port, server } = await start(async () => {
      entered();
      await sleep(20_000);
      return new Response('too late');
    });
    const busy = await connect(port);
    busy.write(req('GET', '/'));
    await inApp;
    const began = Date.now();
    const first = server.shutdown(60_000);
    void server.shutdown(200);
    expect(await busy.closed(5000)).toBe(true);
    await first;
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('answers requests already received on a connection, then closes it', async () => {
    const { port, server } = await start(async (request) => {
      await sleep(300);
      return new Response(new URL(request.url).pathname);
    });
    const c = await connect(port);
    c.write(req('GET', '/a') + req('GET', '/b'));
    await sleep(100);
    const stopped = server.shutdown(10_000);
    const a = await c.response();
    const b = await c.response();
    expect([a.body.toString(), b.body.toString()]).toEqual(['/a', '/b']);
    expect(b.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
    await stopped;
  });

  it('cuts what is left when the timeout passes', async () => {
    const { port, server } = await start(() => new Promise<Response>(() => {}));
    const c = await connect(port);
    c.write(req('GET', '/never'));
    await sleep(100);
    const began = Date.now();
    await server.shutdown(500);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(3000);
    expect(await c.closed()).toBe(true);
    expect(c.pending().length).toBe(0);
  });

  it('close() stops at once', async () => {
    const { port, server } = await start(() => new Promise<Response>(() => {}));
    const c = await connect(port);
    c.write(req('GET', '/never'));
    await sleep(100);
    const began = Date.now();
    await server.close();
    expect(Date.now() - began).toBeLessThan(1000);
    expect(await c.closed()).toBe(true);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });

  it('run() serves until SIGTERM, then stops gracefully', async () => {
    const port = await freePort();
    const options = { bind: `127.0.0.1:${port}`, gracefulTimeoutMs: 5000 };
    const child = run(join(ROOT, 'test/fixtures/serve.mjs'), [
      join(ROOT, 'test/fixtures/app.mjs'),
      JSON.stringify(options),
      'run',
    ]);
    await waitForHttp(`http://127.0.0.1:${port}/`);
    const c = await connect(port);
    c.write(req('GET', '/sleep/800'));
    await sleep(200);
    child.kill('SIGTERM');
    const res = await c.response();
    expect(res.body.toString()).toBe('slept');
    expect(res.header('connection')).toBe('close');
    await child.waitFor(/stopped/);
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });
});
