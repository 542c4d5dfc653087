// Fetch apps on node:http (the `node` worker class): IncomingMessage in as a WHATWG Request,
// the app's Response out through ServerResponse, with backpressure both ways.
//
// Written here rather than taken from @hono/node-server: the node class serves fetch apps only
// when asked to (`-k node`; `auto` gives them the tsws core), so speed matters less than owning
// the edges that must match the core: the ConnInfo second argument, the body limit on chunked
// bodies (413), 500 with our log line when the app throws, and no globals replaced.
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type FetchHandler, type ServerInfo, type SocketAddress, type TlsInfo, tlsInfo } from '@tsws/core';
import type { NodeListener } from './app-kind.js';
import type { Logger } from './logging.js';

class BodyTooLarge extends Error {
  readonly code = 'ERR_TSWS_BODY_TOO_LARGE';
}

const NO_BODY = new Set(['GET', 'HEAD']);
const HIGH_WATER = 64 * 1024;

function hasBody(req: http.IncomingMessage): boolean {
  if (NO_BODY.has(req.method ?? '')) return false;
  // HTTP/2 frames its own body, with or without a length: there is one unless the HEADERS ended the stream.
  const h2 = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
  if (h2 !== undefined) return h2.endAfterHeaders !== true;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The request body as a byte stream that pauses the socket when the app reads slowly. */
function bodyStream(req: http.IncomingMessage, limit: number, tooLarge: () => void): ReadableStream<Uint8Array> {
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (limit !== 0 && seen > limit) {
            tooLarge();
            req.pause();
            controller.error(new BodyTooLarge(`the request body is over ${limit} bytes`));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          if ((controller.desiredSize ?? 1) <= 0) req.pause();
        });
        req.once('end', () => controller.close());
        req.once('error', (err) => controller.error(err));
      },
      pull() {
        req.resume();
      },
      cancel() {
        // The app does not want the rest: read and drop it, so the connection can be reused.
        req.resume();
      },
    },
    { highWaterMark: HIGH_WATER, size: (chunk) => chunk.byteLength },
  );
}

/** A Request whose `signal` is made on first read (see nodeRequestClass). */
interface NodeRequest extends Request {
  /** The client went away before the response was complete. */
  clientGone(reason: Error): void;
}
type NodeRequestClass = new (url: string, init: RequestInit) => NodeRequest;

let nodeRequest: NodeRequestClass | undefined;

/**
 * The Request subclass, made on first use: extending the global Request loads Node's bundled
 * undici (on Node 20 about 3 MB of JS heap and 10 MB of RSS), which the tsws class never needs;
 * made at import, it sat in every worker's old generation, and a larger old generation tips V8
 * into back-to-back full GCs under a 64 KiB echo (issue 11).
 *
 * Its `signal` is made on first read: undici links a signal given to the constructor through
 * listeners and a FinalizationRegistry, ~50-80 µs a request (Node 20 and 24), which every app
 * would pay for the few that watch for a client going away.
 */
function nodeRequestClass(): NodeRequestClass {
  if (nodeRequest) return nodeRequest;
  class LazySignalRequest extends Request implements NodeRequest {
    #abort: AbortController | undefined;
    #gone: unknown = undefined;

    lazySignal(): AbortSignal {
      if (this.#abort === undefined) {
        this.#abort = new AbortController();
        if (this.#gone !== undefined) this.#abort.abort(this.#gone);
      }
      return this.#abort.signal;
    }

    clientGone(reason: Error): void {
      this.#gone = reason;
      this.#abort?.abort(reason);
    }
  }
  // An accessor over Request's own `signal` (TypeScript types it as a property, so it goes here).
  Object.defineProperty(LazySignalRequest.prototype, 'signal', {
    configurable: true,
    get(this: LazySignalRequest) {
      return this.lazySignal();
    },
  });
  nodeRequest = LazySignalRequest;
  return nodeRequest;
}

function toRequest(
  NodeRequest: NodeRequestClass,
  req: http.IncomingMessage,
  limit: number,
  tooLarge: () => void,
): NodeRequest {
  const target = req.url ?? '/';
  // HTTP/2 (http2's compatibility API) names the host in :authority.
  const host =
    req.headers.host ??
    (req.headers[':authority'] as string | undefined) ??
    `${req.socket.localAddress ?? 'localhost'}:${req.socket.localPort ?? 80}`;
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const url = /^https?:\/\//i.test(target) ? target : `${scheme}://${host}${target}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]![0] !== ':') headers.append(raw[i]!, raw[i + 1]!);
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers };
  if (hasBody(req)) {
    init.body = bodyStream(req, limit, tooLarge);
    init.duplex = 'half';
  }
  return new NodeRequest(url, init);
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    Connection: 'close',
  });
  res.end(text);
}

