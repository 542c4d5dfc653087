// HTTPS from the core: node:tls does the TLS, the core the HTTP. Real clients (curl, openssl
// s_client, Node's https, undici) against certificates the test makes.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { type ConnInfo, OptionError, type ServeOptions } from '@tsws/core';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { start } from '../helpers/core.js';
import { connect, RawClient, req } from '../helpers/raw.js';
import { tcpNoDelay } from '../helpers/sockopt.js';
import { until } from '../helpers/wait.mjs';

const run = promisify(execFile);
let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

/** What the app saw: its URL and the connection's TLS details. */
const echo = (request: Request, info: ConnInfo) =>
  Response.json({
    url: request.url,
    port: info.remotePort,
    protocol: info.tls?.protocol ?? null,
    authorized: info.tls?.authorized ?? null,
    client: info.tls?.peerCertificate?.subject.CN ?? null,
  });

async function serveTls(tls: Partial<NonNullable<ServeOptions['tls']>> = {}, options: ServeOptions = {}) {
  return start(echo, { tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey, ...tls }, ...options });
}

/** curl over https with our CA and, if named, a client certificate: its output, or its error on stderr. */
function curlAs(url: string, who?: 'client' | 'stranger'): Promise<{ ok: boolean; text: string }> {
  const cert = who === 'client' ? ['--cert', certs.clientCert, '--key', certs.clientKey] : [];
  const stranger = who === 'stranger' ? ['--cert', certs.strangerCert, '--key', certs.strangerKey] : [];
  return run('curl', ['-sS', '--cacert', certs.caCert, ...cert, ...stranger, url]).then(
    ({ stdout }) => ({ ok: true, text: stdout }),
    (err: { stderr: string }) => ({ ok: false, text: err.stderr }),
  );
}

/** Resolves with how long the server took to close a connection that sent `bytes` (and then nothing). */
function closedAfter(port: number, bytes: Buffer | string): Promise<{ ms: number; got: string }> {
  return new Promise((resolve, reject) => {
    const began = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ ms: Date.now() - began, got }));
    setTimeout(() => reject(new Error('the server never closed the connection')), 10_000).unref();
  });
}

