// --proxy-protocol behind a real HAProxy (Debian's) in TCP mode with send-proxy-v2: the client's
// address survives the proxy, over plain HTTP and with TLS passed through to tsws, with the tsws
// class and with -k node (where Node apps read it: req.socket.remoteAddress, Express's req.ip);
// hand-made v1 and v2 headers through -k node.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { freePort } from '../helpers/proc.js';
import { v2 } from '../helpers/proxy-header.js';
import { connect, req } from '../helpers/raw.js';
import { until } from '../helpers/wait.mjs';
import { get, parseLogs, tempDir } from '../master/helpers.js';
import { RUNNERS, serve } from './serve.js';

let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

/** HAProxy on a free port, passing TCP to `backendPort` with a PROXY v2 header. */
async function haproxy(backendPort: number): Promise<number> {
  const port = await freePort();
  const dir = tempDir();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend in',
      `  bind 127.0.0.1:${port}`,
      '  default_backend tsws',
      'backend tsws',
      `  server one 127.0.0.1:${backendPort} send-proxy-v2`,
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  onTestFinished(() => void child.kill('SIGKILL'));
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.destroy() !== undefined));
      socket.on('error', () => resolve(false));
    });
  await until(`haproxy to listen (stderr: ${stderr})`, accepts, 10_000);
  return port;
}

/** One GET from 127.0.0.2 (so the client's address differs from HAProxy's, 127.0.0.1). */
function getFrom(url: string, ca?: string): Promise<{ remoteAddress: string; remotePort: number; local: number }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { localAddress: '127.0.0.2', agent: false, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ...JSON.parse(body), local: req.socket?.localPort ?? 0 }));
    });
    req.on('error', reject);
  });
}

/** The tsws class with a fetch app; -k node with Express (req.ip) and with a fetch app (info, through the adapter). */
const CLASSES = [
  { name: 'tsws class', app: 'info-handler.js', args: [] },
  { name: '-k node, Express', app: 'express-peer.cjs', args: ['-k', 'node'] },
  { name: '-k node, fetch app', app: 'info-handler.js', args: ['-k', 'node'] },
];

describe('--proxy-protocol behind HAProxy send-proxy-v2', () => {
  for (const [runner, kind] of RUNNERS.flatMap((r) => CLASSES.map((c) => [r, c] as const))) {
    it(`${runner.name}, ${kind.name}: the app sees the client's address, not HAProxy's`, async () => {
      const { port } = await serve(runner, kind.app, [...kind.args, '--proxy-protocol', 'v2']);
      const front = await haproxy(port);
      const seen = await getFrom(`http://127.0.0.1:${front}/`);
      expect(seen.remoteAddress).toBe('127.0.0.2');
      // Direct from 127.0.0.1, an allowed proxy, with no header: closed. From 127.0.0.2, not a
      // proxy: served as it is.
      await expect(get(`http://127.0.0.1:${port}/`)).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect((await getFrom(`http://127.0.0.1:${port}/`)).remoteAddress).toBe('127.0.0.2');
    });
  }

  for (const args of [[], ['-k', 'node']])
    it(`with TLS passed through: the header first, then the handshake${args.length ? ' (-k node)' : ''}`, async () => {
      const { port } = await serve(RUNNERS[0]!, 'tls-info.js', [
        ...args,
        '--proxy-protocol',
        'auto',
        '--certfile',
        certs.serverCert,
        '--keyfile',
        certs.serverKey,
      ]);
      const front = await haproxy(port);
      const seen = await getFrom(`https://localhost:${front}/`, certs.pem.caCert);
      expect(seen).toMatchObject({
        url: `https://localhost:${front}/`,
        protocol: 'TLSv1.3',
        remoteAddress: '127.0.0.2',
      });
    });
});

interface Peer {
  ip: string;
  remoteAddress: string;
  remotePort: number;
}

/** One request behind `header` on a raw connection; the app's answer, or null when closed unanswered. */
async function behind(port: number, header: string | Buffer, headers: string[] = []): Promise<Peer | null> {
  const c = await connect(port);
  c.write(header);
  c.write(req('GET', '/p', ['Connection: close', ...headers]));
  try {
    return JSON.parse((await c.response()).body.toString()) as Peer;
  } catch {
    return null;
  }
}

describe('--proxy-protocol under -k node, hand-made headers', () => {
  for (const runner of RUNNERS) {
    it(`${runner.name}: v1 and v2 name the client where Node apps look; the core's rules on senders`, async () => {
      const { port, proc } = await serve(runner, 'express-peer.cjs', ['-k', 'node', '--proxy-protocol', 'auto']);
      expect(await behind(port, 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 8000\r\n')).toEqual({
        ip: '203.0.113.7',
        remoteAddress: '203.0.113.7',
        remotePort: 51000,
        httpVersion: '1.1',
      });
      expect(await behind(port, v2('2001:db8::7', 40001))).toMatchObject({ ip: '2001:db8::7', remotePort: 40001 });
      // v2's LOCAL (the proxy's health check) keeps the proxy's own address.
      expect(await behind(port, v2('192.0.2.1', 1, { local: true }))).toMatchObject({ remoteAddress: '127.0.0.1' });
      // The client is not loopback, so Express (trust proxy: loopback) ignores its X-Forwarded-For.
      expect(
        await behind(port, 'PROXY TCP4 203.0.113.8 127.0.0.1 51000 8000\r\n', ['X-Forwarded-For: 6.6.6.6']),
      ).toMatchObject({ ip: '203.0.113.8' });
      // From an allowed peer (loopback by default), a missing or malformed header: closed, one line each.
      expect(await behind(port, '')).toBeNull();
      expect(await behind(port, 'PROXY TCP4 300.1.1.1 127.0.0.1 1 2\r\n')).toBeNull();
      // From any other peer a header is refused, and a request without one served as it is.
      const other = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      other.on('error', () => {});
      other.write('PROXY TCP4 203.0.113.9 127.0.0.1 51000 8000\r\n');
      await new Promise((resolve) => other.once('close', resolve));
      expect((await getFrom(`http://127.0.0.1:${port}/`)).remoteAddress).toBe('127.0.0.2');
      await until(
        'three warn lines',
        () => parseLogs(proc.err()).filter((l) => l.msg === 'closed a connection: bad PROXY header').length >= 3,
        5000,
      );
      const reasons = parseLogs(proc.err())
        .filter((l) => l.msg === 'closed a connection: bad PROXY header')
        .map((l) => (l as { reason?: string }).reason);
      expect(reasons).toEqual([
        'no PROXY protocol header',
        'malformed PROXY v1 header',
        'PROXY header from a peer not in proxyAllowFrom',
      ]);
    });
  }
});
