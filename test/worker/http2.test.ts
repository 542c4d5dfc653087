// --http-protocols through the settings: HTTP/2 by ALPN from tsws and tsws-master, the fixture app
// answering as on HTTP/1.1; -k node refuses it in one line.
import { execFile } from 'node:child_process';
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

describe('--http-protocols', () => {
  for (const runner of RUNNERS) {
    it(`${runner.name}: h1,h2 with --certfile serves HTTP/2 to curl --http2 and HTTP/1.1 to the rest`, async () => {
      const { port } = await serve(runner, 'fetch.js', [
        '--http-protocols',
        'h1,h2',
        '--certfile',
        certs.serverCert,
        '--keyfile',
        certs.serverKey,
      ]);
      const url = `https://localhost:${port}/hello`;
      const h2 = await exec('curl', ['-sS', '--http2', '--cacert', certs.caCert, '-w', '\\n%{http_version}', url]);
      expect(h2.stdout).toBe('hello from fetch\n2');
      const h1 = await exec('curl', ['-sS', '--http1.1', '--cacert', certs.caCert, '-w', '\\n%{http_version}', url]);
      expect(h1.stdout).toBe('hello from fetch\n1.1');
    });
  }

  it('a bad value and -k node: one line each', async () => {
    const bad = run('tsws', ['fetch.js', '--chdir', APPS, '--http-protocols', 'h3']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.err().trim()).toBe('tsws: error: --http-protocols: expected one of h1, h2, got "h3"');
    const node = run('tsws', ['node-listener.js', '--chdir', APPS, '-k', 'node', '--http-protocols', 'h1,h2']);
    expect((await node.exited).code).toBe(3);
    expect(node.err().trim()).toBe(
      'tsws: error: --http-protocols h2 is served by the tsws worker class (-k tsws), not by -k node',
    );
  });
});
