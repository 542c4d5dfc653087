// One client connection: llhttp's callbacks build requests, the app answers them, and responses
// go out strictly in request order. This file holds the connection's whole state machine.
//
// Reading stops (socket paused, parser paused between messages) while any of these hold:
// the output is backed up, a request body is over its high-water mark, too many requests wait
// for answers, or no more requests will be read because the connection is closing.
import net, { type Socket } from 'node:net';
import { clock } from './clock.js';
import { type ConnInfo, Exchange, failure, S_APP, S_DONE, S_READY, S_WRITING } from './exchange.js';
import * as llhttp from './llhttp.js';
import type { AccessRecord, ResolvedOptions } from './options.js';
import { forwardedClient, forwardedProto, type TrustCheck } from './proxy.js';
import { type BodySource, RequestBody } from './request.js';
import {
  bodyStreamOf,
  isResponse,
  LightResponse,
  ResponseError,
  type ResponseParts,
  responseParts,
} from './response.js';
import { CONTINUE_100, errorResponse, isBodyless, statusLine } from './status.js';

/** What a connection needs from its server. */
export interface ServerCore {
  readonly opts: ResolvedOptions;
  readonly handler: (request: Request, info: ConnInfo) => unknown;
  readonly trusted: TrustCheck;
  readonly draining: boolean;
  requests: number;
  connectionClosed(conn: Connection): void;
}

// What the single deadline of a connection is guarding.
const T_NONE = 0;
const T_HEADERS = 1; // a request's line and headers are arriving
const T_BODY = 2; // a request body is arriving
const T_IDLE = 3; // nothing to do: waiting for the next request
const T_WRITE = 4; // output is backed up: the client must keep reading it
const T_FLUSH = 5; // closing: the last output is still on its way to the client
const T_LINGER = 6; // our side is shut down; waiting briefly for the client's FIN

const LINGER_MS = 2_000;
/** How often a connection with backed-up output looks for progress (see writeStalled()). */
const WRITE_CHECK_MS = 1_000;
const DRAIN_GRACE_MS = 1_000;
/** An unread body this small is read and dropped to keep the connection; a larger one closes it. */
const DRAIN_LIMIT = 64 * 1024;
/**
 * Answers given while one chunk is parsed collect in `out` and are written after it; past this
 * size they are written at once, so the socket's backpressure can pause reading before the rest
 * of a pipelined burst is answered (else one 64 KiB read of tiny requests builds every answer).
 */
const OUT_HIGH_WATER = 64 * 1024;
// A Host the WHATWG URL parser will accept too: a name, an IPv4 address or a bracketed IPv6
// address, and a port up to 65535 (RFC 9110 §7.2, and what `new URL(request.url)` needs).
const HOST = /^(?:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)|\[([0-9A-Fa-f:.]+)\])(?::(\d{1,5}))?$/;
const NUMERIC_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;

function validHost(host: string): boolean {
  const m = HOST.exec(host);
  if (m === null || (m[3] !== undefined && Number(m[3]) > 65535)) return false;
  if (m[2] !== undefined) return net.isIPv6(m[2]);
  // A name ending in a number is parsed as an IPv4 address: it must be one.
  return !NUMERIC_LABEL.test(m[1]!) || net.isIPv4(m[1]!.replace(/\.$/, ''));
}
/** An absolute-form target and its authority. */
const ABSOLUTE = /^https?:\/\/([^/?#]*)/i;
const EMPTY = Buffer.alloc(0) as Latin1Buffer;
const NO_HEADERS: string[] = [];

/** Buffer#latin1Slice: what toString('latin1', ...) calls, minus its dispatch (present on every Node we support). */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
const kConnection = Symbol('tsws.connection');

class ClientGone extends Error {
  readonly code = 'TSWS_CLIENT_GONE';
}

/** Lazily read peer address, shared by every request of the connection. */
class PeerInfo implements ConnInfo {
  // A private field, so JSON.stringify(info) and spreads never reach the socket.
  readonly #socket: Socket;
  constructor(socket: Socket) {
    this.#socket = socket;
  }
  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? '';
  }
  get remotePort(): number {
    return this.#socket.remotePort ?? 0;
  }
  /** Response.json(info) and loggers show the two fields, as for a plain object. */
  toJSON(): ConnInfo {
    return { remoteAddress: this.remoteAddress, remotePort: this.remotePort };
  }
}

// Output is gathered per connection and written once per microtask batch, so a burst of
// pipelined responses (sync or async) leaves in one write.
const flushQueue: Connection[] = [];
let flushScheduled = false;
function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < flushQueue.length; i++) flushQueue[i]!.flush();
  flushQueue.length = 0;
}

export class Connection implements llhttp.ParserCallbacks, BodySource {
  private readonly ptr: number;
  private readonly peer: PeerInfo;
  private input: Latin1Buffer = EMPTY;
  private executing = false;

