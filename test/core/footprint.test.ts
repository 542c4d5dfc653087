// What a core server loads of Node's own HTTP stack (idle RSS): node:tls only for a TLS listener,
// node:http2 only once an HTTP/2 connection arrives, and never node:http. The app answers from
// inside the server's process.
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { LOADED_BUILTINS_APP, unavoidableBuiltins } from '../helpers/builtins.js';
import { ROOT, run } from '../helpers/proc.js';

/** A core server on `LOADED_BUILTINS_APP` in its own process; resolves with its origin. */
async function serveApart(options: object = {}): Promise<string> {
  const proc = run(`${ROOT}test/fixtures/serve.mjs`, [
    LOADED_BUILTINS_APP,
    JSON.stringify({ bind: '127.0.0.1:0', ...options }),
  ]);
  const [, url] = await proc.waitFor(/listening (\S+)/);
  return `http://${url}`;
}

/** The same question over cleartext HTTP/2 with prior knowledge (127.0.0.1 is a trusted proxy by default). */
async function askOverH2c(origin: string): Promise<unknown> {
  const session = http2.connect(origin);
  try {
    const stream = session.request({ ':path': '/' });
    let body = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
    return JSON.parse(body);
  } finally {
    session.close();
  }
}

describe('what a core server loads', () => {
  it('serving plain HTTP, neither node:tls nor node:http2', async () => {
    const origin = await serveApart();
    expect(await (await fetch(origin)).json()).toEqual(unavoidableBuiltins());
  });

  it('with HTTP/2 in cleartext, node:http2 only at the first h2c connection, which it serves', async () => {
    const origin = await serveApart({ httpProtocols: ['h1', 'h2'] });
    expect(await (await fetch(origin)).json()).toEqual(unavoidableBuiltins());
    expect(await askOverH2c(origin)).toContain('http2');
  });
});