async function writeResponse(res: http.ServerResponse, response: Response, head: boolean): Promise<void> {
  // Headers iterate with each Set-Cookie apart (Fetch's "sort and combine" exception), so a flat
  // [name, value, ...] list keeps them as separate fields.
  const flat: string[] = [];
  for (const [name, value] of response.headers) flat.push(name, value);
  res.writeHead(response.status, response.statusText || undefined, flat);
  const body = response.body;
  if (body === null || head) {
    await body?.cancel();
    res.end();
    return;
  }
  const reader = body.getReader();
  const gone = () => void reader.cancel().catch(() => {});
  res.once('close', gone);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go);
            res.off('close', go);
            resolve();
          };
          res.on('drain', go);
          res.on('close', go);
        });
      }
    }
    res.end();
  } finally {
    res.off('close', gone);
  }
}

/** A Response, from this realm's fetch or another copy of undici (duck-typed, as the core does). */
function isResponse(value: unknown): value is Response {
  return (
    value instanceof Response ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Response).status === 'number' &&
      typeof (value as Response).headers?.get === 'function' &&
      'body' in value)
  );
}

/** The handler's second argument on node:http: the client, and a Bun server that has no WebSockets here. */
class NodeInfo implements ServerInfo {
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly tls: TlsInfo | undefined,
  ) {}
  upgrade(): boolean {
    return false;
  }
  requestIP(): SocketAddress | null {
    const address = this.remoteAddress;
    return address === '' ? null : { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: this.remotePort };
  }
  publish(): number {
    return 0;
  }
  subscriberCount(): number {
    return 0;
  }
}

/** A node:http listener serving the fetch handler. */
export function fetchListener(handler: FetchHandler, opts: { log: Logger; limitRequestBody: number }): NodeListener {
  const { log } = opts;
  const NodeRequest = nodeRequestClass();
  return (req, res) => {
    let overLimit = false;
    let request: NodeRequest | undefined;
    // The client went away before the response was complete: tell the app.
    res.once('close', () => {
      if (!res.writableFinished) request?.clientGone(new Error('the client closed the connection'));
    });
    const info = new NodeInfo(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0, tlsInfo(req.socket));
    const answer = (async () => {
      request = toRequest(NodeRequest, req, opts.limitRequestBody, () => (overLimit = true));
      return handler(request, info);
    })();
    answer.then(
      (response) => {
        if (overLimit) return plain(res, 413, 'Payload Too Large');
        if (!isResponse(response)) {
          log.error(
            { method: req.method, target: req.url, got: typeof response },
            'the app returned something other than a Response',
          );
          return plain(res, 500, 'Internal Server Error');
        }
        writeResponse(res, response, req.method === 'HEAD').catch((err: unknown) => {
          if (!res.destroyed)
            log.error({ err, method: req.method, target: req.url }, 'the response body stream failed');
          res.destroy();
        });
      },
      (err: unknown) => {
        if (overLimit) return plain(res, 413, 'Payload Too Large');
        if (!res.destroyed) log.error({ err, method: req.method, target: req.url }, 'the app failed to answer');
        plain(res, 500, 'Internal Server Error');
      },
    );
  };
}