  // The message being parsed.
  private target = '';
  private raw: string[] = [];
  private field = '';
  private value = '';
  private inValue = false;
  private inHeaders = false;
  private hosts = 0;
  private host = '';
  private expect = '';
  private xff = '';
  private xfp = '';
  private xfh = '';
  /** Transfer-Encoding values joined with commas; null when the request has none. */
  private te: string | null = null;
  private trailers = 0;
  private errorStatus = 0;
  /** The last Host that passed validation: clients repeat it on every request. */
  private goodHost = '';
  private originHost = '';
  private originCache = '';
  /** The request whose body is arriving. */
  private reading: Exchange | null = null;
  /** Bytes read for that body that were not body bytes (chunk framing); see onData(). */
  private framing = 0;

  // Requests waiting for (or being sent) their responses, oldest first.
  first: Exchange | null = null;
  private last: Exchange | null = null;
  private queued = 0;

  private out = '';
  private flushQueued = false;
  private drainWaiter: (() => void) | null = null;

  private paused = false; // the parser: `rest` holds what it has not read
  private rest: Buffer | null = null;
  private writeBlocked = false;
  private bodyBlocked = false;
  private closeAfter = false; // read no more requests
  private ending = false; // a response said Connection: close; end after it
  private peerEnded = false;
  closed = false;

  timer = T_HEADERS;
  deadline: number;
  private headersDeadline = 0;
  /** Output still queued at the last look (see checkWrites()), and when that last changed. */
  private pending = 0;
  private movedAt = 0;
  /** The response whose bytes may still be queued, named in the log line if the client is cut. */
  private lastWritten: Exchange | null = null;

  /** `sharedReads`: the socket reads through `readOptions` (the shared buffer), not 'data' events. */
  constructor(
    readonly server: ServerCore,
    readonly socket: Socket,
    sharedReads: boolean,
  ) {
    this.ptr = llhttp.allocParser();
    this.peer = new PeerInfo(socket);
    this.deadline = this.after(server.opts.headerTimeout);
    (socket as Socket & { [kConnection]: Connection })[kConnection] = this;
    if (!sharedReads) socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
  }

  private after(ms: number): number {
    return ms ? clock.now + ms : Infinity;
  }

  // ---- input ---------------------------------------------------------------------------------

  onData(chunk: Buffer): void {
    // Closing: what the client still sends is read and dropped (a lingering close).
    if (this.ending) return;
    if (this.reading !== null) this.framing += chunk.length;
    if (this.paused) {
      // Data already on its way when reading paused: keep it for when the parser resumes.
      if (!this.closeAfter) this.rest = this.rest ? Buffer.concat([this.rest, chunk]) : copy(chunk);
      this.socket.pause();
      return;
    }
    this.run(chunk);
    // llhttp reads chunk extensions and a chunk size's leading zeros without bound or callback.
    // RFC 9112 §7.1.1: limit them like other parts of a message. A request's framing (bytes read
    // while its body arrives, less body bytes and trailer fields) may be a header field's worth
    // plus 16 bytes per body byte: room for 1-byte chunks with short extensions, and a bound.
    const limit = this.server.opts.limitRequestFieldSize;
    const ex = this.reading;
    if (limit && ex !== null && this.framing > limit + 16 * ex.body!.received)
      this.fail(413, 'chunk framing over its budget');
  }

  private run(chunk: Buffer): void {
    this.executing = true;
    this.input = chunk as Latin1Buffer;
    let ret: number;
    try {
      ret = llhttp.execute(this.ptr, chunk, this);
    } finally {
      this.input = EMPTY;
      this.executing = false;
    }
    if (ret !== llhttp.ERROR.OK) this.stopped(ret, chunk);
    // Responses the app gave synchronously go out now, in one write.
    if (this.out !== '') this.flush();
  }

  private stopped(ret: number, chunk: Buffer): void {
    if (ret === llhttp.ERROR.PAUSED || ret === llhttp.ERROR.PAUSED_UPGRADE) {
      this.paused = true;
      const at = llhttp.errorOffset(this.ptr);
      if (ret === llhttp.ERROR.PAUSED_UPGRADE) this.closeAfter = true;
      this.rest = !this.closeAfter && at < chunk.length ? copy(chunk.subarray(at)) : null;
      // Once ending, reading goes on: the lingering close reads until the client's FIN.
      if (!this.ending) this.socket.pause();
      return;
    }
    const status = this.errorStatus || 400;
    this.fail(status, this.errorStatus ? `limit (${status})` : llhttp.errorReason(this.ptr, ret));
  }

  onMessageBegin(): number {
    if (this.ending) return llhttp.ERROR.PAUSED;
    this.target = '';
    this.raw = [];
    this.field = this.value = '';
    this.inValue = false;
    this.inHeaders = true;
    this.hosts = 0;
    this.host = this.expect = this.xff = this.xfp = this.xfh = '';
    this.te = null;
    this.trailers = 0;
    this.headersDeadline = this.after(this.server.opts.headerTimeout);
    this.rearm();
    return 0;
  }

  onUrl(start: number, end: number): number {
    const part = this.input.latin1Slice(start, end);
    this.target = this.target ? this.target + part : part;
    const limit = this.server.opts.limitRequestLine;
    // The request line is method SP target SP HTTP/1.x: the target plus the method plus 10.
    if (limit && this.target.length + llhttp.methodOf(this.ptr).length + 10 > limit) return this.refuse(414);
    return 0;
  }

