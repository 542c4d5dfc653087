// One client connection: llhttp's callbacks build requests, the app answers them, and responses
// go out strictly in request order. This file holds the connection's state machine; the head's
// fields and rules (head.ts), the framing (framing.ts) and the writing (output.ts) live apart.
//
// Reading stops (socket paused, parser paused between messages) while any of these hold:
// the output is backed up, a request body is over its high-water mark, too many requests wait
// for answers, or no more requests will be read because the connection is closing.
import type { Socket } from 'node:net';
import { clock } from './clock.js';
import {
  ClientGone,
  Exchange,
  failure,
  PeerInfo,
  type Publisher,
  S_APP,
  S_DONE,
  S_READY,
  S_WRITING,
  type ServerInfo,
} from './exchange.js';
import { BLOB, CHUNKED, DROPPED, FIXED, type Framing, framing, NO_BODY, UNTIL_CLOSE } from './framing.js';
import { ABSOLUTE_FORM, ASTERISK_FORM, expectsContinue, HeadReader, judgeHead, ORIGIN_FORM } from './head.js';
import { attach, detach, onFinish } from './listeners.js';
import * as llhttp from './llhttp.js';
import type { ResolvedOptions } from './options.js';
import { Output, type OutputOwner } from './output.js';
import { forwardedInfo, type TrustCheck } from './proxy.js';
import { type BodySource, RequestBody } from './request.js';
import { cancelBody, emptyParts, LightResponse, ResponseError, type ResponseParts, responseParts } from './response.js';
import { CONTINUE_100, errorResponse, responseHead } from './status.js';
import { isTls } from './tls.js';
import { offerUpgrade, type Upgradable } from './upgrade.js';
import type { UpgradeOptions } from './websocket.js';

/** What a connection needs from its server. */
export interface ServerCore extends Publisher {
  readonly opts: ResolvedOptions;
  readonly handler: (request: Request, info: ServerInfo) => unknown;
  readonly trusted: TrustCheck;
  readonly draining: boolean;
  requests: number;
  connectionClosed(conn: Connection): void;
  /** Whether upgrade() may switch a connection to WebSocket (the app has a websocket handler). */
  readonly upgrades: boolean;
  /** The connection let its socket go to a WebSocket: `head` is what arrived after the handshake. */
  switched(ex: Exchange, socket: Socket, head: Buffer, options: UpgradeOptions): void;
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
/**
 * How often a connection with backed-up output looks for progress (see checkWrites()), and how
 * long a request body's stall check waits to look again after the loop was blocked.
 */
const STALL_CHECK_MS = 1_000;
const DRAIN_GRACE_MS = 1_000;
/** errorStatus of an exchange whose connection switches to WebSocket once the answers before it are out. */
const SWITCHING = 101;

export class Connection implements llhttp.ParserCallbacks, BodySource, OutputOwner, Upgradable {
  private readonly ptr: number;
  readonly peer: PeerInfo;
  /** The head (and trailers) being read; IDLE_HEAD between messages (see run()). */
  private head = IDLE_HEAD;
  /** The answers being written. */
  private readonly output: Output;
  /** request.url's scheme: https on a TLS socket. */
  private readonly scheme: string;
  executing = false;
  /** Writing the answers after one the app gave (see settle()). */
  private settling = false;
  /** The status that stopped the parser: a limit or a head rule (see check()). */
  private refused = 0;
  /** The request whose body is arriving. */
  private reading: Exchange | null = null;
  /** Bytes read for that body that were not body bytes (chunk framing); see onData(). */
  private framingBytes = 0;

  // Requests waiting for (or being sent) their responses, oldest first.
  first: Exchange | null = null;
  private last: Exchange | null = null;
  private queued = 0;

