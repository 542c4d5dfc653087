// The delivery matrix's fetch app: `GET /body/<kind>?size=<bytes>` answers with a body of that
// kind (bodies.mjs), `GET /ok` with "ok" (the request after a download on a kept connection),
// `GET /peer` with the client's port (a proxy's upstream connection, seen from the server),
// `POST /upload` with the length of the body it read.
import { KINDS } from './bodies.mjs';

/** Sizes are whole multiples of 8 (the Float64Array kind) up to 128 MiB. */
const MAX_SIZE = 128 * 1024 * 1024;

export default async function app(request, info) {
  const url = new URL(request.url);
  if (url.pathname === '/ok') return new Response('ok');
  if (url.pathname === '/peer') return new Response(String(info?.remotePort));
  if (url.pathname === '/upload') return new Response(String((await request.arrayBuffer()).byteLength));
  const name = url.pathname.startsWith('/body/') ? url.pathname.slice(6) : '';
  const kind = Object.hasOwn(KINDS, name) ? KINDS[name] : undefined;
  if (kind === undefined) return new Response('no such body kind', { status: 404 });
  const size = Number(url.searchParams.get('size'));
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE || size % 8 !== 0)
    return new Response(`size must be a multiple of 8 up to ${MAX_SIZE}`, { status: 400 });
  return new Response(await body(name, kind, size));
}

/**
 * Bodies made once per kind and size, then reused: making a 32 MiB one holds the server's loop
 * for a few hundred ms, and a loop held for seconds by a burst of them hides stalls (a server
 * cannot tell what a client read while its loop was blocked). Streams and iterables are read
 * once: made per request, a piece at a time.
 */
const made = new Map();

function body(name, kind, size) {
  if (kind.readOnce) return kind.make(size);
  const key = `${name}:${size}`;
  if (!made.has(key)) made.set(key, kind.make(size));
  return made.get(key);
}
