// The fetch app every fetch-serving server serves (tsws core, @hono/node-server, the tsws CLI).
// Servers without fetch support (node:http, fastify) answer the same routes with the same bytes
// in their own idiom; `fixtures` is what both sides share.
import { existsSync, openAsBlob, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A ~1 KiB object, serialised per request as a real app would. */
export const jsonObject = {
  service: 'tsws-bench',
  version: 1,
  items: Array.from({ length: 12 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    price: 9.99 + i,
    tags: ['alpha', 'beta'],
    stock: i % 3 === 0,
  })),
};

/** The streamed response: 16 chunks of 64 KiB (1 MiB), the same bytes each time. */
export const STREAM_CHUNK = new Uint8Array(64 * 1024).fill(0x61);
export const STREAM_CHUNKS = 16;

/** The streams of the streaming pass (issue 9), each `count` chunks of `chunk`, by path. */
export const STREAMS = {
  '/stream': { chunk: STREAM_CHUNK, count: STREAM_CHUNKS },
  '/stream-small': { chunk: new Uint8Array(10).fill(0x61), count: 3 },
  '/stream-1k': { chunk: new Uint8Array(1024).fill(0x61), count: 100 },
};

/** A ReadableStream whose pull enqueues one chunk per call, as the echo app's /stream does. */
export function chunkStream({ chunk, count }) {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(chunk);
      if (++sent === count) controller.close();
    },
  });
}

/** The files of the streaming pass, by path: their size in bytes. */
export const FILES = { '/file-1m': 1 << 20, '/file-100m': 100 << 20 };

/** The file of `size` bytes, written once into the temp dir (to a temporary name, then renamed). */
export function benchFile(size) {
  const path = join(tmpdir(), `tsws-bench-file-${size}.bin`);
  if (!existsSync(path) || statSync(path).size !== size) {
    writeFileSync(`${path}.${process.pid}`, Buffer.alloc(size, 0x61));
    renameSync(`${path}.${process.pid}`, path);
  }
  return path;
}

/** Server-sent events (bench/sse.mjs): one event a second per client, until it goes away. */
export const SSE_EVERY_MS = 1000;
export const sseEvent = (n) => `data: event ${n}\n\n`;
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function eventStream() {
  let timer;
  let n = 0;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(sseEvent(n++)));
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode(sseEvent(n++))), SSE_EVERY_MS);
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

export const HELLO = 'hello world';
const OCTETS = { 'content-type': 'application/octet-stream' };

export default async function app(request) {
  const path = request.url.slice(request.url.indexOf('/', 8));
  switch (path) {
    case '/':
      return new Response(HELLO);
    case '/json':
      return Response.json(jsonObject);
    case '/echo':
      return new Response(await request.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });
    case '/sse':
      return new Response(eventStream(), { headers: SSE_HEADERS });
    default: {
      const stream = STREAMS[path];
      if (stream) return new Response(chunkStream(stream), { headers: OCTETS });
      // A file-backed Blob: read from disk as it is sent, never whole into memory.
      if (FILES[path]) return new Response(await openAsBlob(benchFile(FILES[path])), { headers: OCTETS });
      return new Response('not found', { status: 404 });
    }
  }
}