describe('TLS', () => {
  it('serves curl with --cacert, https:// in request.url, keep-alive across requests', async () => {
    const { port } = await serveTls();
    const url = `https://localhost:${port}/a?b`;
    const { stdout } = await run('curl', ['-sS', '-w', '\\n', '--cacert', certs.caCert, url, url]);
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({ url: `https://localhost:${port}/a?b`, protocol: 'TLSv1.3', client: null });
    // The same TCP connection served both.
    expect(second?.port).toBe(first?.port);
  });

  it('serves undici fetch and Node https, bodies both ways', async () => {
    const { port } = await start(async (request) => new Response(`got ${(await request.text()).length}`), {
      tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey },
    });
    const dispatcher = new Agent({ connect: { ca: certs.pem.caCert } });
    const res = await fetch(`https://localhost:${port}/`, { method: 'POST', body: 'x'.repeat(200_000), dispatcher });
    expect(await res.text()).toBe('got 200000');
    await dispatcher.close();
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`https://localhost:${port}/`, { ca: certs.pem.caCert }, (r) => {
          let text = '';
          r.on('data', (d) => (text += d));
          r.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('got 0');
  });

  it('speaks to openssl s_client, and holds to minVersion', async () => {
    const { port } = await serveTls({ minVersion: 'TLSv1.3' });
    const request = 'GET /s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
    const client = `openssl s_client -quiet -connect 127.0.0.1:${port} -CAfile ${certs.caCert} -servername localhost`;
    const ok = await run('sh', ['-c', `printf '${request.replace(/\r\n/g, '\\r\\n')}' | ${client} 2>/dev/null`]);
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(ok.stdout).toContain('"url":"https://localhost/s"');
    const old = await run('sh', [
      '-c',
      `openssl s_client -tls1_2 -connect 127.0.0.1:${port} -CAfile ${certs.caCert} </dev/null 2>&1; true`,
    ]);
    expect(old.stdout).toMatch(/alert protocol version|no protocols available|wrong version/);
  });

  it('mTLS: a required client certificate reaches the app; no certificate, no connection', async () => {
    const { port } = await serveTls({ ca: certs.pem.caCert, clientCert: 'required' });
    const url = `https://localhost:${port}/`;
    const withCert = await curlAs(url, 'client');
    expect(JSON.parse(withCert.text)).toMatchObject({ authorized: true, client: 'client one' });
    const without = await curlAs(url);
    expect(without.ok).toBe(false);
    expect(without.text).toMatch(/alert|certificate required|handshake/i);
    // A certificate from another CA is refused too.
    expect((await curlAs(url, 'stranger')).ok).toBe(false);
  });

  it('mTLS optional: the app sees whether the certificate was verified', async () => {
    const { port } = await serveTls({ ca: certs.pem.caCert, clientCert: 'optional' });
    const url = `https://localhost:${port}/`;
    expect(JSON.parse((await curlAs(url)).text)).toMatchObject({ authorized: false, client: null });
    const stranger = await curlAs(url, 'stranger');
    expect(JSON.parse(stranger.text)).toMatchObject({ authorized: false, client: 'localhost' });
  });

  it('refuses a key that does not match the certificate, in one line, before listening', async () => {
    const attempt = start(echo, { tls: { cert: certs.pem.serverCert, key: certs.pem.strangerKey } });
    await expect(attempt).rejects.toThrow(OptionError);
    await expect(attempt).rejects.toThrow(/^tsws: tls: the certificate or key cannot be used: key values mismatch$/);
    const garbage = start(echo, { tls: { cert: 'not a certificate', key: certs.pem.serverKey } });
    await expect(garbage).rejects.toThrow(/^tsws: tls: the certificate or key cannot be used: [^\n]+$/);
  });

  it('counts connections still in their handshake toward maxConnections', async () => {
    const { port, server } = await serveTls({}, { maxConnections: 2, headerTimeout: 20_000 });
    const stalled = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
            socket.on('error', () => {});
          }),
      ),
    );
    await until('both in stats', () => server.stats().connections === 2, 5000);
    expect((await curlAs(`https://localhost:${port}/`)).ok).toBe(false);
    // Room again once one leaves.
    stalled[0]!.destroy();
    await until('one left', () => server.stats().connections === 1, 5000);
    expect((await curlAs(`https://localhost:${port}/`)).ok).toBe(true);
    stalled[1]!.destroy();
  });

  it('noDelay reaches the TCP socket under TLS (listeners of ours and handed in), and off stays off', async () => {
    /** The TCP fd under the server's side of a TLS connection that has had one answer. */
    async function accepted(options: ServeOptions): Promise<number> {
      const { port, server } = await serveTls({}, options);
      const dispatcher = new Agent({ connect: { ca: certs.pem.caCert } });
      onTestFinished(() => dispatcher.close());
      expect((await fetch(`https://localhost:${port}/`, { dispatcher })).status).toBe(200);
      const socket = [...server.connections][0]!.socket as net.Socket & { _parent: { _handle: { fd: number } } };
      return socket._parent._handle.fd;
    }
    // A handed-in net.Server has noDelay off (Node's default): ours applies.
    const handed = net.createServer();
    await new Promise<void>((resolve) => handed.listen(0, '127.0.0.1', resolve));
    const fds = [
      await accepted({}),
      await accepted({ noDelay: false }),
      await accepted({ bind: [], sockets: [handed] }),
    ];
    expect(tcpNoDelay(fds)).toEqual(['1', '0', '1']);
  });

  it('closes a stalled handshake within the header timeout', async () => {
    const { port } = await serveTls({}, { headerTimeout: 400 });
    // Nothing at all, and the start of a ClientHello that never finishes.
    for (const bytes of ['', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]) {
      const { ms } = await closedAfter(port, bytes);
      expect(ms).toBeGreaterThanOrEqual(300);
      expect(ms).toBeLessThan(5_000);
    }
  });

  it('closes a connection whose client hangs up mid-handshake at once, not at the header timeout', async () => {
    const { port, server } = await serveTls({}, { headerTimeout: 20_000 });
    const began = Date.now();
    // The start of a ClientHello, then the client's FIN.
    const socket = net.connect(port, '127.0.0.1', () => socket.end(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
    socket.on('error', () => {});
    await new Promise((resolve) => socket.on('close', resolve));
    await until('the connection gone', () => server.stats().connections === 0, 10_000);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('answers plain HTTP on a TLS port with a 400 that says so, and closes', async () => {
    const { port } = await serveTls();
    const { got } = await closedAfter(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(got).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(got).toContain('The plain HTTP request was sent to HTTPS port');
    const curl = await run('curl', ['-s', `http://127.0.0.1:${port}/`]);
    expect(curl.stdout).toContain('plain HTTP request was sent to HTTPS port');
  });

  it('keeps https:// in request.url when a plain server in the same process sees the same Host', async () => {
    // Head readers are shared by every connection of the process, with their origin cache.
    const secure = await serveTls();
    const plain = await start(echo);
    const socket = tls.connect({ port: secure.port, host: '127.0.0.1', servername: 'localhost', ca: certs.pem.caCert });
    await once(socket, 'secureConnect');
    const s = new RawClient(socket);
    const p = await connect(plain.port);
    const urlOf = async (c: RawClient, path: string) => {
      c.write(req('GET', path, ['Host: shared.test']));
      return (JSON.parse((await c.response()).body.toString()) as { url: string }).url;
    };
    for (let i = 0; i < 3; i++) {
      expect(await urlOf(s, `/s${i}`)).toBe(`https://shared.test/s${i}`);
      expect(await urlOf(p, `/p${i}`)).toBe(`http://shared.test/p${i}`);
    }
    socket.destroy();
  });
});