  onHeaderField(start: number, end: number): number {
    if (this.inValue) {
      const err = this.endField();
      if (err) return err;
    }
    const part = this.input.latin1Slice(start, end);
    this.field = this.field ? this.field + part : part;
    return this.checkFieldSize();
  }

  onHeaderValue(start: number, end: number): number {
    const part = this.input.latin1Slice(start, end);
    if (this.inValue) this.value += part;
    else {
      this.value = part;
      this.inValue = true;
    }
    return this.checkFieldSize();
  }

  private checkFieldSize(): number {
    const limit = this.server.opts.limitRequestFieldSize;
    return limit && this.field.length + this.value.length > limit ? this.refuse(431) : 0;
  }

  /** A header (or trailer) field is complete. */
  private endField(): number {
    const name = this.field;
    const value = this.value;
    this.field = this.value = '';
    this.inValue = false;
    const limit = this.server.opts.limitRequestFields;
    if (!this.inHeaders) {
      // Trailers are checked against the same limits, then dropped.
      this.framing -= name.length + value.length;
      return limit && ++this.trailers > limit ? this.refuse(431) : 0;
    }
    if (limit && this.raw.length >= limit * 2) return this.refuse(431);
    this.raw.push(name, value);
    // Compare lengths before case-folding: most names are none of these.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          this.hosts++;
          this.host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') this.expect = value;
        break;
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') this.xff = this.xff ? `${this.xff},${value}` : value;
        break;
      case 16:
        if (name.toLowerCase() === 'x-forwarded-host') this.xfh ||= value;
        break;
      case 17: {
        const lower = name.toLowerCase();
        if (lower === 'transfer-encoding') {
          // An empty field line is refused wherever it stands: a proxy that keeps only the last
          // line would see no Transfer-Encoding where this server sees chunked.
          if (value.trim() === '') return this.refuse(400);
          this.te = this.te === null ? value : `${this.te},${value}`;
        } else if (lower === 'x-forwarded-proto') this.xfp ||= value;
        break;
      }
    }
    return 0;
  }

  private refuse(status: number): number {
    this.errorStatus = status;
    return llhttp.ERROR.USER;
  }

  onHeadersComplete(keepAlive: boolean, upgrade: boolean): number {
    if (this.inValue || this.field) {
      const err = this.endField();
      if (err) return err;
    }
    this.inHeaders = false;
    const opts = this.server.opts;
    const ptr = this.ptr;
    // llhttp also takes HTTP/0.9 (and a bare `GET /`) and HTTP/2.0 request lines; this server
    // speaks HTTP/1.x only (RFC 9110 §6.2, §15.6.6), and 2.0 would pass for 1.0 below.
    if (llhttp.majorVersionOf(ptr) !== 1) return this.refuse(505);
    const method = llhttp.methodOf(ptr);
    const http10 = llhttp.minorVersionOf(ptr) === 0;
    const target = this.target;

    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, and it must be a valid authority.
    const host = this.host;
    if (this.hosts > 1 || (this.hosts === 0 && !http10)) return this.refuse(400);
    if (host !== '' && host !== this.goodHost) {
      if (!validHost(host)) return this.refuse(400);
      this.goodHost = host;
    }
    const bodyLength = llhttp.bodyLengthOf(ptr);
    if (bodyLength === llhttp.UNFRAMED) return this.refuse(400);
    // RFC 9112 §6.3: any Transfer-Encoding without chunked last is a 400; llhttp misses an empty
    // one (and then frames by a Content-Length after it). §6.1: codings before chunked would
    // reach the app still applied, as we decode none of them: 501.
    if (this.te !== null && (bodyLength !== -1 || !onlyChunked(this.te)))
      return this.refuse(bodyLength === -1 ? 501 : 400);
    if (opts.limitRequestBody && bodyLength > opts.limitRequestBody) return this.refuse(413);
    const expectContinue = this.expect !== '' && this.expect.toLowerCase() === '100-continue';
    if (this.expect !== '' && !expectContinue) return this.refuse(417);

    let origin: string;
    let special = 0;
    let absolute: RegExpExecArray | null;
    // CONNECT asks for a tunnel (RFC 9110 §9.3.6), whatever its target: never the app's to answer.
    if (method === 'CONNECT') {
      origin = '';
      special = 501;
    } else if (target.charCodeAt(0) === 47 /* / */) origin = this.origin();
    else if ((absolute = ABSOLUTE.exec(target)) !== null) {
      // RFC 9112 §3.2.2: the target's authority wins over Host, so it must pass as a Host would
      // (no userinfo either, RFC 9110 §4.2.4): the app gets it as request.url.
      if (!validHost(absolute[1]!)) return this.refuse(400);
      origin = '';
    } else if (target === '*' && method === 'OPTIONS') {
      origin = this.origin();
      special = 204; // OPTIONS * asks about the server, not a resource: nothing to add
    } else return this.refuse(400);

    const info = this.xff !== '' && this.server.trusted(this.peer.remoteAddress) ? this.forwardedInfo() : this.peer;
    const body = bodyLength !== 0 ? new RequestBody(this, bodyLength) : null;
    const ka = keepAlive && !upgrade && opts.keepAlive && !this.server.draining;
    const ex = new Exchange(method, target, this.raw, http10, ka, expectContinue, body, bodyLength, origin, info);
    // The exchange owns them now: an idle connection keeps no request's strings alive.
    this.raw = NO_HEADERS;
    this.target = this.host = this.expect = this.xff = this.xfp = this.xfh = '';
    if (!ka) this.closeAfter = true;
    if (opts.onResponse) ex.started = performance.now();
    this.enqueue(ex);
    this.server.requests++;
    if (body !== null) {
      this.reading = ex;
      this.framing = 0;
    }
    this.rearm();
    if (special) this.settle(ex, new LightResponse(null, { status: special }));
    else this.dispatch(ex);
    return 0;
  }

  /** `scheme://host` for origin-form targets; cached, since a client repeats its Host. */
  private origin(): string {
    const plain = this.xfp === '' && this.xfh === '';
    if (plain && this.host === this.originHost && this.host !== '') return this.originCache;
    let proto = 'http';
    let host = this.host;
    if ((this.xfp !== '' || this.xfh !== '') && this.server.trusted(this.peer.remoteAddress)) {
      proto = forwardedProto(this.xfp) ?? proto;
      const fh = this.xfh.split(',')[0]!.trim();
      if (fh && validHost(fh)) host = fh;
    }
    if (host === '') {
      // HTTP/1.0 without Host: name the address the request came in on.
      const local = this.socket.localAddress ?? 'localhost';
      host = local.includes(':') ? `[${local}]:${this.socket.localPort}` : `${local}:${this.socket.localPort}`;
    }
    const origin = `${proto}://${host}`;
    if (plain) {
      this.originHost = this.host;
      this.originCache = origin;
    }
    return origin;
  }

  private forwardedInfo(): ConnInfo {
    return {
      remoteAddress: forwardedClient(this.xff, this.server.trusted) ?? this.peer.remoteAddress,
      remotePort: this.peer.remotePort,
    };
  }

  onBody(start: number, end: number): number {
    const ex = this.reading;
    // An answer given before the body (a sync app, OPTIONS *) may have closed the connection
    // from inside this very read: end() dropped the exchange, and what is left of its body is
    // read and dropped like the rest of a lingering close.
    if (ex === null) return 0;
    const body = ex.body!;
    const limit = this.server.opts.limitRequestBody;
    if (limit && body.received + (end - start) > limit) return this.refuse(413);
    // The bytes live in the shared read buffer: the body keeps its own copy.
    body.push(this.input.subarray(start, end));
    this.framing -= end - start;
    if (this.timer === T_BODY) this.deadline = this.after(this.server.opts.bodyTimeout);
    if (body.full && !this.bodyBlocked) {
      this.bodyBlocked = true;
      this.socket.pause();
      this.rearm();
    }
    return 0;
  }

  onMessageComplete(): number {
    // The last trailer field has no callback after it: count it here, or one trailer more than
    // limitRequestFields got through (trailers obey the header limits, RFC 9112 §7.1.2).
    if (this.inValue || this.field) {
      const err = this.endField();
      if (err) return err;
    }
    const ex = this.reading;
    if (ex !== null) {
      this.reading = null;
      ex.body!.end();
      if (this.bodyBlocked) this.bodyBlocked = false;
    }
    this.rearm();
    if (this.out.length >= OUT_HIGH_WATER) this.flush();
    if (this.closeAfter || this.writeBlocked || this.queued >= this.server.opts.maxPipelinedRequests)
      return llhttp.ERROR.PAUSED;
    return 0;
  }

  /** The client sent something it must not: answer `status` in order, then close. */
  private fail(status: number, reason: string): void {
    this.server.opts.logger.debug({ status, reason, remoteAddress: this.peer.remoteAddress }, 'bad request');
    this.closeAfter = true;
    this.paused = true;
    this.rest = null;
    this.socket.pause();
    this.inHeaders = false;
    const ex = this.reading;
    this.reading = null;
    if (ex !== null) {
      ex.body!.fail(new Error(`bad request body: ${reason}`));
      // If its answer has not started, the error replaces it.
      if (ex.state === S_APP || ex.state === S_READY) {
        ex.errorStatus = status;
        ex.state = S_READY;
      }
    } else {
      this.enqueue(failure(status, this.peer));
    }
    this.rearm();
    this.writeReady();
    // The request's answer was already out (its body was being drained): nothing is left to
    // answer, so nothing else would close the connection.
    if (this.first === null) this.end();
  }

  /** From a request body: the app wants bytes. Answer `Expect: 100-continue` and resume reading. */
  wantBody(body: RequestBody): void {
    const ex = this.reading;
    if (ex === null || ex.body !== body) return;
    if (ex.expectContinue && !ex.continued && ex.state === S_APP && ex === this.first && !this.closed) {
      ex.continued = true;
      this.send(CONTINUE_100);
    }
    if (this.bodyBlocked && !body.full) {
      this.bodyBlocked = false;
      this.rearm();
      this.resumeReading();
    }
  }

  /** Reads again if nothing holds it back; runs whatever input the parser left when it paused. */
  private resumeReading(): void {
    if (this.closed || this.executing || this.closeAfter || this.ending) return;
    if (this.writeBlocked || this.bodyBlocked || this.queued >= this.server.opts.maxPipelinedRequests) return;
    if (this.paused) {
      this.paused = false;
      llhttp.resume(this.ptr);
      const rest = this.rest;
      this.rest = null;
      if (rest !== null) {
        this.run(rest);
        if (this.paused || this.closed) return;
      }
    }
    if (this.socket.isPaused()) this.socket.resume();
  }

  // ---- the app -------------------------------------------------------------------------------

  private enqueue(ex: Exchange): void {
    if (this.last === null) this.first = ex;
    else this.last.next = ex;
    this.last = ex;
    this.queued++;
  }

  private dispatch(ex: Exchange): void {
    let result: unknown;
    try {
      result = this.server.handler(ex.toRequest(), ex.info);
    } catch (err) {
      this.appFailed(ex, err);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        (res) => this.settle(ex, res),
        (err: unknown) => this.appFailed(ex, err),
      );
    } else {
      this.settle(ex, result);
    }
  }

  private appFailed(ex: Exchange, err: unknown): void {
    if (ex.state === S_APP && !this.closed) {
      // An app that fails because the client left (its body read or signal aborted) did no wrong.
      const log = this.server.opts.logger;
      if (err instanceof ClientGone)
        log.debug({ err: err.message, method: ex.method, target: ex.target }, 'the client left before the answer');
      else log.error({ err, method: ex.method, target: ex.target }, 'the app failed to answer');
    }
    this.settle(ex, SERVER_ERROR);
  }

  private settle(ex: Exchange, result: unknown): void {
    if (ex.state !== S_APP || this.closed) {
      // Answered already (a protocol error), or the client is gone: drop the response.
      cancelBody(result);
      return;
    }
    ex.result = result;
    ex.state = S_READY;
    if (ex === this.first) this.writeReady();
  }

  // ---- output --------------------------------------------------------------------------------

  /** Writes every response at the head of the queue that is ready, in order. */
  private writeReady(): void {
    let ex = this.first;
    while (ex !== null && ex.state === S_READY && !this.closed) {
      if (!this.write(ex)) return; // a streamed body is under way; it finishes later
      this.finish(ex);
      if (this.closed || this.ending) return;
      ex = this.first;
    }
  }

  /** Writes one response; returns false when its body streams on asynchronously. */
  private write(ex: Exchange): boolean {
    if (ex.errorStatus) {
      ex.status = ex.errorStatus;
      this.ending = this.closeAfter = true;
      this.send(errorResponse(ex.errorStatus, clock.dateLine));
      return true;
    }
    let p: ResponseParts;
    try {
      if (!isResponse(ex.result))
        throw new TypeError(`the fetch handler returned ${describe(ex.result)} instead of a Response`);
      p = responseParts(ex.result);
      if (p.status === 0) throw new TypeError('the fetch handler returned Response.error()');
    } catch (err) {
      const log = this.server.opts.logger;
      log.error(
        { err, method: ex.method, target: ex.target },
        err instanceof ResponseError ? 'refused to write the response' : 'the app failed to answer',
      );
      cancelBody(ex.result);
      p = responseParts(SERVER_ERROR);
    }
    const status = p.status;
    ex.status = status;
    this.lastWritten = ex;
    const body = p.body;
    const bodyless = ex.method === 'HEAD' || isBodyless(status);
    let close = !ex.keepAlive || p.close || this.lastBeforeClose(ex) || this.cannotDrain(ex);
    let framing: string;
    let stream: ReadableStream<Uint8Array> | null = null;
    let length = 0;
    if (body === null) {
      framing = bodyless
        ? ex.method === 'HEAD' && p.contentLength !== undefined && /^\d+$/.test(p.contentLength)
          ? `Content-Length: ${p.contentLength}\r\n`
          : ''
        : 'Content-Length: 0\r\n';
    } else if (typeof body === 'string') {
      length = Buffer.byteLength(body);
      framing = status === 204 || status === 304 ? '' : `Content-Length: ${length}\r\n`;
    } else if (body instanceof Uint8Array) {
      length = body.byteLength;
      framing = status === 204 || status === 304 ? '' : `Content-Length: ${length}\r\n`;
    } else if (bodyless) {
      framing = '';
      cancelStream(body);
    } else if (ex.http10) {
      framing = ''; // HTTP/1.0 has no chunked coding: the body ends where the connection does
      close = true;
      stream = body;
    } else {
      framing = 'Transfer-Encoding: chunked\r\n';
      stream = body;
    }
    if (close) this.ending = this.closeAfter = true;
    const head =
      statusLine(status, p.statusText) +
      (p.hasDate ? '' : clock.dateLine) +
      p.headers +
      framing +
      (close ? 'Connection: close\r\n\r\n' : ex.http10 ? 'Connection: keep-alive\r\n\r\n' : '\r\n');
    if (p.latin1) this.sendBytes(Buffer.from(head, 'latin1'));
    else this.send(head);
    if (bodyless) return true;
    if (stream !== null) {
      ex.state = S_WRITING;
      this.flush();
      void this.pump(ex, stream, !ex.http10);
      return false;
    }
    ex.bytes = length;
    if (typeof body === 'string') this.send(body);
    else if (length) this.sendBytes(body as Uint8Array);
    return true;
  }

  /** This is the last response before the connection closes (we read no further). */
  private lastBeforeClose(ex: Exchange): boolean {
    return this.closeAfter && ex.next === null && !this.inHeaders && (this.reading === null || this.reading === ex);
  }

  /** The request body is unfinished and cannot be safely skipped: the connection must close. */
  private cannotDrain(ex: Exchange): boolean {
    const body = ex.body;
    if (body === null || body.done) return false;
    // A client told to wait for 100 Continue may or may not send the body: we cannot know where it ends.
    if (ex.expectContinue && !ex.continued) return true;
    return ex.bodyLength < 0 || ex.bodyLength - body.received > DRAIN_LIMIT;
  }

  /** Streams a body, chunked on HTTP/1.1, waiting for the socket to drain as it goes. */
  private async pump(ex: Exchange, stream: ReadableStream<Uint8Array>, chunked: boolean): Promise<void> {
    const socket = this.socket;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (this.closed) {
          reader.cancel().catch(noop);
          return;
        }
        if (done) break;
        const chunk: Uint8Array = typeof value === 'string' ? Buffer.from(value) : value;
        if (!(chunk instanceof Uint8Array))
          throw new TypeError(`a response body stream gave ${describe(chunk)}, not bytes`);
        const size = chunk.byteLength;
        if (size === 0) continue;
        ex.bytes += size;
        let ok: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`${size.toString(16)}\r\n`);
          socket.write(chunk);
          ok = socket.write('\r\n');
          socket.uncork();
        } else {
          ok = socket.write(chunk);
        }
        if (!ok) await this.drained();
        if (this.closed) {
          reader.cancel().catch(noop);
          return;
        }
      }
      if (chunked) socket.write('0\r\n\r\n');
    } catch (err) {
      // The head is out: a failed body can only end the connection, so the client sees it was cut.
      if (!this.closed)
        this.server.opts.logger.error({ err, method: ex.method, target: ex.target }, 'the response body stream failed');
      reader?.cancel(err).catch(noop);
      this.destroy();
      return;
    }
    if (this.closed) return;
    this.finish(ex);
    if (!this.closed && !this.ending) this.writeReady();
  }

  private drained(): Promise<void> {
    if (!this.writeBlocked) this.blockWrites();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  /** One response is out: take it off the queue, log it, and decide what the connection does next. */
  private finish(ex: Exchange): void {
    ex.state = S_DONE;
    this.first = ex.next;
    if (this.first === null) this.last = null;
    this.queued--;
    const body = ex.body;
    if (body !== null && !body.done) body.discarding = true;
    const onResponse = this.server.opts.onResponse;
    if (onResponse !== undefined && ex.method !== '') onResponse(this.record(ex));
    if (this.ending || (this.closeAfter && this.queued === 0 && this.reading === null && !this.inHeaders)) {
      this.end();
      return;
    }
    if (!this.writeBlocked) this.lastWritten = null;
    if (this.peerEnded && this.queued === 0) {
      this.end();
      return;
    }
    // The next request may be waiting for its 100 Continue, held back until the answers before
    // it were out (RFC 9110 §10.1.1): it can go now.
    const next = this.first;
    if (next !== null && next === this.reading && next.body!.used) this.wantBody(next.body!);
    this.rearm();
    this.resumeReading();
  }

  private record(ex: Exchange): AccessRecord {
    return {
      method: ex.method,
      target: ex.target,
      httpVersion: ex.http10 ? '1.0' : '1.1',
      status: ex.status,
      bytes: ex.bytes,
      // What the client declared; a chunked body, what arrived (an app may answer before reading it).
      requestBytes: ex.bodyLength >= 0 || ex.body === null ? Math.max(0, ex.bodyLength) : ex.body.received,
      durationMs: performance.now() - ex.started,
      remoteAddress: ex.info.remoteAddress,
      userAgent: ex.header('user-agent'),
      referer: ex.header('referer'),
    };
  }

  private send(data: string): void {
    this.out += data;
    // While parsing, run() flushes when the chunk is done; otherwise one microtask flushes the batch.
    if (!this.flushQueued && !this.executing) {
      this.flushQueued = true;
      flushQueue.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flushAll);
      }
    }
  }

  private sendBytes(data: Uint8Array): void {
    if (this.closed) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.out !== '') {
      socket.cork();
      socket.write(this.out);
      this.out = '';
      ok = socket.write(data);
      socket.uncork();
    } else {
      ok = socket.write(data);
    }
    if (!ok) this.blockWrites();
  }

  flush(): void {
    this.flushQueued = false;
    const data = this.out;
    if (data === '' || this.closed) return;
    this.out = '';
    if (!this.socket.write(data) && !this.writeBlocked) this.blockWrites();
  }

  private blockWrites(): void {
    this.writeBlocked = true;
    this.socket.pause();
    this.rearm();
  }

  onDrain(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    if (!this.ending && this.first?.state !== S_WRITING) this.lastWritten = null;
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    this.rearm();
    waiter?.();
    this.resumeReading();
  }

  // ---- timers --------------------------------------------------------------------------------

  /** Points the deadline at whatever the connection is waiting for now. */
  private rearm(): void {
    // Closing: the flush and the linger own the deadline from here on.
    if (this.timer >= T_FLUSH) return;
    const opts = this.server.opts;
    if (this.writeBlocked) {
      if (this.timer !== T_WRITE) this.watchWrites(T_WRITE);
    } else if (this.inHeaders) {
      this.timer = T_HEADERS;
      this.deadline = this.headersDeadline;
    } else if (this.reading !== null && !this.bodyBlocked) {
      if (this.timer !== T_BODY) {
        this.timer = T_BODY;
        this.deadline = this.after(opts.bodyTimeout);
      }
    } else if (this.queued === 0) {
      this.timer = T_IDLE;
      this.deadline = this.after(opts.keepAliveTimeout);
    } else {
      this.timer = T_NONE;
      this.deadline = Infinity;
    }
  }

  /** Called by the server's sweep once `deadline` has passed. */
  timeout(): void {
    switch (this.timer) {
      case T_HEADERS:
      case T_BODY: {
        const ex = this.reading;
        if (ex !== null && !this.inHeaders) {
          this.server.opts.logger.warn(
            {
              remoteAddress: this.peer.remoteAddress,
              request: `${ex.method} ${ex.target} HTTP/1.${ex.http10 ? 0 : 1}`,
              receivedBytes: ex.body!.received,
              declaredBytes: ex.bodyLength < 0 ? 'chunked' : ex.bodyLength,
              timeoutMs: this.server.opts.bodyTimeout,
            },
            'cut a request body that stopped arriving',
          );
        }
        if (this.inHeaders || this.reading !== null) this.fail(408, 'timed out reading the request');
        else this.destroy();
        return;
      }
      case T_IDLE:
        // Output a slow client has yet to read goes out first (end() flushes, then closes).
        if (this.queued === 0) {
          if (queuedOutput(this.socket) > 0) this.end();
          else this.destroy();
        }
        return;
      case T_WRITE:
      case T_FLUSH:
        this.checkWrites();
        return;
      default:
        this.destroy();
    }
  }

  /**
   * Output is backed up: it times out only when it stops moving, when the client has taken no
   * byte for bodyTimeout (nginx's send_timeout), however long a slow but steady download takes.
   */
  private watchWrites(timer: number): void {
    this.timer = timer;
    this.pending = queuedOutput(this.socket);
    this.movedAt = clock.now;
    this.deadline = this.server.opts.bodyTimeout
      ? clock.now + Math.min(this.server.opts.bodyTimeout, WRITE_CHECK_MS)
      : Infinity;
  }

  private checkWrites(): void {
    const now = clock.now;
    const pending = queuedOutput(this.socket);
    if (pending !== this.pending) {
      this.pending = pending;
      this.movedAt = now;
    }
    const cutAt = this.movedAt + this.server.opts.bodyTimeout;
    if (now < cutAt) {
      this.deadline = Math.min(cutAt, now + WRITE_CHECK_MS);
      return;
    }
    const ex = this.lastWritten;
    this.server.opts.logger.warn(
      {
        remoteAddress: this.peer.remoteAddress,
        request: ex === null ? undefined : `${ex.method} ${ex.target} HTTP/1.${ex.http10 ? 0 : 1}`,
        status: ex?.status,
        bodyBytes: ex?.bytes,
        streaming: ex?.state === S_WRITING,
        unsentBytes: pending,
        timeoutMs: this.server.opts.bodyTimeout,
      },
      'cut a client that stopped reading its response',
    );
    this.destroy();
  }

  // ---- closing -------------------------------------------------------------------------------

  /**
   * Graceful shutdown: finish what was received, then close. An idle connection may have a request
   * already on its way (the client cannot know we are stopping), so it gets DRAIN_GRACE_MS: a
   * request arriving then is answered with Connection: close; otherwise the idle timer closes it.
   */
  drain(): void {
    this.closeAfter = true;
    if (this.timer < T_FLUSH && this.queued === 0 && this.reading === null && !this.inHeaders) {
      this.timer = T_IDLE;
      this.deadline = Math.min(this.deadline, clock.now + DRAIN_GRACE_MS);
    }
  }

  /**
   * Closes after the output: Node shuts our side down once every byte written has reached the
   * kernel ('finish', then flushed()); until then the output is watched for stalls as always.
   * Destroying the socket any earlier would drop what a slow client has yet to read.
   */
  end(): void {
    if (this.closed || this.timer >= T_FLUSH) return;
    this.ending = this.closeAfter = true;
    this.dropQueue('the connection is closing');
    this.flush();
    this.rest = null;
    this.socket.once('finish', onFinish);
    this.socket.end();
    if (this.closed) return;
    this.watchWrites(T_FLUSH);
    // Read and drop what the client still sends, so closing never resets the connection.
    this.socket.resume();
  }

  /** Everything is out and our side is shut: wait briefly for the client's FIN, then close. */
  flushed(): void {
    if (this.closed) return;
    if (this.peerEnded) {
      this.socket.destroy();
      return;
    }
    this.timer = T_LINGER;
    this.deadline = clock.now + LINGER_MS;
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.timer === T_LINGER) {
      this.socket.destroy();
      return;
    }
    if (this.timer === T_FLUSH) return; // flushed() closes once the output is out
    if (this.queued === 0 && this.reading === null) {
      this.end();
      return;
    }
    // Half-closed by the client: answer what it sent, then close.
    this.closeAfter = true;
    // A FIN cannot say whether the client still reads, and most that hang up mid-request are
    // gone: tell apps still at work through request.signal, as node:http does. Answers still go out.
    for (let ex = this.first; ex !== null; ex = ex.next) {
      if (ex.state === S_APP) ex.aborted(new ClientGone('the client closed its side of the connection'));
    }
  }

  /** Requests that will get no response (the connection is going): tell their apps. */
  private dropQueue(why: string): void {
    let reason: Error | undefined;
    for (let ex = this.first; ex !== null; ex = ex.next) {
      if (ex.state !== S_DONE) {
        ex.state = S_DONE;
        ex.aborted((reason ??= new ClientGone(why)));
      }
    }
    this.first = this.last = this.reading = null;
    this.queued = 0;
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    llhttp.freeParser(this.ptr);
    this.dropQueue('the client closed the connection');
    this.rest = null;
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
    this.server.connectionClosed(this);
  }
}

