// Pipelining (RFC 9112 §9.3.2): responses go out in request order whatever order the app finishes
// in, and a connection stops reading while too many requests wait or while its output is backed up.
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, type RawClient, req } from '../helpers/raw.js';
import { sleep, until } from '../helpers/wait.mjs';

async function bodies(c: RawClient, n: number, timeoutMs = 5000): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await c.response({ timeoutMs })).body.toString());
  return out;
}

describe('pipelining', () => {
  it('answers in request order when later requests finish first', async () => {
    const delays: Record<string, number> = { '/slow': 400, '/fast': 0, '/mid': 100, '/sync': -1 };
    const finished: string[] = [];
    const { port } = await start((request) => {
      const path = new URL(request.url).pathname;
      const delay = delays[path] ?? 0;
      if (delay < 0) {
        finished.push(path);
        return new Response(path);
      }
      return sleep(delay).then(() => {
        finished.push(path);
        return new Response(path);
      });
    });
    const c = await connect(port);
    const order = ['/slow', '/fast', '/mid', '/sync', '/fast'];
    c.write(order.map((p) => req('GET', p)).join(''));
    expect(await bodies(c, order.length)).toEqual(order);
    // The app really did finish them out of order.
    expect(finished[0]).not.toBe('/slow');
  });

  it('holds later answers until a streamed answer before them has finished', async () => {
    const { port } = await start((request) => {
      if (new URL(request.url).pathname !== '/stream') return new Response('quick');
      let n = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            await sleep(50);
            if (n === 3) return controller.close();
            controller.enqueue(new TextEncoder().encode(`part${n++};`));
          },
        }),
      );
    });
    const c = await connect(port);
    c.write(req('GET', '/stream') + req('GET', '/quick') + req('GET', '/stream') + req('GET', '/quick'));
    expect(await bodies(c, 4)).toEqual(['part0;part1;part2;', 'quick', 'part0;part1;part2;', 'quick']);
  });

  it('reads at most maxPipelinedRequests ahead, then answers everything in order', async () => {
    const waiting: Array<() => void> = [];
    const seen: string[] = [];
    const { port } = await start(
      (request) => {
        seen.push(new URL(request.url).pathname);
        return new Promise<Response>((resolve) =>
          waiting.push(() => resolve(new Response(new URL(request.url).pathname))),
        );
      },
      { maxPipelinedRequests: 2 },
    );
    const c = await connect(port);
    const paths = ['/1', '/2', '/3', '/4', '/5', '/6'];
    c.write(paths.map((p) => req('GET', p)).join(''));
    await until('the app to see two requests', () => seen.length === 2, 5000);
    await sleep(300);
    // Reading paused: the other four are sent but not yet read.
    expect(seen).toEqual(['/1', '/2']);

    // Answer one at a time: each answer lets exactly one more request in.
    waiting.shift()!();
    expect((await c.response()).body.toString()).toBe('/1');
    await until('the app to see a third request', () => seen.length === 3, 5000);
    await sleep(100);
    expect(seen.length).toBe(3);
    while (seen.length < paths.length || waiting.length) {
      waiting.shift()?.();
      await sleep(10);
    }
    expect(await bodies(c, 5)).toEqual(paths.slice(1));
  });

  // A client that sends a burst and reads nothing must not make the server build every answer.
  for (const kind of ['string', 'bytes'] as const) {
    it(`stops reading while output is backed up (${kind} bodies), then delivers all in order`, async () => {
      const size = 64 * 1024;
      const total = 300; // 19 MB of answers for 9 KB of requests
      let answered = 0;
      const { port } = await start(
        (request) => {
          answered++;
          const tag = new URL(request.url).pathname.slice(1).padEnd(8, ' ');
          const text = tag + 'x'.repeat(size - 8);
          return new Response(kind === 'string' ? text : Buffer.from(text));
        },
        { maxPipelinedRequests: 0 },
      );
      const c = await connect(port);
      c.socket.pause();
      const burst = Array.from({ length: total }, (_, i) => req('GET', `/${i}`)).join('');
      c.write(burst);
      await sleep(500);
      // Kernel buffers hold a few MB (about 60 answers here); half the burst is 10 MB.
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(total / 2);

      c.socket.resume();
      for (let i = 0; i < total; i++) {
        const res = await c.response({ timeoutMs: 10_000 });
        expect(res.body.length).toBe(size);
        expect(res.body.subarray(0, 8).toString().trim()).toBe(String(i));
      }
      expect(answered).toBe(total);
    });
  }
});
