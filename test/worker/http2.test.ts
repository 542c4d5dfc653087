// --http-protocols through the settings: HTTP/2 by ALPN from tsws and tsws-master, the fixture app
// answering as on HTTP/1.1, with the tsws class and with -k node (http2's compatibility API);
// -k node refuses cleartext h2c in one line.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
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
      // Node's http2 client: a body up, a streamed answer down, on one session.
      const session = http2.connect(`https://localhost:${port}`, { ca: certs.pem.caCert });
      session.on('error', () => {});
      const ask = (headers: http2.OutgoingHttpHeaders, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request(headers, { endStream: body === undefined });
          if (body !== undefined) stream.end(body);
          let status = 0;
          let text = '';
          stream.on('response', (h) => (status = Number(h[':status'])));
          stream.on('data', (d: Buffer) => (text += d));
          stream.on('end', () => resolve({ status, text }));
          stream.on('error', reject);
        });
      try {
        const echo = await ask({ ':path': '/echo', ':method': 'POST' }, JSON.stringify({ a: 1 }));
        expect(echo).toEqual({ status: 200, text: JSON.stringify({ got: { a: 1 } }) });
        expect(await ask({ ':path': '/stream' })).toEqual({ status: 200, text: 'chunk 0\nchunk 1\nchunk 2\n' });
      } finally {
        session.close();
      }
    });
  }

  it('a bad value and -k node: one line each', async () => {
    const bad = run('tsws', ['fetch.js', '--chdir', APPS, '--http-protocols', 'h3']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.err().trim()).toBe('tsws: error: --http-protocols: expected one of h1, h2, got "h3"');
    const node = run('tsws', ['node-listener.js', '--chdir', APPS, '-k', 'node', '--http-protocols', 'h1,h2']);
    expect((await node.exited).code).toBe(3);
    expect(node.err().trim()).toBe(
      'tsws: error: --http-protocols h2 needs --certfile with -k node (cleartext h2c: the tsws worker class, -k tsws)',
    );
  });
});