  private paused = false; // the parser: `rest` holds what it has not read
  private rest: Buffer | null = null;
  /** Stopped after an Upgrade request: what follows may be the new protocol's, kept in `rest`. */
  private held = false;
  private bodyBlocked = false;
  private closeAfter = false; // read no more requests
  private ending = false; // a response said Connection: close; end after it
  private peerEnded = false;
  /** Input was dropped or left unparsed: closing must linger, or the kernel resets the connection. */
  private unread = false;
  /** end() was called while parsing: run() closes once it knows whether input was left. */
  private endPending = false;
  closed = false;

  timer = T_HEADERS;
  deadline: number;
  private headersDeadline = 0;
  /** clock.blocked when the request body's deadline was last set (see timeout()). */
  private blocksAtArm = 0;
  /** The response whose bytes may still be queued, named in the log line if the client is cut. */
  private lastWritten: Exchange | null = null;

  /** `sharedReads`: the socket reads through `readOptions` (the shared buffer), not 'data' events. */
  constructor(
    readonly server: ServerCore,
    readonly socket: Socket,
    private readonly sharedReads: boolean,
  ) {
    this.ptr = llhttp.allocParser();
    this.peer = new PeerInfo(socket, server);
    this.output = new Output(socket, this);
    this.scheme = isTls(socket) ? 'https' : 'http';
    this.deadline = this.after(server.opts.headerTimeout);
    attach(socket, this, sharedReads);
  }

  private after(ms: number): number {
    return ms ? clock.now + ms : Infinity;
  }

  /** A request body moved (or began): bodyTimeout from now, and the loop's blocks counted so far. */
  private armBody(): void {
    this.deadline = this.after(this.server.opts.bodyTimeout);
    this.blocksAtArm = clock.blocked;
  }

  // ---- input ---------------------------------------------------------------------------------

