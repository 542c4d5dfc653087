// The public API: what serve() returns (addresses, stats), bjoern's listen(app, host, port), and
// clear errors for options and apps the core cannot use.

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, OptionError, type ServeOptions, serve } from '@tsws/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const hello = () => new Response('hello');

describe('serve() and the server it returns', () => {
  it('reports addresses, urls and stats, including the oldest request in flight', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { server, port } = await start(async (request) => {
      if (new URL(request.url).pathname === '/held') await held;
      return new Response('done');
    });
    expect(server.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port });
    expect(server.addresses()).toEqual([{ address: '127.0.0.1', family: 'IPv4', port }]);
    expect(server.urls()).toEqual([`127.0.0.1:${port}`]);
    expect(server.stats()).toEqual({ connections: 0, inFlight: 0, requests: 0, oldest: null });

    const a = await connect(port);
    a.write(req('GET', '/quick'));
    await a.response();
    const b = await connect(port);
    b.write(req('POST', '/held?x=1', [], 'body'));
    for (let i = 0; i < 100 && server.stats().inFlight === 0; i++) await sleep(10);
    const stats = server.stats();
    expect(stats).toMatchObject({
      connections: 2,
      inFlight: 1,
      requests: 2,
      oldest: { method: 'POST', target: '/held?x=1' },
    });
    expect(stats.oldest!.ageMs).toBeGreaterThanOrEqual(0);
    release();
    await b.response();
    expect(server.stats()).toMatchObject({ connections: 2, inFlight: 0, requests: 2, oldest: null });
  });

  it("listen(app, host, port) and listen(app, 'unix:/path'), as bjoern", async () => {
    const v4 = await listen(hello, '127.0.0.1', 0);
    onTestFinished(() => v4.close());
    expect(await (await fetch(`http://127.0.0.1:${(v4.address() as AddressInfo).port}/`)).text()).toBe('hello');

    const v6 = await listen(hello, '::1', 0);
    onTestFinished(() => v6.close());
    expect(v6.urls()[0]).toMatch(/^\[::1\]:\d+$/);
    expect(await (await fetch(`http://${v6.urls()[0]}/`)).text()).toBe('hello');

    const dir = mkdtempSync(join(tmpdir(), 'tsws-api-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'bjoern.sock');
    const unix = await listen(hello, `unix:${path}`);
    onTestFinished(() => unix.close());
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ socketPath: path, path: '/' }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('hello');
  });
});

describe('option errors', () => {
  /** serve() with `options`, however it fails (thrown or rejected). */
  const serving = (options: ServeOptions) => (async () => serve(hello, { bind: '127.0.0.1:0', ...options }))();

  it('name the option and what it must be', async () => {
    const counts = [
      'backlog',
      'keepAliveTimeout',
      'headerTimeout',
      'bodyTimeout',
      'maxConnections',
      'maxPipelinedRequests',
      'limitRequestLine',
      'limitRequestFields',
      'limitRequestFieldSize',
      'limitRequestBody',
    ] as const;
    for (const name of counts) {
      for (const value of [-1, 1.5, '10', Number.NaN]) {
        const failing = serving({ [name]: value } as ServeOptions);
        await expect(failing, `${name}: ${String(value)}`).rejects.toThrow(OptionError);
        await expect(failing).rejects.toThrow(`tsws: option "${name}" must be a whole number >= 0 (0 turns it off)`);
      }
    }
    for (const name of ['keepAlive', 'noDelay', 'reusePort', 'overrideGlobals'] as const) {
      const failing = serving({ [name]: 'yes' } as unknown as ServeOptions);
      await expect(failing).rejects.toThrow(OptionError);
      await expect(failing).rejects.toThrow(`tsws: option "${name}" must be true or false, got "yes"`);
    }
    await expect(serving({ bind: 8000 as unknown as string })).rejects.toThrow(
      /option "bind" must be a string or an array of strings/,
    );
    await expect(serving({ umask: 0o1000 })).rejects.toThrow(/option "umask" must be an integer from 0 to 0o777/);
    await expect(serving({ forwardedAllowIps: 'everyone' as '*' })).rejects.toThrow(
      /option "forwardedAllowIps" must be "\*" or an array/,
    );
  });

  it('are OptionErrors (TypeErrors) for a bad forwardedAllowIps entry too', async () => {
    const failing = serving({ forwardedAllowIps: ['10.0.0.0/8', 'proxy.example'] });
    await expect(failing).rejects.toThrow(OptionError);
    await expect(failing).rejects.toThrow(TypeError);
    await expect(failing).rejects.toThrow(/forwardedAllowIps.*"proxy\.example" is not an IP address or CIDR range/);
  });

  it('say what an app must be', async () => {
    for (const app of [null, 42, { handler: () => new Response('') }]) {
      await expect((async () => serve(app as unknown as () => Response, { bind: '127.0.0.1:0' }))()).rejects.toThrow(
        /expected a fetch handler, a function \(request\) => Response or an object with a fetch method/,
      );
    }
  });
});
