// The PROXY protocol: the header a TCP proxy sends first names the client, which the app sees as
// info.remoteAddress, only from proxyAllowFrom peers. Hand-made v1 and v2 headers over raw sockets,
// curl's --haproxy-protocol, and a header before a TLS handshake.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { ConnInfo, ServeOptions } from '@tsws/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { memoryLogger, start } from '../helpers/core.js';
import { SIGNATURE, v2 } from '../helpers/proxy-header.js';
import { connect, req } from '../helpers/raw.js';

const run = promisify(execFile);
let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

const who = (request: Request, info: ConnInfo) =>
  Response.json({ url: request.url, remoteAddress: info.remoteAddress, remotePort: info.remotePort });

async function ask(port: number, header: Buffer | string, trickle = false) {
  const c = await connect(port);
  if (trickle) await c.trickle(Buffer.from(header));
  else c.write(header);
  c.write(req('GET', '/p', ['Host: example']));
  const res = await c.response();
  return JSON.parse(res.body.toString()) as { remoteAddress: string; remotePort: number };
}

async function serveProxied(options: ServeOptions = {}) {
  const { lines, logger } = memoryLogger();
  const running = await start(who, { proxyProtocol: 'auto', logger, ...options });
  return { ...running, lines };
}

describe('PROXY protocol', () => {
  it('v1: TCP4 and TCP6 name the client; UNKNOWN keeps the peer; a header split byte by byte', async () => {
    const { port } = await serveProxied({ proxyProtocol: 'v1' });
    expect(await ask(port, 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 8000\r\n')).toMatchObject({
      remoteAddress: '203.0.113.7',
      remotePort: 51000,
    });
    expect(await ask(port, 'PROXY TCP6 2001:db8::7 ::1 51001 8000\r\n')).toMatchObject({
      remoteAddress: '2001:db8::7',
      remotePort: 51001,
    });
    expect(await ask(port, 'PROXY UNKNOWN\r\n')).toMatchObject({ remoteAddress: '127.0.0.1' });
    expect(await ask(port, 'PROXY TCP4 198.51.100.9 127.0.0.1 4242 8000\r\n', true)).toMatchObject({
      remoteAddress: '198.51.100.9',
    });
  });

  it('v2: TCP4 and TCP6 with TLVs name the client; LOCAL keeps the peer', async () => {
    const { port } = await serveProxied({ proxyProtocol: 'v2' });
    expect(await ask(port, v2('192.0.2.44', 40000))).toMatchObject({ remoteAddress: '192.0.2.44', remotePort: 40000 });
    expect(await ask(port, v2('2001:db8::1:0:0:9', 40001, { tlvs: 30 }))).toMatchObject({
      remoteAddress: '2001:db8::1:0:0:9',
      remotePort: 40001,
    });
    expect(await ask(port, v2('192.0.2.44', 1, { local: true }), true)).toMatchObject({ remoteAddress: '127.0.0.1' });
  });

  it("curl's --haproxy-protocol (v1) with auto", async () => {
    const { port } = await serveProxied();
    const { stdout } = await run('curl', ['-sS', '--haproxy-protocol', `http://127.0.0.1:${port}/c`]);
    // curl names its own end of the connection: the loopback address, and a port not the server's.
    expect(JSON.parse(stdout)).toMatchObject({ url: `http://127.0.0.1:${port}/c`, remoteAddress: '127.0.0.1' });
  });

  it('from an allowed peer, a missing, malformed or oversized header closes with a log line', async () => {
    const { port, lines } = await serveProxied();
    for (const bad of [
      req('GET', '/', ['Host: x']),
      'PROXY TCP4 300.1.1.1 127.0.0.1 1 2\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
      Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]),
    ]) {
      const c = await connect(port);
      c.write(bad);
      expect(await c.closed()).toBe(true);
    }
    const warned = lines.filter((l) => l.msg === 'closed a connection: bad PROXY header').map((l) => l.obj.reason);
    expect(warned).toEqual([
      'no PROXY protocol header',
      'malformed PROXY v1 header',
      'PROXY v1 header longer than 107 bytes',
      'PROXY v2 header longer than 2064 bytes',
    ]);
  });

  it('from a peer not in proxyAllowFrom, a header is refused and plain requests are served', async () => {
    const { port, lines } = await serveProxied({ proxyAllowFrom: ['10.0.0.1'] });
    const c = await connect(port);
    c.write('PROXY TCP4 203.0.113.7 127.0.0.1 51000 8000\r\n');
    expect(await c.closed()).toBe(true);
    expect(lines.at(-1)?.obj.reason).toBe('PROXY header from a peer not in proxyAllowFrom');
    expect(await ask(port, '')).toMatchObject({ remoteAddress: '127.0.0.1' });
  });

  it('a stalled header is closed within the header timeout', async () => {
    const { port } = await serveProxied({ headerTimeout: 400 });
    const c = await connect(port);
    const began = Date.now();
    c.write('PROXY TCP4 203.0.113.7');
    expect(await c.closed(5000)).toBe(true);
    expect(Date.now() - began).toBeGreaterThanOrEqual(300);
  });

  it('comes before TLS: the header, then the handshake, on one connection', async () => {
    const { port } = await serveProxied({ tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey } });
    const raw = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(v2('198.51.100.20', 33333));
    const secure = tls.connect({ socket: raw, ca: certs.pem.caCert, servername: 'localhost' });
    secure.write(req('GET', '/t', ['Host: localhost', 'Connection: close']));
    let text = '';
    for await (const chunk of secure) text += chunk;
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ url: 'https://localhost/t', remoteAddress: '198.51.100.20', remotePort: 33333 });
  });

  it('names the client of HTTP/2 streams too (a header, then TLS with ALPN h2)', async () => {
    const { port } = await serveProxied({
      httpProtocols: ['h1', 'h2'],
      tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey },
    });
    const raw = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(v2('198.51.100.21', 44444));
    const session = http2.connect(`https://localhost:${port}`, {
      createConnection: () =>
        tls.connect({ socket: raw, ca: certs.pem.caCert, servername: 'localhost', ALPNProtocols: ['h2'] }),
    });
    try {
      const stream = session.request({ ':path': '/h2' });
      let text = '';
      for await (const chunk of stream) text += chunk;
      expect(JSON.parse(text)).toEqual({
        url: `https://localhost:${port}/h2`,
        remoteAddress: '198.51.100.21',
        remotePort: 44444,
      });
    } finally {
      session.close();
    }
  });

  it("h2c behind a PROXY header: trusted by the proxy's own address, not the client it names", async () => {
    // The bytes come from 127.0.0.1 (the proxy, in forwardedAllowIps); the header names a client
    // that is not: prior knowledge is the proxy's to claim.
    const { port, lines } = await serveProxied({
      proxyProtocol: 'v1',
      httpProtocols: ['h1', 'h2'],
      forwardedAllowIps: ['127.0.0.1'],
    });
    const h2cVia = async (header: string) => {
      const raw = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => raw.once('connect', resolve));
      raw.write(header);
      const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => raw });
      session.on('error', () => {});
      try {
        const stream = session.request({ ':path': '/c' });
        stream.on('error', () => {});
        let text = '';
        for await (const chunk of stream) text += chunk;
        return JSON.parse(text) as { remoteAddress: string };
      } finally {
        session.close();
      }
    };
    expect(await h2cVia('PROXY TCP4 203.0.113.9 127.0.0.1 51000 8000\r\n')).toMatchObject({
      remoteAddress: '203.0.113.9',
    });
    // A peer outside forwardedAllowIps is refused whatever client its header names.
    const other = await serveProxied({
      proxyProtocol: 'v1',
      httpProtocols: ['h1', 'h2'],
      forwardedAllowIps: ['10.0.0.1'],
    });
    const c = await connect(other.port);
    c.write('PROXY TCP4 10.0.0.1 127.0.0.1 51000 8000\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(await c.closed()).toBe(true);
    expect(other.lines.at(-1)?.obj.reason).toBe('cleartext HTTP/2 from a peer not in forwardedAllowIps');
    expect(lines.filter((l) => l.msg.startsWith('closed a connection'))).toEqual([]);
  });

  it("keeps the client a header named out of the app's reach: info has no field to read or overwrite", async () => {
    const { port } = await start(
      (_request, info) => {
        const fields = Object.keys(info);
        (info as unknown as Record<string, unknown>).proxied = { remoteAddress: '6.6.6.6', remotePort: 6 };
        return Response.json({ fields, remoteAddress: info.remoteAddress });
      },
      { proxyProtocol: 'v1' },
    );
    expect(await ask(port, 'PROXY TCP4 203.0.113.8 127.0.0.1 51000 8000\r\n')).toEqual({
      fields: [],
      remoteAddress: '203.0.113.8',
    });
  });
});
