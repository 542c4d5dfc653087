// The access log written by `tsws --access-log FILE`: what lands in the file, and when.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, run, waitForHttp } from '../helpers/proc.js';
import { exchange, req } from '../helpers/raw.js';
import { FIXTURES, tempDir, until } from '../master/helpers.js';

describe('tsws --access-log', () => {
  it("shows a quiet server's lines within seconds, keeps the bytes a client sent, loses none at exit", async () => {
    const file = join(tempDir(), 'access.log');
    const port = await freePort();
    const proc = run('tsws', ['hello.mjs', '-b', `127.0.0.1:${port}`, '--access-log', file], { cwd: FIXTURES });
    await waitForHttp(`http://127.0.0.1:${port}/`);
    const read = () => (existsSync(file) ? readFileSync(file) : Buffer.alloc(0));

    // A user agent in UTF-8 (obs-text to HTTP): the file holds the same bytes, not a re-encoding.
    const agent = Buffer.from('Grüße/1.0 "quoted"', 'utf8');
    const head = Buffer.concat([
      Buffer.from(`GET /utf8 HTTP/1.1\r\nHost: a\r\nUser-Agent: `),
      agent,
      Buffer.from('\r\nConnection: close\r\n\r\n'),
    ]);
    expect((await exchange(port, head)).status).toBe(200);
    // Nothing else comes: the line must still show, from the periodic flush.
    await until('the line of a quiet server', () => read().includes('/utf8'), 5000);
    const first = JSON.parse(read().toString('utf8').trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(first).toMatchObject({
      method: 'GET',
      target: '/utf8',
      status: 200,
      userAgent: 'Grüße/1.0 "quoted"',
      remote: '127.0.0.1',
      pid: proc.pid,
    });

    // Enough lines to cross several write batches, then a stop: every line is in the file.
    const n = 400;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => exchange(port, req('GET', `/?n=${i + j}`, ['Connection: close']))),
      );
    }
    proc.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    const targets = read()
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { target: string }).target);
    const numbered = new Set(targets.filter((t) => t.startsWith('/?n=')));
    expect(numbered.size).toBe(n);
    // And nothing twice: the readiness probe's GET /, the /utf8 request, and the n above.
    expect(targets).toHaveLength(n + 2);
  });
});
