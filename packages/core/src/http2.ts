// HTTP/2 on node:http2: an Http2Server that never listens, handed the sockets whose ALPN said h2
// (or, in cleartext, whose first bytes are h2's preface from a trusted proxy). Each stream becomes
// a fetch Request for the same handler, and its Response goes back with backpressure. The limits
// map onto HTTP/2's settings; the timeouts hold per stream (body) and per session (idle).
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { PeerInfo, type Publisher, type ServerInfo } from './exchange.js';
import type { AccessRecord, ResolvedOptions } from './options.js';

/** What the server gives the HTTP/2 side. */
export interface H2Host extends Publisher {
  readonly opts: ResolvedOptions;
  readonly handler: (request: Request, info: ServerInfo) => unknown;
  requests: number;
}

/** Fields HTTP/2 forbids in a response (RFC 9113 §8.2.2): framing is the protocol's own. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The client's first bytes on a cleartext HTTP/2 connection with prior knowledge. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

class BodyTooLarge extends RangeError {}

function plain(stream: http2.ServerHttp2Stream, status: number, text: string): void {
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(text);
}

/** The whole answer is out; RST_STREAM NO_ERROR tells the client to stop sending (RFC 9113 §8.1). */
function refuseBody(stream: http2.ServerHttp2Stream): void {
  if (!stream.headersSent) plain(stream, 413, 'Payload Too Large');
  stream.close(NGHTTP2_NO_ERROR);
}

export class H2 {
  readonly server: http2.Http2Server;
  /** Each open session and its client, the handler's second argument for all its streams. */
  readonly sessions = new Map<http2.Http2Session, PeerInfo>();
  inFlight = 0;

