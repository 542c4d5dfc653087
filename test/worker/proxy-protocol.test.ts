// --proxy-protocol behind a real HAProxy (Debian's) in TCP mode with send-proxy-v2: the client's
// address survives the proxy, over plain HTTP and with TLS passed through to tsws.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { freePort, run } from '../helpers/proc.js';
import { until } from '../helpers/wait.mjs';
import { get, tempDir } from '../master/helpers.js';
import { APPS, RUNNERS, serve } from './serve.js';

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

describe('--proxy-protocol behind HAProxy send-proxy-v2', () => {
  for (const runner of RUNNERS) {
    it(`${runner.name}: the app sees the client's address, not HAProxy's`, async () => {
      const { port } = await serve(runner, 'info-handler.js', ['--proxy-protocol', 'v2']);
      const front = await haproxy(port);
      const seen = await getFrom(`http://127.0.0.1:${front}/`);
      expect(seen.remoteAddress).toBe('127.0.0.2');
      // Direct from 127.0.0.1, an allowed proxy, with no header: closed. From 127.0.0.2, not a
      // proxy: served as it is.
      await expect(get(`http://127.0.0.1:${port}/`)).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect((await getFrom(`http://127.0.0.1:${port}/`)).remoteAddress).toBe('127.0.0.2');
    });
  }

  it('-k node refuses it in one line (exit 3) rather than serve a header as a request', async () => {
    const proc = run('tsws', ['node-listener.js', '--chdir', APPS, '-k', 'node', '--proxy-protocol', 'v1']);
    expect((await proc.exited).code).toBe(3);
    expect(proc.err().trim()).toBe(
      'tsws: error: --proxy-protocol is served by the tsws worker class (-k tsws), not by -k node',
    );
  });

  it('with TLS passed through: the header first, then the handshake', async () => {
    const { port } = await serve(RUNNERS[0]!, 'tls-info.js', [
      '--proxy-protocol',
      'auto',
      '--certfile',
      certs.serverCert,
      '--keyfile',
      certs.serverKey,
    ]);
    const front = await haproxy(port);
    const seen = await getFrom(`https://localhost:${front}/`, certs.pem.caCert);
    expect(seen).toMatchObject({ url: `https://localhost:${front}/`, protocol: 'TLSv1.3', remoteAddress: '127.0.0.2' });
  });
});