const SERVER_ERROR = new LightResponse('Internal Server Error\n', {
  status: 500,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
}) as unknown as Response;

function noop(): void {}

/** A Transfer-Encoding list naming chunked and nothing else (empty list elements allowed, RFC 9110 §5.6.1). */
function onlyChunked(te: string): boolean {
  for (const coding of te.split(',')) {
    const c = coding.trim();
    if (c !== '' && c.toLowerCase() !== 'chunked') return false;
  }
  return true;
}

/** Input may live in the shared read buffer, which the next read overwrites: keep a copy (own memory, not a pool slab). */
function copy(view: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(view.length);
  view.copy(out);
  return out;
}

/**
 * Bytes written and not yet taken by the kernel: libuv's queue (where a large write waits, the
 * part not yet sent) plus what Node buffers behind it. writableLength alone would not move until
 * a whole write is done: a 20 MB body looks stalled for as long as it takes.
 */
function queuedOutput(socket: Socket): number {
  const queue = (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize;
  if (queue === undefined) return socket.writableLength;
  let buffered = 0;
  for (const { chunk } of (socket as Socket & { writableBuffer?: Array<{ chunk: string | Uint8Array }> })
    .writableBuffer ?? []) {
    buffered += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  }
  return queue + buffered;
}

function cancelStream(stream: ReadableStream): void {
  if (!stream.locked) stream.cancel().catch(noop);
}

/** A response that will not be written: release its body stream, if it has one. */
function cancelBody(result: unknown): void {
  const stream = bodyStreamOf(result);
  if (stream !== null) cancelStream(stream);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as object).constructor?.name;
  return name ? `a ${name}` : 'an object';
}

