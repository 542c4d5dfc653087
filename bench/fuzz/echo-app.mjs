// The fuzz target app: echoes what it received in a compact form the reference can match, and
// streams large bodies for the slow-reader tests. Equivalent to h1check's apps/echo.mjs for
// what the server sees; kept in-repo so tests do not depend on a checkout beside it.
import { createHash } from 'node:crypto';

const MIB = 1024 * 1024;
const CHUNK = new Uint8Array(64 * 1024).fill(0x61);

/** What a request looked like to the app: method, URL, body length and SHA-1. */
export function echoOf(method, url, body) {
  return JSON.stringify({ m: method, u: url, n: body.length, h: createHash('sha1').update(body).digest('hex') });
}

/** A body of `mib` MiB, produced only as the socket drains (64 KiB per pull). */
function bigStream(mib) {
  let left = mib * MIB;
  return new ReadableStream(
    {
      pull(controller) {
        if (left <= 0) return controller.close();
        const n = Math.min(left, CHUNK.length);
        controller.enqueue(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
        left -= n;
      },
    },
    { highWaterMark: 0 },
  );
}

export default {
  async fetch(request) {
    const url = request.url;
    const stream = /\/__stream\?mib=(\d+)$/.exec(url);
    if (stream)
      return new Response(bigStream(Number(stream[1])), { headers: { 'content-type': 'application/octet-stream' } });
    let body;
    try {
      body = Buffer.from(await request.arrayBuffer());
    } catch {
      // The client ended mid-body. Answered here, not left to the core's 500, so the answer
      // carries x-method: the fuzzer must know an answer to HEAD has no body.
      return new Response(null, { status: 400, headers: { 'x-method': request.method } });
    }
    return new Response(echoOf(request.method, url, body), {
      headers: { 'content-type': 'application/json', 'x-method': request.method },
    });
  },
};
