// The parser corpus (test/corpus/README.md): every NNN-name.http is sent to a real server whole,
// byte by byte and in seeded random splits, and must give the outcome its NNN-name.json names,
// the same every way. Replay a split with TSWS_CORPUS_SEED=<seed from the test name>.

import type { AddressInfo } from 'node:net';
import { type Server, serve } from '@tsws/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_LIMITS, loadCases } from '../helpers/corpus.js';
import { mulberry32, seedOf } from '../helpers/random.mjs';
import { connect, type RawClient, type RawResponse } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

/** Answers with the request as the app sees it. */
async function echo(request: Request): Promise<Response> {
  const body = Buffer.from(await request.arrayBuffer()).toString('latin1');
  return Response.json({ method: request.method, url: request.url, headers: [...request.headers], body });
}

const NEXT = Buffer.from('GET /__next HTTP/1.1\r\nHost: next.example\r\n\r\n', 'latin1');
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

type Way = 'whole' | 'bytewise' | 'split';

/** Writes `bytes` as the way says, giving the server a turn between writes; stops if the server hangs up. */
async function send(c: RawClient, bytes: Buffer, way: Way, seed: number): Promise<void> {
  if (way === 'whole') {
    c.write(bytes);
    return;
  }
  const random = mulberry32(seed);
  for (let at = 0; at < bytes.length; ) {
    if (c.socket.destroyed || c.socket.writableEnded) return;
    const size = way === 'bytewise' ? 1 : 1 + Math.floor(random() * random() * 24);
    c.write(bytes.subarray(at, at + size));
    at += size;
    await tick();
  }
}

/** The answer, and the statuses of the 1xx responses before it. */
async function answer(c: RawClient): Promise<{ res: RawResponse; interim: number[] }> {
  const interim: number[] = [];
  for (;;) {
    const res = await c.response({ interim: true });
    if (res.status >= 200) return { res, interim };
    interim.push(res.status);
  }
}

function parseEcho(res: RawResponse): { method: string; url: string; headers: Array<[string, string]>; body: string } {
  expect(res.header('content-type')).toBe('application/json');
  return JSON.parse(res.body.toString('utf8'));
}

let server: Server;
let port: number;
const cases = loadCases();
const runSeed = seedOf(process.env.TSWS_CORPUS_SEED);

beforeAll(async () => {
  server = await serve(echo, {
    bind: '127.0.0.1:0',
    ...CORPUS_LIMITS,
    headerTimeout: 5000,
    bodyTimeout: 5000,
    keepAliveTimeout: 5000,
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

/** A fresh connection to the same server gets a normal answer: one bad client hurt no one. */
async function stillServes(): Promise<void> {
  const c = await connect(port);
  c.write(NEXT);
  const res = await c.response();
  expect(res.status).toBe(200);
  expect(parseEcho(res).url).toBe('http://next.example/__next');
  c.close();
}

describe(`parser corpus (${cases.length} cases; TSWS_CORPUS_SEED=${runSeed})`, () => {
  it('has cases, each with its expectation', () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  for (const { name, bytes, expected } of cases) {
    for (const way of ['whole', 'bytewise', 'split'] as const) {
      const seed = (runSeed ^ seedOf(name)) >>> 0;
      const label = way === 'split' ? `split, seed ${seed}` : way;
      it(`${name} (${label})`, async () => {
        const c = await connect(port);
        await send(c, bytes, way, seed);
        const { res, interim } = await answer(c);
        if ('status' in expected) {
          expect(res.status, 'status').toBe(expected.status);
          if (expected.status >= 400) {
            // Refused: the connection closes, and nothing follows the error (no 2xx, ever).
            expect(res.header('connection'), 'Connection header').toBe('close');
            expect(await c.closed(3000), 'closed after the refusal').toBe(true);
            expect(c.pending().toString('latin1'), 'bytes after the refusal').toBe('');
            await stillServes();
            return;
          }
        } else {
          expect(res.status, `status, body ${res.body.toString('latin1').slice(0, 200)}`).toBe(200);
          const got = parseEcho(res);
          expect(got.method).toBe(expected.method);
          expect(got.url.replace(/^[a-z]+:\/\/[^/?#]*/i, '')).toBe(expected.target);
          if (expected.url !== undefined) expect(got.url).toBe(expected.url);
          expect(got.headers).toEqual(expected.headers);
          expect(got.body).toBe(expected.body);
          if (expected.interim !== undefined) expect(interim, '1xx responses').toEqual(expected.interim);
          if (expected.close) {
            expect(res.header('connection')).toBe('close');
            expect(await c.closed(3000), 'closed after the answer').toBe(true);
            expect(c.pending().toString('latin1'), 'bytes after the answer').toBe('');
            await stillServes();
            return;
          }
        }
        // Kept open: the next request on the same connection is answered as itself, so the case's
        // bytes were framed exactly (nothing left over to be read as a request of its own).
        c.write(NEXT);
        const next = await c.response();
        expect(next.status).toBe(200);
        expect(parseEcho(next).url).toBe('http://next.example/__next');
        c.close();
      });
    }
  }

  it('leaves no connection behind', async () => {
    const deadline = Date.now() + 5000;
    while (server.stats().connections > 0 && Date.now() < deadline) await sleep(50);
    expect(server.stats().connections).toBe(0);
  });
});