// Shared socket listeners: one function each for every connection, no closures per socket.
type Owned = Socket & { [kConnection]: Connection };

/**
 * net.Socket's `onread` option: every socket reads into this one buffer and the callback parses
 * it at once. Nothing may keep a view of it past the callback (see copy()).
 */
export const readOptions = {
  buffer: Buffer.allocUnsafeSlow(64 * 1024),
  callback(this: Owned, bytes: number, buffer: Buffer): void {
    onData.call(this, buffer.subarray(0, bytes));
  },
};

function onData(this: Owned, chunk: Buffer): void {
  const conn = this[kConnection];
  try {
    conn.onData(chunk);
  } catch (err) {
    // A bug of ours must cost one connection, never the process.
    conn.server.opts.logger.error({ err }, 'internal error while reading a request');
    this.destroy();
  }
}
function onEnd(this: Owned): void {
  this[kConnection].onEnd();
}
function onError(this: Owned, err: NodeJS.ErrnoException): void {
  this[kConnection].server.opts.logger.debug({ err: err.code ?? err.message }, 'connection error');
}
function onClose(this: Owned): void {
  this[kConnection].onClose();
}
function onDrain(this: Owned): void {
  this[kConnection].onDrain();
}
function onFinish(this: Owned): void {
  this[kConnection].flushed();
}