  onData(chunk: Buffer): void {
    // Closing: what the client still sends is read and dropped (a lingering close).
    if (this.ending) {
      this.unread = true;
      return;
    }
    if (this.reading !== null) this.framingBytes += chunk.length;
    if (this.paused) {
      // Data already on its way when reading paused: keep it for when the parser resumes.
      if (!this.closeAfter || this.held) this.rest = this.rest ? Buffer.concat([this.rest, chunk]) : copy(chunk);
      else this.unread = true;
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
    if (limit && ex !== null && this.framingBytes - this.head.trailerBytes > limit + 16 * ex.body!.received)
      this.fail(413, 'chunk framing over its budget');
  }

  private run(chunk: Buffer): void {
    this.executing = true;
    let ret: number;
    try {
      ret = llhttp.execute(this.ptr, chunk, this);
    } finally {
      this.executing = false;
    }
    // Between messages the reader goes back to the spares: an idle connection holds none.
    const head = this.head;
    if (head !== IDLE_HEAD && !head.inHeaders && this.reading === null) {
      head.give();
      this.head = IDLE_HEAD;
    }
    if (ret !== llhttp.ERROR.OK) this.stopped(ret, chunk);
    // Responses the app gave synchronously go out now, in one write.
    this.output.flush();
    if (this.endPending) {
      this.endPending = false;
      this.close();
    }
  }

  private stopped(ret: number, chunk: Buffer): void {
    if (ret === llhttp.ERROR.PAUSED || ret === llhttp.ERROR.PAUSED_UPGRADE) {
      this.paused = true;
      const at = llhttp.errorOffset(this.ptr);
      if (ret === llhttp.ERROR.PAUSED_UPGRADE) this.closeAfter = true;
      // After an Upgrade request what follows may be the new protocol's: keep it (see `held`).
      const keep = !this.closeAfter || this.held;
      if (!keep && at < chunk.length) this.unread = true;
      this.rest = keep && at < chunk.length ? copy(chunk.subarray(at)) : null;
      // No more requests will be read: what still comes is dropped (see onData()), and leaving
      // the socket reading spares libuv a stop and a restart (two epoll_ctl calls) before end().
      if (keep) this.socket.pause();
      return;
    }
    const status = this.refused || 400;
    this.fail(status, this.refused ? `limit (${status})` : llhttp.errorReason(this.ptr, ret));
  }

  onMessageBegin(): number {
    if (this.ending) return llhttp.ERROR.PAUSED;
    if (this.head === IDLE_HEAD) this.head = HeadReader.take(this.server.opts);
    this.head.begin();
    this.headersDeadline = this.after(this.server.opts.headerTimeout);
    this.rearm();
    return 0;
  }

  onUrl(part: string): number {
    return this.check(this.head.addTarget(part, llhttp.methodOf(this.ptr)));
  }

  onHeaderField(part: string): number {
    return this.check(this.head.addName(part));
  }

  onHeaderValue(part: string): number {
    return this.check(this.head.addValue(part));
  }

  /** A nonzero status (a limit, a head rule) stops the parser to refuse the request with it. */
  private check(status: number): number {
    if (status === 0) return 0;
    this.refused = status;
    return llhttp.ERROR.USER;
  }

  onHeadersComplete(keepAlive: boolean, upgrade: boolean): number {
    const head = this.head;
    const last = head.end();
    if (last) return this.check(last);
    head.inHeaders = false;
    const opts = this.server.opts;
    llhttp.readHead(this.ptr, head);
    const form = judgeHead(head, opts.limitRequestBody);
    if (form >= 400) return this.check(form);

    const body = head.bodyLength !== 0 ? new RequestBody(this, head.bodyLength) : null;
    // X-Forwarded-* count only from a trusted proxy.
    const forwarded =
      (head.xff !== '' || head.xfp !== '' || head.xfh !== '') && this.server.trusted(this.peer.remoteAddress);
    const keep = keepAlive && !upgrade && opts.keepAlive && !this.server.draining;
    const ex = new Exchange(
      head.method,
      head.target,
      head.raw,
      head.minor === 0,
      keep,
      expectsContinue(head),
      body,
      form === ORIGIN_FORM || form === ASTERISK_FORM ? head.origin(this.scheme, forwarded, this.socket) : '',
      forwarded && head.xff !== '' ? forwardedInfo(head.xff, this.peer, this.server.trusted) : this.peer,
      false,
    );
    head.clear();
    if (!keep) this.closeAfter = true;
    if (opts.onResponse) ex.started = performance.now();
    if (upgrade && this.server.upgrades) {
      offerUpgrade(ex, this);
      this.held = true;
    }
    this.enqueue(ex);
    this.server.requests++;
    if (body !== null) {
      this.reading = ex;
      this.framingBytes = 0;
    }
    this.rearm();
    if (form === ORIGIN_FORM || form === ABSOLUTE_FORM) this.dispatch(ex);
    else this.settle(ex, new LightResponse(null, { status: form === ASTERISK_FORM ? 204 : 501 }));
    return 0;
  }

  onBody(bytes: Buffer): number {
    const ex = this.reading;
    // An answer given before the body (a sync app, OPTIONS *) may have closed the connection
    // from inside this very read: end() dropped the exchange, and what is left of its body is
    // read and dropped like the rest of a lingering close.
    if (ex === null) return 0;
    const body = ex.body!;
    const limit = this.server.opts.limitRequestBody;
    if (limit && body.received + bytes.length > limit) return this.check(413);
    // The bytes live in the shared read buffer: the body keeps its own copy.
    body.push(bytes);
    this.framingBytes -= bytes.length;
    if (this.timer === T_BODY) this.armBody();
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
    const last = this.head.end();
    if (last) return this.check(last);
    const ex = this.reading;
    if (ex !== null) {
      this.reading = null;
      ex.body!.end();
      if (this.bodyBlocked) this.bodyBlocked = false;
    }
    this.rearm();
    if (this.output.full) this.output.flush();
    if (this.closeAfter || this.output.blocked || this.queued >= this.server.opts.maxPipelinedRequests)
      return llhttp.ERROR.PAUSED;
    return 0;
  }

  /** The client sent something it must not: answer `status` in order, then close. */
  private fail(status: number, reason: string): void {
    this.server.opts.logger.debug({ status, reason, remoteAddress: this.peer.remoteAddress }, 'bad request');
    this.closeAfter = true;
    // Where the request went wrong, the rest of what the client sent is unknown.
    this.unread = true;
    this.paused = true;
    this.rest = null;
    this.socket.pause();
    this.head.inHeaders = false;
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
      this.output.send(CONTINUE_100);
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
    if (this.output.blocked || this.bodyBlocked || this.queued >= this.server.opts.maxPipelinedRequests) return;
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
    if (ex !== this.first) return;
    if (this.executing) {
      this.writeReady(); // run() flushes
      return;
    }
    // The last answer owed goes out now; one with answers still to come waits for the microtask's
    // batch (pipelined answers settle one after another in the same run of microtasks).
    this.settling = true;
    try {
      this.writeReady();
    } finally {
      this.settling = false;
    }
    if (this.first === null) this.output.flush();
    else this.output.schedule();
  }

  /** See OutputOwner.holding. */
  get holding(): boolean {
    return this.executing || this.settling;
  }

  // ---- upgrade -------------------------------------------------------------------------------

  /**
   * server.upgrade() during the app's turn: the app's answer will be ignored, and once the answers
   * before this request are out, the socket goes to the server's WebSockets (switchProtocols()).
   */
  upgrade(ex: Exchange, options: UpgradeOptions): boolean {
    if (ex.state !== S_APP || this.closed || this.ending || this.server.draining) return false;
    ex.errorStatus = SWITCHING;
    ex.result = options;
    ex.state = S_READY;
    if (ex === this.first) this.writeReady();
    return true;
  }

  /** Lets the socket go: the parser is freed, and the server's WebSockets read from here. */
  private switchProtocols(ex: Exchange): false {
    ex.state = S_WRITING;
    // From inside the parser (an app that upgrades synchronously), wait for it to return.
    if (this.executing) {
      queueMicrotask(() => this.switchProtocols(ex));
      return false;
    }
    if (this.closed) return false;
    this.output.flush();
    const head = this.rest ?? Buffer.alloc(0);
    this.rest = null;
    this.closed = true;
    this.output.close();
    llhttp.freeParser(this.ptr);
    detach(this.socket, this.sharedReads);
    this.first = this.last = this.reading = null;
    this.queued = 0;
    this.deadline = Infinity;
    ex.status = 101;
    ex.state = S_DONE;
    const onResponse = this.server.opts.onResponse;
    if (onResponse !== undefined) onResponse(ex.record());
    this.server.connectionClosed(this);
    this.server.switched(ex, this.socket, head, ex.result as UpgradeOptions);
    return false;
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
    const out = this.output;
    if (ex.errorStatus) {
      if (ex.errorStatus === SWITCHING) return this.switchProtocols(ex);
      ex.status = ex.errorStatus;
      this.ending = this.closeAfter = true;
      out.send(errorResponse(ex.errorStatus, clock.dateLine));
      return true;
    }
    let p: ResponseParts;
    try {
      p = responseParts(ex.result, PARTS);
    } catch (err) {
      const why = err instanceof ResponseError ? 'refused to write the response' : 'the app failed to answer';
      this.server.opts.logger.error({ err, method: ex.method, target: ex.target }, why);
      cancelBody(ex.result);
      p = responseParts(SERVER_ERROR, PARTS);
    }
    ex.status = p.status;
    this.lastWritten = ex;
    // FRAME and PARTS are every connection's: write() reads them before anything else can write.
    const { body: kind, field, length } = framing(ex.method === 'HEAD', ex.http10, p, FRAME);
    const close = kind === UNTIL_CLOSE || !ex.keepAlive || p.close || this.lastBeforeClose(ex) || ex.unskippableBody();
    if (close) this.ending = this.closeAfter = true;
    const head = responseHead(p, field, close, ex.http10);
    const body = p.body;
    if (kind === CHUNKED || kind === UNTIL_CLOSE || kind === BLOB) {
      ex.state = S_WRITING;
      out.beginStream(p.latin1 ? Buffer.from(head, 'latin1') : head);
      const stream = kind === BLOB ? (body as Blob).stream() : (body as ReadableStream<Uint8Array>);
      void this.stream(ex, stream, kind === CHUNKED);
      return false;
    }
    if (p.latin1) out.sendBytes(Buffer.from(head, 'latin1'));
    else out.send(head);
    if (kind === FIXED) {
      ex.bytes = length;
      if (typeof body === 'string') {
        out.send(body);
        // A large text goes out now, as bytes do: finish() must see whether it blocked, or a
        // client cut while reading it would be logged without naming its request.
        if (out.full) out.flush();
      } else if (length) out.sendBytes(body as Uint8Array);
    } else if (kind === DROPPED) cancelBody(ex.result);
    return true;
  }

  /** This is the last response before the connection closes (we read no further). */
  private lastBeforeClose(ex: Exchange): boolean {
    return (
      this.closeAfter && ex.next === null && !this.head.inHeaders && (this.reading === null || this.reading === ex)
    );
  }

  /** Pumps a streamed body out (see Output.pump()), then goes on with the answers after it. */
  private async stream(ex: Exchange, body: ReadableStream<Uint8Array>, chunked: boolean): Promise<void> {
    try {
      if (!(await this.output.pump(body, chunked, ex))) return;
    } catch (err) {
      if (!this.streamFailed(ex, err)) return;
    }
    this.finish(ex);
    if (!this.closed && !this.ending) this.writeReady();
  }

  /**
   * A response's body stream failed (logged once). If none of the response was written yet, a
   * 500 takes its place, as for an app that throws, and this returns true. Once its head is out,
   * ending the connection is all that is left: the client sees the body cut (chunked: no last
   * chunk; a Content-Length: fewer bytes).
   */
  private streamFailed(ex: Exchange, err: unknown): boolean {
    if (this.closed) return false;
    this.server.opts.logger.error({ err, method: ex.method, target: ex.target }, 'the response body stream failed');
    if (!this.output.unstarted) {
      this.destroy();
      return false;
    }
    ex.bytes = 0;
    ex.result = SERVER_ERROR;
    return this.write(ex);
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
    if (onResponse !== undefined && !ex.synthetic) onResponse(ex.record());
    if (this.ending || (this.closeAfter && this.queued === 0 && this.reading === null && !this.head.inHeaders)) {
      this.end();
      return;
    }
    if (!this.output.blocked) this.lastWritten = null;
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

  /** The output backed up: read nothing more until it drains, and watch it for stalls. */
  writesBlocked(): void {
    this.socket.pause();
    this.rearm();
  }

  onDrain(): void {
    if (!this.output.drained()) return;
    if (!this.ending && this.first?.state !== S_WRITING) this.lastWritten = null;
    this.rearm();
    this.resumeReading();
  }

  // ---- timers --------------------------------------------------------------------------------

  /** Points the deadline at whatever the connection is waiting for now. */
  private rearm(): void {
    // Closing: the flush and the linger own the deadline from here on.
    if (this.timer >= T_FLUSH) return;
    const opts = this.server.opts;
    if (this.output.blocked) {
      if (this.timer !== T_WRITE) this.watchWrites(T_WRITE);
    } else if (this.head.inHeaders) {
      this.timer = T_HEADERS;
      this.deadline = this.headersDeadline;
    } else if (this.reading !== null && !this.bodyBlocked) {
      if (this.timer !== T_BODY) {
        this.timer = T_BODY;
        this.armBody();
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
        if (this.timer === T_BODY && clock.blocked !== this.blocksAtArm) {
          // The loop was blocked since the body last moved: its bytes may be in the kernel,
          // unread. Judge after a free run (the write side's rule, see Output.stalledFor()).
          this.blocksAtArm = clock.blocked;
          this.deadline = clock.now + STALL_CHECK_MS;
          return;
        }
        const ex = this.reading;
        if (ex !== null && !this.head.inHeaders) {
          this.server.opts.logger.warn(
            {
              remoteAddress: this.peer.remoteAddress,
              request: ex.line(),
              receivedBytes: ex.body!.received,
              declaredBytes: ex.body!.length < 0 ? 'chunked' : ex.body!.length,
              timeoutMs: this.server.opts.bodyTimeout,
            },
            'cut a request body that stopped arriving',
          );
        }
        if (this.head.inHeaders || this.reading !== null) this.fail(408, 'timed out reading the request');
        else this.destroy();
        return;
      }
      case T_IDLE:
        // Output a slow client has yet to read goes out first (end() flushes, then closes).
        if (this.queued === 0) {
          if (this.output.unsent() > 0) this.end();
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
    // Date.now(), not the coarse clock: a stamp up to a tick stale would cut up to a tick early.
    const now = Date.now();
    this.output.watch(now);
    const limit = this.server.opts.bodyTimeout;
    this.deadline = limit ? now + Math.min(limit, STALL_CHECK_MS) : Infinity;
  }

  private checkWrites(): void {
    const now = Date.now();
    const left = this.server.opts.bodyTimeout - this.output.stalledFor(now);
    if (left > 0) {
      this.deadline = now + Math.min(left, STALL_CHECK_MS);
      return;
    }
    const ex = this.lastWritten;
    this.server.opts.logger.warn(
      {
        remoteAddress: this.peer.remoteAddress,
        request: ex?.line(),
        status: ex?.status,
        bodyBytes: ex?.bytes,
        streaming: ex?.state === S_WRITING,
        unsentBytes: this.output.unsent(),
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
    if (this.timer < T_FLUSH && this.queued === 0 && this.reading === null && !this.head.inHeaders) {
      this.timer = T_IDLE;
      this.deadline = Math.min(this.deadline, clock.now + DRAIN_GRACE_MS);
    }
  }

  /** Closes after the output (see close()); requests not yet answered are dropped. */
  end(): void {
    if (this.closed || this.endPending || this.timer >= T_FLUSH) return;
    this.ending = this.closeAfter = true;
    // A head or a body half read, or input kept for later: the client has more on its way.
    if (this.rest !== null || this.head.inHeaders || this.reading !== null) this.unread = true;
    this.dropQueue('the connection is closing');
    this.rest = null;
    if (this.executing) this.endPending = true;
    else this.close();
  }

  /**
   * Every byte written already in the kernel and nothing read past the last request: close at
   * once, as nginx does (the kernel sends the output, then a FIN). Otherwise Node shuts our side
   * down once every byte has reached the kernel ('finish', then flushed()), watching the output
   * for stalls meanwhile, and the close lingers for the client's FIN: closing with input unread
   * sends a reset, which can destroy the client's copy of the output, and TLS owes a close_notify.
   */
  private close(): void {
    if (this.closed) return;
    this.output.flush();
    if ((this.peerEnded || !this.unread) && this.scheme === 'http' && this.output.unsent() === 0) {
      this.socket.destroy();
      return;
    }
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
    this.output.close();
    llhttp.freeParser(this.ptr);
    this.dropQueue('the client closed the connection');
    this.rest = null;
    this.server.connectionClosed(this);
  }
}

/** The framing and the parts of the response being written (see write()). */
const FRAME: Framing = { body: NO_BODY, field: '', length: 0 };
const PARTS: ResponseParts = emptyParts();

/** What `head` is between messages: never read into (llhttp begins every message first). */
const IDLE_HEAD = new HeadReader({ limitRequestLine: 0, limitRequestFields: 0, limitRequestFieldSize: 0 });

const SERVER_ERROR = new LightResponse('Internal Server Error\n', {
  status: 500,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
}) as unknown as Response;

/**
 * Input may live in the shared read buffer, which the next read overwrites: keep a copy (own
 * memory, not a pool slab).
 */
function copy(view: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(view.length);
  view.copy(out);
  return out;
}
