// HTTP/2 on node:http2: an Http2Server that never listens, handed the sockets whose ALPN said h2
// (or, in cleartext, whose first bytes are h2's preface from a trusted proxy). Each stream becomes
// a fetch Request for the same handler, and its Response goes back with backpressure. The limits
// map onto HTTP/2's settings; the timeouts hold per stream (body) and per session (idle).
// node:http2 is loaded by the first H2, at the first HTTP/2 connection: a server that sees none
// never loads it (nor the node:http and node:tls it requires).
import type http2 from 'node:http2';
import type { Socket } from 'node:net';
import { ClientGone, type ConnInfo, PeerInfo, type Publisher, type ServerInfo } from './exchange.js';
import { validHost } from './head.js';
import { type AccessRecord, maxHeaderListSize, type ResolvedOptions } from './options.js';
import { forwardedInfo, forwardedProto, type TrustCheck } from './proxy.js';
import { type BodySource, LightRequest, RequestBody, type RequestHead } from './request.js';
import { type ResponseParts, responseParts } from './response.js';
import { isTls } from './tls.js';

/** What the server gives the HTTP/2 side. */
export interface H2Host extends Publisher {
  readonly opts: ResolvedOptions;
  readonly handler: (request: Request, info: ServerInfo) => unknown;
  /** Whose X-Forwarded-* fields count (forwardedAllowIps). */
  readonly trusted: TrustCheck;
  requests: number;
}

/** Fields HTTP/2 forbids in a response (RFC 9113 §8.2.2): framing is the protocol's own. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The client's first bytes on a cleartext HTTP/2 connection with prior knowledge. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

// Wire values fixed by RFC 9113 (§7's error codes, §6.2's END_STREAM flag), named as in
// http2.constants: known without loading node:http2.
const NGHTTP2_NO_ERROR = 0x0;
const NGHTTP2_INTERNAL_ERROR = 0x2;
const NGHTTP2_CANCEL = 0x8;
const END_STREAM = 0x1;

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

/**
 * The first stream must open within the header timeout, as HTTP/1.1's first request must arrive:
 * a deadline from the start, which SETTINGS or PING frames do not push back.
 */
export function firstStreamWithin(session: http2.Http2Session, timeoutMs: number): void {
  const first = setTimeout(() => session.destroy(), timeoutMs);
  session.once('stream', () => clearTimeout(first));
  session.once('close', () => clearTimeout(first));
}

export class H2 {
  readonly server: http2.Http2Server;
  /** Each open session and its client, the handler's second argument for all its streams. */
  readonly sessions = new Map<http2.Http2Session, PeerInfo>();
  inFlight = 0;