  constructor(private readonly host: H2Host) {
    const { opts } = host;
    // The core's header limits as HTTP/2 settings: the whole header list, and how many fields.
    const fieldBytes = opts.limitRequestFieldSize && opts.limitRequestFields;
    this.server = http2.createServer({
      maxHeaderListPairs: opts.limitRequestFields ? opts.limitRequestFields + 4 : 0,
      settings: {
        maxHeaderListSize: fieldBytes ? (opts.limitRequestFieldSize + 32) * (opts.limitRequestFields + 4) : 65535 * 16,
        maxConcurrentStreams: opts.maxPipelinedRequests === Infinity ? 100 : Math.max(opts.maxPipelinedRequests, 1),
      },
    });
    this.server.on('session', (session) => {
      this.sessions.set(session, new PeerInfo(session.socket as Socket, host));
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => {});
      // An idle session (no frames either way) closes after the keep-alive timeout.
      if (opts.keepAliveTimeout) session.setTimeout(opts.keepAliveTimeout, () => session.close());
    });
    this.server.on('stream', (stream, headers) => {
      void this.serve(stream, headers);
    });
  }

  /** Hands a socket (TLS with ALPN h2, or cleartext after the preface check) to node:http2. */
  accept(socket: Socket): void {
    // Frames are small and many: Nagle's delay against the client's delayed ACK costs 40 ms each.
    if (this.host.opts.noDelay) socket.setNoDelay(true);
    this.server.emit('connection', socket);
  }

  /** GOAWAY on every session: streams under way finish, no new ones start. */
  drain(): void {
    for (const session of this.sessions.keys()) session.close();
  }

  cut(): void {
    for (const session of this.sessions.keys()) session.destroy();
  }

  private async serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    const { opts, handler } = this.host;
    const started = performance.now();
    const session = stream.session;
    // The handler's second argument, as on HTTP/1.1 (its upgrade() is false: no Upgrade in HTTP/2).
    const info = session && this.sessions.get(session);
    if (session === undefined || info === undefined) {
      stream.close(NGHTTP2_CANCEL); // its session is gone: no one to answer
      return;
    }
    const socket = session.socket as Socket;
    const method = String(headers[':method'] ?? 'GET');
    const target = String(headers[':path'] ?? '/');
    const scheme = (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const authority = String(headers[':authority'] ?? headers.host ?? 'localhost');
    const record = (status: number, bytes: number, requestBytes: number): void =>
      opts.onResponse?.({
        method,
        target,
        httpVersion: '2',
        status,
        bytes,
        requestBytes,
        durationMs: performance.now() - started,
        remoteAddress: info.remoteAddress,
        userAgent: String(headers['user-agent'] ?? ''),
        referer: String(headers.referer ?? ''),
      } satisfies AccessRecord);
    this.host.requests++;
    this.inFlight++;
    stream.on('error', () => {});
    if (opts.bodyTimeout) stream.setTimeout(opts.bodyTimeout, () => stream.close(NGHTTP2_CANCEL));
    try {
      const declared = Number(headers['content-length'] ?? 0);
      if (opts.limitRequestBody && declared > opts.limitRequestBody) {
        refuseBody(stream);
        record(413, 17, 0);
        return;
      }
      let received = 0;
      const fields = new Headers();
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith(':') || value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) fields.append(name, v);
      }
      const aborted = new AbortController();
      stream.once('close', () => {
        if (!stream.writableFinished) aborted.abort(new Error('the client reset the stream'));
      });
      const hasBody = !stream.readableEnded && method !== 'GET' && method !== 'HEAD';
      const body = hasBody
        ? bodyOf(stream, opts.limitRequestBody, (n) => {
            received = n;
          })
        : undefined;
      const request = new Request(`${scheme}://${authority}${target}`, {
        method,
        headers: fields,
        signal: aborted.signal,
        ...(body ? { body, duplex: 'half' } : {}),
      } as RequestInit);
      const response = (await handler(request, info)) as Response;
      if (!(response instanceof Response)) throw new TypeError('the app did not return a Response');
      const bytes = await this.respond(stream, response, method === 'HEAD');
      record(response.status, bytes, received);
    } catch (err) {
      // A body over the limit was answered with 413 already; a reset stream has no one to tell.
      const status = err instanceof BodyTooLarge ? 413 : stream.closed ? 499 : 500;
      if (status === 500) {
        opts.logger.error({ err, request: `${method} ${target} HTTP/2` }, 'the app failed');
        if (!stream.headersSent) plain(stream, 500, 'Internal Server Error');
        else stream.close(NGHTTP2_INTERNAL_ERROR);
      }
      record(status, 0, 0);
    } finally {
      this.inFlight--;
    }
  }

  /** Writes the response; resolves with the body bytes written. */
  private async respond(stream: http2.ServerHttp2Stream, response: Response, head: boolean): Promise<number> {
    const out: http2.OutgoingHttpHeaders = { ':status': response.status };
    for (const [name, value] of response.headers) {
      if (CONNECTION_SPECIFIC.has(name) || name === 'set-cookie') continue;
      out[name] = value;
    }
    const cookies = response.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    if (stream.closed) {
      await response.body?.cancel();
      return 0;
    }
    const body = head ? null : response.body;
    stream.respond(out, { endStream: body === null });
    if (head) await response.body?.cancel();
    if (body === null) return 0;
    let bytes = 0;
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (stream.closed) {
          await reader.cancel();
          return bytes;
        }
        bytes += value.byteLength;
        // Wait for the peer's flow control window rather than queue the whole body in memory.
        if (!stream.write(value)) await new Promise((resolve) => stream.once('drain', resolve).once('close', resolve));
      }
      stream.end();
    } catch (err) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      throw err;
    }
    return bytes;
  }
}

/**
 * The stream's DATA as a web ReadableStream, paused while the app does not read (so HTTP/2's flow
 * control holds the client back), counted against `limit` (0: none); past it the stream is refused.
 */
function bodyOf(stream: http2.ServerHttp2Stream, limit: number, counted: (bytes: number) => void): ReadableStream {
  let received = 0;
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (err?: Error) => {
          if (settled) return;
          settled = true;
          if (err) controller.error(err);
          else controller.close();
        };
        stream.on('data', (chunk: Buffer) => {
          if (settled) return;
          received += chunk.length;
          counted(received);
          if (limit && received > limit) {
            // As on HTTP/1.1: 413, and the rest of the body is not read.
            finish(new BodyTooLarge(`the request body is over ${limit} bytes`));
            refuseBody(stream);
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          if ((controller.desiredSize ?? 0) <= 0) stream.pause();
        });
        stream.once('end', () => finish());
        stream.once('close', () => finish(new Error('the client reset the stream')));
      },
      pull() {
        stream.resume();
      },
      cancel() {
        settled = true;
        stream.close(NGHTTP2_CANCEL);
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}
