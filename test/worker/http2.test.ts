// --http-protocols through the settings: HTTP/2 by ALPN from tsws and tsws-master, the fixture app
// answering as on HTTP/1.1, with the tsws class and with -k node (http2's compatibility API);
// cleartext h2c with prior knowledge under -k node, from --forwarded-allow-ips peers only.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { run } from '../helpers/proc.js';
import { APPS, RUNNERS, serve } from './serve.js';

const exec = promisify(execFile);
let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

/** One stream on `session`: the status and the whole body. */
function ask(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    let status = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => (text += d));
    stream.on('end', () => resolve({ status, text }));
    stream.on('error', reject);
  });
}

/** A body up and a streamed answer down, on one session of Node's http2 client. */
async function expectEchoAndStream(session: http2.ClientHttp2Session): Promise<void> {
  session.on('error', () => {});
  try {
    const echo = await ask(session, { ':path': '/echo', ':method': 'POST' }, JSON.stringify({ a: 1 }));
    expect(echo).toEqual({ status: 200, text: JSON.stringify({ got: { a: 1 } }) });
    expect(await ask(session, { ':path': '/stream' })).toEqual({ status: 200, text: 'chunk 0\nchunk 1\nchunk 2\n' });
  } finally {
    session.close();
  }
}

const h2Args = () => ['--http-protocols', 'h1,h2', '--certfile', certs.serverCert, '--keyfile', certs.serverKey];

/** curl --http2 and --http1.1 on /hello: the app's greeting each time, over the version asked for. */
async function expectBothVersions(port: number, app: string): Promise<void> {
  const url = `https://localhost:${port}/hello`;
  for (const [flag, version] of [
    ['--http2', '2'],
    ['--http1.1', '1.1'],
  ] as const) {
    const { stdout } = await exec('curl', ['-sS', flag, '--cacert', certs.caCert, '-w', '\\n%{http_version}', url]);
    expect(stdout).toBe(`hello from ${app}\n${version}`);
  }
}

describe('--http-protocols', () => {
  for (const runner of RUNNERS) {
    it(`${runner.name}: h1,h2 with --certfile serves HTTP/2 to curl --http2 and HTTP/1.1 to the rest`, async () => {
      const { port } = await serve(runner, 'fetch.js', h2Args());
      await expectBothVersions(port, 'fetch');
    });
  }

  // A Node listener as it is; a fetch app through the adapter (HTTP/2's pseudo-header fields are not its headers).
  for (const [runner, app] of RUNNERS.flatMap((r) => [[r, 'node'] as const, [r, 'fetch'] as const])) {
    it(`${runner.name} -k node, ${app} app: h1,h2 with --certfile, http2's compat API for curl and Node`, async () => {
      const { port } = await serve(runner, app === 'node' ? 'node-listener.js' : 'fetch.js', [
        '-k',
        'node',
        ...h2Args(),
      ]);
      await expectBothVersions(port, app);
      await expectEchoAndStream(http2.connect(`https://localhost:${port}`, { ca: certs.pem.caCert }));
    });
  }

  for (const runner of RUNNERS) {
    it(`${runner.name} -k node: h2c with prior knowledge from --forwarded-allow-ips peers, h1 alongside`, async () => {
      const { port } = await serve(runner, 'node-listener.js', ['-k', 'node', '--http-protocols', 'h1,h2']);
      const curl = (...args: string[]) =>
        exec('curl', ['-sS', ...args, '-w', '\n%{http_version}', `http://127.0.0.1:${port}/hello`]);
      expect((await curl('--http2-prior-knowledge')).stdout).toBe('hello from node\n2');
      expect((await curl('--http1.1')).stdout).toBe('hello from node\n1.1');
      await expectEchoAndStream(http2.connect(`http://127.0.0.1:${port}`));
      // 127.0.0.2 is not in --forwarded-allow-ips (loopback 127.0.0.1 by default): its preface is
      // refused; its HTTP/1.1 served.
      await expect(curl('--http2-prior-knowledge', '--interface', '127.0.0.2')).rejects.toThrow();
      expect((await curl('--interface', '127.0.0.2')).stdout).toBe('hello from node\n1.1');
    });
  }

  for (const secure of [false, true])
    it(`-k node: ${secure ? 'TLS with ALPN h2' : 'h2c'} behind PROXY: the client where apps look`, async () => {
      const { port } = await serve(RUNNERS[0]!, 'node-peer.js', [
        '-k',
        'node',
        '--http-protocols',
        'h1,h2',
        '--proxy-protocol',
        'v1',
        ...(secure ? ['--certfile', certs.serverCert, '--keyfile', certs.serverKey] : []),
      ]);
      const raw = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => raw.once('connect', resolve));
      // h2c: trusted by the proxy's own address (127.0.0.1), not by the client its header names.
      raw.write('PROXY TCP4 203.0.113.7 127.0.0.1 51000 8000\r\n');
      const session = secure
        ? http2.connect(`https://localhost:${port}`, {
            createConnection: () =>
              tls.connect({ socket: raw, ca: certs.pem.caCert, servername: 'localhost', ALPNProtocols: ['h2'] }),
          })
        : http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => raw });
      session.on('error', () => {});
      try {
        const { status, text } = await ask(session, { ':path': '/p' });
        expect(status).toBe(200);
        expect(JSON.parse(text)).toEqual({ remoteAddress: '203.0.113.7', remotePort: 51000, httpVersion: '2.0' });
      } finally {
        session.close();
      }
    });

  // Before, the app started, and the first h2 request with a body (express.json()) took the worker down.
  it('-k node: an Express app with h2 is refused at start, in one line', async () => {
    const bad = run('tsws', ['express5.cjs', '--chdir', APPS, ...h2Args()]);
    expect((await bad.exited).code).toBe(3);
    expect(bad.err().trim()).toBe(
      "tsws: error: --http-protocols h1,h2: an Express or connect app swaps each request's prototype " +
        "for node:http's (as Express does), which HTTP/2 streams break: serve it with --http-protocols h1",
    );
  });

  it('a bad value: one line', async () => {
    const bad = run('tsws', ['fetch.js', '--chdir', APPS, '--http-protocols', 'h3']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.err().trim()).toBe('tsws: error: --http-protocols: expected one of h1, h2, got "h3"');
  });
});
