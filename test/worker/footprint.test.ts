// What the tsws CLI loads beyond the core: nothing a fetch app served by the tsws class does not
// need. Node's bundled undici (loaded by the first touch of Request or Response: ~3 MB of JS heap
// and 10 MB of RSS on Node 20) was loaded by the worker's import of the node class's fetch
// adapter, and the larger old generation tipped V8 into back-to-back full GCs under a 64 KiB
// echo (issue 11): the CLI at 0.79x node:http where the core was at 1.74x. On Node 24 the core
// loads undici itself (bench/README.md), so there both answer true.
import { describe, expect, it } from 'vitest';
import { unavoidableBuiltins } from '../helpers/builtins.js';
import { ROOT, run } from '../helpers/proc.js';
import { APPS, RUNNERS, serve } from './serve.js';

async function coreAnswer(app: string): Promise<string> {
  const proc = run(`${ROOT}test/fixtures/serve.mjs`, [app, JSON.stringify({ bind: '127.0.0.1:0' })]);
  try {
    const [, url] = await proc.waitFor(/listening (\S+)/);
    return await (await fetch(`http://${url}/`)).text();
  } finally {
    proc.kill();
  }
}

describe('the tsws CLI', () => {
  it("loads Node's bundled undici only where the core does", async () => {
    const core = await coreAnswer(`${APPS}/bundled-undici.js`);
    const cli = await serve(RUNNERS[0]!, 'bundled-undici.js:default');
    const answer = await (await fetch(`${cli.origin}/`)).text();
    expect({ cli: answer, node: process.version }).toEqual({ cli: core, node: process.version });
  });

  // The node class (node:http, node:http2, node:https) is loaded only when chosen, and node:http
  // is not loaded to tell an http.Server export from a fetch app.
  it('loads none of node:http, node:http2 and node:tls for a fetch app', async () => {
    const cli = await serve(RUNNERS[0]!, 'loaded-builtins.js:default');
    const loaded = (await (await fetch(`${cli.origin}/`)).json()) as string[];
    expect(loaded).toEqual(unavoidableBuiltins());
  });
});
