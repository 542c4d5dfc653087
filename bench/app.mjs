// The fetch app every fetch-serving server serves (tsws core, @hono/node-server, the tsws CLI).
// Servers without fetch support (node:http, fastify) answer the same routes with the same bytes
// in their own idiom; `fixtures` is what both sides share.

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

export const HELLO = 'hello world';

export default async function app(request) {
  const path = request.url.slice(request.url.indexOf('/', 8));
  switch (path) {
    case '/':
      return new Response(HELLO);
    case '/json':
      return Response.json(jsonObject);
    case '/echo':
      return new Response(await request.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });
    case '/stream': {
      let sent = 0;
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(STREAM_CHUNK);
            if (++sent === STREAM_CHUNKS) controller.close();
          },
        }),
        { headers: { 'content-type': 'application/octet-stream' } },
      );
    }
    default:
      return new Response('not found', { status: 404 });
  }
}
