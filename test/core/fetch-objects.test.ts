// The fetch interface: what a handler is, what it is given (a Request that is a Request, an
// absolute URL, the client's address, an AbortSignal), and what the core answers by itself.
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, exchange, req } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const urlEcho = (request: Request) => new Response(request.url);

describe('the fetch interface', () => {
  it('accepts a function or an object with a fetch method (called as a method)', async () => {
    const fn = await start(() => new Response('function'));
    expect(await (await fetch(fn.origin)).text()).toBe('function');
    const app = {
      greeting: 'object',
      fetch(this: { greeting: string }) {
        return new Response(this.greeting);
      },
    };
    const obj = await start(app);
    expect(await (await fetch(obj.origin)).text()).toBe('object');
  });

  it('passes the client address and port as info', async () => {
    const { port } = await start((_request, info) => Response.json(info));
    const c = await connect(port);
    c.write(req('GET', '/'));
    const info = JSON.parse((await c.response()).body.toString());
    expect(info).toEqual({ remoteAddress: '127.0.0.1', remotePort: c.socket.localPort });
  });

  it('gives a Request that is a Request, with method, headers and an absolute URL from Host', async () => {
    const { port } = await start((request) =>
      Response.json({
        isRequest: request instanceof Request,
        tag: Object.prototype.toString.call(request),
        method: request.method,
        url: request.url,
        accept: request.headers.get('accept'),
        multi: request.headers.get('x-multi'),
        mixed: request.headers.get('X-MIXED-case'),
      }),
    );
    const res = await exchange(
      port,
      req('PATCH', '/some/path?q=1&r=%20', [
        'Host: example.com:8080',
        'Accept: text/html',
        'X-Multi: a',
        'X-Multi: b',
        'x-Mixed-Case: yes',
      ]),
    );
    expect(JSON.parse(res.body.toString())).toEqual({
      isRequest: true,
      tag: '[object Request]',
      method: 'PATCH',
      url: 'http://example.com:8080/some/path?q=1&r=%20',
      accept: 'text/html',
      multi: 'a, b',
      mixed: 'yes',
    });
  });

  it('takes the URL from an absolute-form target, whatever Host says', async () => {
    const { port } = await start(urlEcho);
    const res = await exchange(port, req('GET', 'http://other.example:81/x?y=1', ['Host: ignored.example']));
    expect(res.body.toString()).toBe('http://other.example:81/x?y=1');
    const https = await exchange(port, req('GET', 'https://secure.example/', ['Host: secure.example']));
    expect(https.body.toString()).toBe('https://secure.example/');
  });

  it('refuses an absolute-form target whose authority the URL parser rejects', async () => {
    let calls = 0;
    const { port } = await start((request) => {
      calls++;
      return new Response(new URL(request.url).pathname);
    });
    for (const target of ['http://[::1/x', 'http://a:99999/x', 'http://127.0.0.999/x', 'http://a%zz/x']) {
      const res = await exchange(port, req('GET', target));
      expect(res.status, target).toBe(400);
    }
    expect(calls).toBe(0);
  });

  it('answers OPTIONS * with 204 itself', async () => {
    let calls = 0;
    const { port } = await start(() => {
      calls++;
      return new Response('app');
    });
    const c = await connect(port);
    c.write(req('OPTIONS', '*') + req('GET', '/'));
    const res = await c.response();
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect((await c.response()).body.toString()).toBe('app');
    expect(calls).toBe(1);
  });

  it('answers CONNECT with 501 and closes', async () => {
    let calls = 0;
    const { port } = await start(() => {
      calls++;
      return new Response('app');
    });
    const c = await connect(port);
    c.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    const res = await c.response();
    expect(res.status).toBe(501);
    expect(res.header('connection')).toBe('close');
    expect(await c.closed()).toBe(true);
    expect(calls).toBe(0);
  });

  it('needs exactly one valid Host on HTTP/1.1; HTTP/1.0 without one gets the local address', async () => {
    const { port } = await start(urlEcho);
    const noHost = await exchange(port, 'GET /x HTTP/1.1\r\n\r\n');
    expect(noHost.status).toBe(400);
    const old = await exchange(port, 'GET /x?1 HTTP/1.0\r\n\r\n');
    expect(old.status).toBe(200);
    expect(old.body.toString()).toBe(`http://127.0.0.1:${port}/x?1`);
    const twoHosts = await exchange(port, req('GET', '/', ['Host: a.example', 'Host: b.example']));
    expect(twoHosts.status).toBe(400);
    for (const host of ['127.0.0.999', 'example.com:99999', '[::1', 'a b', 'a/b', '1.2.3', 'example.com:8x']) {
      const res = await exchange(port, req('GET', '/', [`Host: ${host}`]));
      expect(res.status, host).toBe(400);
    }
    for (const host of ['localhost', 'example.com.', '[::1]:8080', '10.0.0.1', 'under_score.example:65535']) {
      const res = await exchange(port, req('GET', '/p', [`Host: ${host}`]));
      expect(res.status, host).toBe(200);
      expect(res.body.toString()).toBe(new URL(`http://${host}/p`).href);
    }
  });

  it("takes RFC 3986's reg-name in Host, and only what new URL() parses: request.url is safe to parse", async () => {
    const { port } = await start(urlEcho);
    for (const host of ['0.0.0.0=5000', 'a~b.example', "a!$&'()*+,;=b", 'ex%41mple.com:8080', 'a%2eb']) {
      const res = await exchange(port, req('GET', '/p', [`Host: ${host}`]));
      expect(res.status, host).toBe(200);
      expect(res.body.toString(), host).toBe(`http://${host}/p`);
    }
    for (const host of ['a%2fb', 'a%3a80', 'a%40b', 'a%00b', 'a%2541', '1.2.%33', '%C3%A9.example', 'a%zzb']) {
      const res = await exchange(port, req('GET', '/', [`Host: ${host}`]));
      expect(res.status, host).toBe(400);
    }
    // Labels that look like punycode and are not: Node 20's URL parser refuses them, Node 24's
    // takes them. Either way a host is served exactly when new URL() in this Node parses it.
    for (const host of ['xn--zz', 'xn--a.example', 'a.xn--x.b', 'xn--9ca.example']) {
      const res = await exchange(port, req('GET', '/p', [`Host: ${host}`]));
      expect(res.status, host).toBe(URL.canParse(`http://${host}/`) ? 200 : 400);
    }
  });

  it('aborts request.signal when the client disconnects mid-request', async () => {
    let aborted!: (reason: unknown) => void;
    const abortSeen = new Promise<unknown>((r) => (aborted = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const { port } = await start(async (request) => {
      request.signal.addEventListener('abort', () => aborted(request.signal.reason));
      entered();
      await sleep(10_000);
      return new Response('too late');
    });
    const c = await connect(port);
    c.write(req('GET', '/slow'));
    await inHandler;
    c.close();
    const reason = await Promise.race([abortSeen, new Promise((r) => setTimeout(() => r('not aborted'), 3000))]);
    expect(reason).toBeInstanceOf(Error);
    expect(reason).toMatchObject({ code: 'ERR_TSWS_CLIENT_GONE' });
  });

  it('still answers a client that half-closes after its request', async () => {
    const { port } = await start(async (request) => {
      await sleep(100);
      return new Response(`answered, signal aborted: ${request.signal.aborted}`);
    });
    const c = await connect(port);
    c.write(req('GET', '/'));
    c.socket.end(); // FIN: nothing more to send, still reading
    const res = await c.response();
    expect(res.body.toString()).toBe('answered, signal aborted: true');
    expect(await c.closed()).toBe(true);
  });

  it('builds the real Request only when needed: clone, cache and friends work', async () => {
    const { origin } = await start(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/clone') {
        const copy = request.clone();
        return Response.json({
          isRequest: copy instanceof Request,
          url: copy.url,
          copy: await copy.text(),
          original: await request.text(),
        });
      }
      // Reading a member only the real Request has must not spoil the body.
      const fields = {
        cache: request.cache,
        mode: request.mode,
        redirect: request.redirect,
        credentials: request.credentials,
      };
      const text = await request.text();
      return Response.json({ ...fields, text, bodyUsed: request.bodyUsed });
    });
    const cloned = await fetch(`${origin}/clone?x=1`, { method: 'POST', body: 'payload' });
    expect(await cloned.json()).toEqual({
      isRequest: true,
      url: `${origin}/clone?x=1`,
      copy: 'payload',
      original: 'payload',
    });
    const fields = await fetch(`${origin}/fields`, { method: 'POST', body: 'payload' });
    expect(await fields.json()).toEqual({
      cache: 'default',
      mode: 'cors',
      redirect: 'follow',
      credentials: 'same-origin',
      text: 'payload',
      bodyUsed: true,
    });
  });

  it('refuses to read a body twice, as a Request does', async () => {
    const { origin } = await start(async (request) => {
      await request.text();
      try {
        await request.text();
        return new Response('read twice');
      } catch (err) {
        return new Response(`${(err as Error).name}`);
      }
    });
    expect(await (await fetch(origin, { method: 'POST', body: 'x' })).text()).toBe('TypeError');
  });

  it('lets an app look at request.body before reading it whole; a stream read first makes text() refuse', async () => {
    const { origin } = await start(async (request) => {
      if (request.headers.get('x-read') === 'stream') await request.body!.getReader().read();
      const looked = request.body !== null && !request.bodyUsed;
      try {
        return Response.json({ looked, text: await request.text() });
      } catch (err) {
        return Response.json({ looked, error: (err as Error).name });
      }
    });
    const whole = await fetch(origin, { method: 'POST', body: 'hello' });
    expect(await whole.json()).toEqual({ looked: true, text: 'hello' });
    const streamed = await fetch(origin, { method: 'POST', body: 'hello', headers: { 'x-read': 'stream' } });
    expect(await streamed.json()).toEqual({ looked: false, error: 'TypeError' });
  });
});
