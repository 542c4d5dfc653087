// HTTP/2 from the core (httpProtocols): ALPN over TLS, cleartext with prior knowledge from
// trusted proxies only, the same Request/Response semantics (streaming both ways, cookies, the
// abort signal), the limits, and a graceful shutdown. curl, h2load and Node's http2 client.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { promisify } from 'node:util';
import type { ConnInfo, ServeOptions } from '@tsws/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { start } from '../helpers/core.js';
import { until } from '../helpers/wait.mjs';

const run = promisify(execFile);
let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

const aborted: unknown[] = [];
const app = async (request: Request, info: ConnInfo) => {
  const url = new URL(request.url);
  if (url.pathname === '/stream') {
    let i = 0;
    const body = new ReadableStream({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 10));
        if (i === 3) controller.close();
        else controller.enqueue(new TextEncoder().encode(`part ${i++}\n`));
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain' } });
  }
  if (url.pathname === '/cookies') {
    const headers = new Headers({ connection: 'keep-alive' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    return new Response('ok', { headers });
  }
  if (url.pathname === '/headers') return Response.json(Object.fromEntries(request.headers));
  if (url.pathname === '/who') return Response.json({ url: request.url, remoteAddress: info.remoteAddress });
  if (url.pathname === '/ignore-body') return new Response('ignored');
  if (url.pathname === '/abort') {
    const reason = await new Promise((resolve) => request.signal.addEventListener('abort', () => resolve(true)));
    aborted.push(reason);
    return new Response('late');
  }
  if (url.pathname === '/wait') {
    await new Promise((r) => setTimeout(r, 300));
    return new Response('waited');
  }
  const text = request.body ? await request.text() : '';
  return Response.json({ method: request.method, url: request.url, length: text.length });
};

async function serveH2(options: ServeOptions = {}) {
  return start(app, {
    httpProtocols: ['h1', 'h2'],
    tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey },
    ...options,
  });
}

function client(origin: string): http2.ClientHttp2Session {
  const session = http2.connect(origin, { ca: certs.pem.caCert });
  session.on('error', () => {});
  return session;
}

/** A server (serveH2 with `options`) and a session to it, closed after `use`. */
async function withSession(use: (session: http2.ClientHttp2Session) => Promise<void>, options: ServeOptions = {}) {
  const { port } = await serveH2(options);
  const session = client(`https://localhost:${port}`);
  try {
    await use(session);
  } finally {
    session.close();
  }
}

/** One request on `session`; resolves with the status, headers and body. */
function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: (stream: http2.ClientHttp2Stream) => void,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; chunks: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    body?.(stream);
    let text = '';
    let chunks = 0;
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (d: Buffer) => {
      chunks++;
      text += d;
    });
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text, chunks }));
    stream.on('error', reject);
  });
}