  constructor(
    private readonly host: H2Host,
    /** The client a PROXY protocol header named for a socket (or the socket under a TLS one). */
    clientOf: (socket: Socket) => ConnInfo | undefined,
  ) {
    const { opts } = host;
    // The core's header limits as HTTP/2 settings: the whole header list, and how many fields.
    this.server = process.getBuiltinModule('node:http2').createServer({
      maxHeaderListPairs: opts.limitRequestFields ? opts.limitRequestFields + 4 : 0,
      settings: {
        maxHeaderListSize: maxHeaderListSize(opts),
        maxConcurrentStreams: opts.maxPipelinedRequests === Infinity ? 100 : Math.max(opts.maxPipelinedRequests, 1),
      },
    });
    this.server.on('session', (session) => {
      const socket = session.socket as Socket;
      this.sessions.set(session, new PeerInfo(socket, host, clientOf(socket)));
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => {});
      if (opts.headerTimeout) firstStreamWithin(session, opts.headerTimeout);
      // After that, an idle session (no frames either way) closes after the keep-alive timeout.
      if (opts.keepAliveTimeout) session.setTimeout(opts.keepAliveTimeout, () => session.close());
    });
    // Node passes the header list flat as a fourth argument (not in @types/node).
    const onStream = (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders, f: number, raw: string[]) =>
      void this.serve(s, h, f, raw);
    this.server.on('stream', onStream as (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void);
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

  private async serve(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    rawHeaders: string[],
  ): Promise<void> {
    const { opts, handler } = this.host;
    const session = stream.session;
    // The handler's second argument, as on HTTP/1.1 (its upgrade() is false: no Upgrade in HTTP/2).
    const peer = session && this.sessions.get(session);
    if (session === undefined || peer === undefined) {
      stream.close(NGHTTP2_CANCEL); // its session is gone: no one to answer
      return;
    }
    // X-Forwarded-* count only from a trusted proxy, as on HTTP/1.1.
    const xff = headers['x-forwarded-for'];
    const forwarded =
      (xff !== undefined || headers['x-forwarded-proto'] !== undefined || headers['x-forwarded-host'] !== undefined) &&
      this.host.trusted(peer.remoteAddress);
    const info = forwarded && typeof xff === 'string' ? forwardedInfo(xff, peer, this.host.trusted) : peer;
    const exchange = new H2Exchange(stream, headers, rawHeaders, (flags & END_STREAM) !== 0, opts.limitRequestBody);
    if (forwarded) exchange.forwarded(headers);
    const { method, target } = exchange;
    const started = opts.onResponse ? performance.now() : 0;
    const record = (status: number, bytes: number): void =>
      opts.onResponse?.({
        method,
        target,
        httpVersion: '2',
        status,
        bytes,
        requestBytes: exchange.body?.received ?? 0,
        durationMs: performance.now() - started,
        remoteAddress: info.remoteAddress,
        userAgent: String(headers['user-agent'] ?? ''),
        referer: String(headers.referer ?? ''),
      } satisfies AccessRecord);
    this.host.requests++;
    this.inFlight++;
    stream.on('error', ignore);
    if (opts.bodyTimeout) stream.setTimeout(opts.bodyTimeout, () => stream.close(NGHTTP2_CANCEL));
    try {
      const declared = Number(headers['content-length'] ?? 0);
      if (opts.limitRequestBody && declared > opts.limitRequestBody) {
        refuseBody(stream);
        record(413, 17);
        return;
      }
      exchange.listen();
      const result = handler(exchange.toRequest(), info);
      const parts = responseParts(isPromise(result) ? await result : result);
      record(parts.status, await this.respond(stream, parts, method === 'HEAD'));
      // The answer is out and the app left the rest of the body unread: tell the client to stop sending.
      if (exchange.body !== null && !exchange.body.done) stream.close(NGHTTP2_NO_ERROR);
    } catch (err) {
      // A body over the limit was answered with 413 already; a reset stream has no one to tell.
      const status = err instanceof BodyTooLarge ? 413 : stream.closed ? 499 : 500;
      if (status === 500) {
        opts.logger.error({ err, request: `${method} ${target} HTTP/2` }, 'the app failed');
        if (!stream.headersSent) plain(stream, 500, 'Internal Server Error');
        else stream.close(NGHTTP2_INTERNAL_ERROR);
      }
      record(status, 0);
    } finally {
      this.inFlight--;
    }
  }

  /** Writes the response; resolves with the body bytes written. */
  private async respond(stream: http2.ServerHttp2Stream, p: ResponseParts, head: boolean): Promise<number> {
    const body = p.body;
    if (stream.closed) {
      if (body instanceof ReadableStream) await body.cancel();
      return 0;
    }
    const out = fieldsOf(p);
    if (head) {
      if (p.contentLength !== undefined) out['content-length'] = p.contentLength;
      stream.respond(out, { endStream: true });
      if (body instanceof ReadableStream) await body.cancel();
      return 0;
    }
    if (body === null) {
      stream.respond(out, { endStream: true });
      return 0;
    }
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      out['content-length'] = bytes;
      stream.respond(out);
      stream.end(body);
      return bytes;
    }
    if (body instanceof Blob) out['content-length'] = body.size;
    stream.respond(out);
    let bytes = 0;
    const reader = (body instanceof Blob ? body.stream() : body).getReader();
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

/** One stream's request, as the light Request reads it (see request.ts): nothing built until asked for. */
class H2Exchange implements RequestHead, BodySource {
  readonly method: string;
  readonly target: string;
  readonly rawHeaders: string[];
  readonly body: RequestBody | null;
  private origin: string;
  private abort: AbortController | null = null;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    raw: string[],
    ended: boolean,
    private readonly limit: number,
  ) {
    this.method = String(headers[':method'] ?? 'GET');
    this.target = String(headers[':path'] ?? '/');
    const scheme = isTls(stream.session?.socket) ? 'https' : 'http';
    this.origin = `${scheme}://${String(headers[':authority'] ?? headers.host ?? 'localhost')}`;
    this.rawHeaders = fieldLines(raw);
    const declared = headers['content-length'];
    this.body =
      ended || this.method === 'GET' || this.method === 'HEAD'
        ? null
        : new RequestBody(this, declared === undefined ? -1 : Number(declared));
  }

  url(): string {
    return this.origin + this.target;
  }

  /** From a trusted proxy: X-Forwarded-Proto and -Host name the scheme and authority the client used. */
  forwarded(headers: http2.IncomingHttpHeaders): void {
    const [scheme, authority] = this.origin.split('://') as [string, string];
    const proto = forwardedProto(String(headers['x-forwarded-proto'] ?? ''));
    const host = String(headers['x-forwarded-host'] ?? '')
      .split(',')[0]!
      .trim();
    this.origin = `${proto ?? scheme}://${host && validHost(host) ? host : authority}`;
  }

  /** Made on first use: most apps never read it. */
  signal(): AbortSignal {
    if (this.abort === null) {
      const abort = (this.abort = new AbortController());
      const stream = this.stream;
      // 'aborted': reset (or its session gone) before our side ended; node ends the writable side before 'close'.
      if (stream.aborted) abort.abort(gone());
      else stream.once('aborted', () => abort.abort(gone()));
    }
    return this.abort.signal;
  }

  toRequest(): Request {
    return new LightRequest(this) as unknown as Request;
  }

  /** Feeds the stream's DATA into the body, paused while the app does not read (flow control holds the client). */
  listen(): void {
    const { body, stream, limit } = this;
    if (body === null) return;
    stream.on('data', (chunk: Buffer) => {
      if (body.done) return;
      body.push(chunk);
      if (limit && body.received > limit) {
        // As on HTTP/1.1: 413, and the rest of the body is not read.
        body.fail(new BodyTooLarge(`the request body is over ${limit} bytes`));
        refuseBody(stream);
        return;
      }
      if (body.full) stream.pause();
    });
    stream.once('end', () => body.end());
    stream.once('close', () => body.fail(gone()));
  }

  /** The app reads (or dropped the body: what still comes is read and let go). */
  wantBody(): void {
    this.stream.resume();
  }
}

const gone = () => new ClientGone('the client reset the stream');

/** The regular fields of a header list, flat; cookie crumbs joined with '; ' (RFC 9113 §8.2.3). */
function fieldLines(raw: string[]): string[] {
  const out: string[] = [];
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 0x3a) continue; // a pseudo-header (':path')
    if (name === 'cookie') cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]!}`;
    else out.push(name, raw[i + 1]!);
  }
  if (cookie !== undefined) out.push('cookie', cookie);
  return out;
}

/** The response head as node:http2 takes it (names lower-case, repeated ones as arrays), from the serialised lines. */
function fieldsOf(p: ResponseParts): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':status': p.status };
  const lines = p.headers;
  for (let at = 0; at < lines.length; ) {
    const colon = lines.indexOf(':', at);
    const end = lines.indexOf('\r\n', colon);
    const name = lines.slice(at, colon).toLowerCase();
    const value = lines.slice(colon + 2, end);
    at = end + 2;
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [String(had), value];
  }
  return out;
}

function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function ignore(): void {}