describe('HTTP/2', () => {
  it('ALPN picks h2 for curl --http2 and HTTP/1.1 for curl --http1.1 on the same port', async () => {
    const { port } = await serveH2();
    const url = `https://localhost:${port}/x?y`;
    const h2 = await run('curl', [
      '-sS',
      '--http2',
      '--cacert',
      certs.caCert,
      '-d',
      'hello',
      '-w',
      '\\n%{http_version}',
      url,
    ]);
    const [h2body, h2version] = h2.stdout.split('\n');
    expect(JSON.parse(h2body!)).toEqual({ method: 'POST', url, length: 5 });
    expect(h2version).toBe('2');
    const h1 = await run('curl', ['-sS', '--http1.1', '--cacert', certs.caCert, '-w', '\\n%{http_version}', url]);
    expect(h1.stdout.split('\n')[1]).toBe('1.1');
  });

  it('streams both ways, keeps Set-Cookie apart, drops connection-specific fields', async () => {
    const { port } = await serveH2();
    const session = client(`https://localhost:${port}`);
    try {
      const streamed = await h2request(session, { ':path': '/stream' });
      expect(streamed.body).toBe('part 0\npart 1\npart 2\n');
      expect(streamed.chunks).toBeGreaterThanOrEqual(3);
      const cookies = await h2request(session, { ':path': '/cookies' });
      expect(cookies.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(cookies.headers.connection).toBeUndefined();
      // A request body sent in pieces over time.
      const upload = await h2request(session, { ':path': '/up', ':method': 'PUT' }, (stream) => {
        let n = 0;
        const timer = setInterval(() => {
          if (n++ === 5) {
            clearInterval(timer);
            stream.end();
          } else stream.write('x'.repeat(10_000));
        }, 10);
      });
      expect(JSON.parse(upload.body)).toMatchObject({ method: 'PUT', length: 50_000 });
    } finally {
      session.close();
    }
  });

  it('joins cookie crumbs with "; " (RFC 9113 §8.2.3); request.signal aborts when the client resets', async () => {
    await withSession(async (session) => {
      const crumbs = await h2request(session, { ':path': '/headers', cookie: ['a=1', 'b=2'], 'x-k': 'v' });
      expect(JSON.parse(crumbs.body)).toMatchObject({ cookie: 'a=1; b=2', 'x-k': 'v' });
      const stream = session.request({ ':path': '/abort' });
      stream.on('error', () => {});
      await new Promise((r) => setTimeout(r, 100));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await until('request.signal to abort', () => aborted.length === 1, 5000);
    });
  });

  it('takes X-Forwarded-For, -Proto and -Host from trusted proxies only, as HTTP/1.1 does', async () => {
    const forwarded = {
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'example.com',
    };
    const trusted = await serveH2();
    const session = client(`https://localhost:${trusted.port}`);
    const untrusted = await serveH2({ forwardedAllowIps: [] });
    const other = client(`https://localhost:${untrusted.port}`);
    try {
      const seen = await h2request(session, { ':path': '/who', ...forwarded });
      expect(JSON.parse(seen.body)).toEqual({ url: 'http://example.com/who', remoteAddress: '203.0.113.9' });
      const ignored = await h2request(other, { ':path': '/who', ...forwarded });
      expect(JSON.parse(ignored.body)).toEqual({
        url: `https://localhost:${untrusted.port}/who`,
        remoteAddress: '127.0.0.1',
      });
    } finally {
      session.close();
      other.close();
    }
  });

  it('closes a session that opens no stream within the header timeout, even one that keeps pinging', async () => {
    const { port } = await serveH2({ headerTimeout: 400, keepAliveTimeout: 20_000 });
    const session = client(`https://localhost:${port}`);
    await new Promise((resolve) => session.once('connect', resolve));
    const started = Date.now();
    const pinging = setInterval(() => session.destroyed || session.ping(() => {}), 100);
    try {
      await until('the server to close the session', () => session.closed || session.destroyed, 10_000);
    } finally {
      clearInterval(pinging);
    }
    expect(Date.now() - started).toBeLessThan(8000);
    // A session whose first stream came in time is served on, idle, past the header timeout.
    const served = client(`https://localhost:${port}`);
    try {
      expect((await h2request(served, { ':path': '/who' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 800));
      expect((await h2request(served, { ':path': '/who' })).status).toBe(200);
    } finally {
      served.close();
    }
  });

  it('an unread request body does not hold its stream open once the answer is out', async () => {
    await withSession(async (session) => {
      const stream = session.request({ ':path': '/ignore-body', ':method': 'POST' });
      stream.on('error', () => {});
      let body = '';
      stream.on('data', (d: Buffer) => (body += d));
      stream.write(Buffer.alloc(1 << 20));
      // The client's upload stops (RST_STREAM NO_ERROR) rather than wait on a window never opened.
      await until('the stream to close', () => stream.closed, 5000);
      expect(body).toBe('ignored');
    });
  });

  it('holds limitRequestBody (declared and streamed: 413) and the header limits', async () => {
    const { port } = await serveH2({ limitRequestBody: 1000, limitRequestFields: 10 });
    const session = client(`https://localhost:${port}`);
    try {
      const declared = await h2request(session, { ':path': '/', ':method': 'POST', 'content-length': '5000' }, (s) =>
        s.end('x'.repeat(5000)),
      );
      expect(declared.status).toBe(413);
      const streamed = await h2request(session, { ':path': '/', ':method': 'POST' }, (s) => s.end('x'.repeat(5000)));
      expect(streamed.status).toBe(413);
      const many: http2.OutgoingHttpHeaders = { ':path': '/' };
      for (let i = 0; i < 40; i++) many[`x-field-${i}`] = 'v';
      await expect(h2request(client(`https://localhost:${port}`), many)).rejects.toThrow();
    } finally {
      session.close();
    }
  });

  it('cleartext h2 with prior knowledge only from forwardedAllowIps peers; h1 alongside', async () => {
    const trusted = await start(app, { httpProtocols: ['h1', 'h2'] });
    const h2c = await run('curl', [
      '-sS',
      '--http2-prior-knowledge',
      '-w',
      '\\n%{http_version}',
      `${trusted.origin}/c`,
    ]);
    expect(h2c.stdout.split('\n')[1]).toBe('2');
    const h1 = await run('curl', ['-sS', '-w', '\\n%{http_version}', `${trusted.origin}/c`]);
    expect(h1.stdout.split('\n')[1]).toBe('1.1');
    const untrusted = await start(app, { httpProtocols: ['h1', 'h2'], forwardedAllowIps: [] });
    await expect(run('curl', ['-sS', '--http2-prior-knowledge', `${untrusted.origin}/c`])).rejects.toThrow();
  });

  it('h2load: 10 streams per connection, every request answered', async () => {
    const { port } = await serveH2();
    const { stdout } = await run('h2load', ['-n', '2000', '-c', '4', '-m', '10', `https://localhost:${port}/`]);
    expect(stdout).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed/);
    expect(stdout).toMatch(/status codes: 2000 2xx/);
  });

  it('a graceful shutdown lets a stream under way finish, then the session closes', async () => {
    const { server, port } = await serveH2();
    const session = client(`https://localhost:${port}`);
    const answer = h2request(session, { ':path': '/wait' });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = server.shutdown(5000);
    expect((await answer).body).toBe('waited');
    await stopped;
    expect(session.closed || session.destroyed).toBe(true);
  });
});
