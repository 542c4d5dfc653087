// One request and its response on a connection: what was asked, and how far the answer got.
import type { Socket } from 'node:net';
import { clock } from './clock.js';
import type { AccessRecord } from './options.js';
import { LightRequest, type RequestBody, type RequestHead } from './request.js';
import { type TlsInfo, tlsInfo } from './tls.js';
import { requestIP, type SocketAddress, upgradeRequest } from './upgrade.js';
import type { BinaryData, UpgradeOptions } from './websocket.js';

/** Where the client came from. */
export interface ConnInfo {
  /** The client's address (from X-Forwarded-For when the peer is a trusted proxy); '' on Unix sockets. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The TLS session (protocol, cipher, the client's certificate for mTLS); undefined on plain HTTP. */
  readonly tls?: TlsInfo | undefined;
}

/** The second argument to fetch handlers: where the client came from, and Bun's server object. */
export interface ServerInfo extends ConnInfo {
  /**
   * Bun's server.upgrade(): switch this request's connection to a WebSocket handled by the
   * server's `websocket` handler (the fetch handler's answer is then ignored). False when the
   * request is not a WebSocket handshake, or the server is stopping.
   */
  upgrade<T = unknown>(request: Request, options?: UpgradeOptions<T>): boolean;
  /** Bun's server.requestIP(): the client's address, or null on a Unix socket. */
  requestIP(request: Request): SocketAddress | null;
  /** Bun's server.publish(): a message to every subscriber of `topic`. */
  publish(topic: string, data: string | BinaryData, compress?: boolean): number;
  subscriberCount(topic: string): number;
}

/** What a connection's info needs from its server (see ConnInfo). */
export interface Publisher {
  publish(topic: string, data: string | BinaryData, compress?: boolean): number;
  subscriberCount(topic: string): number;
}

let setProxied: (peer: PeerInfo, client: ConnInfo | undefined) => void;

/** Names the client a PROXY protocol header gave for `peer`'s connection (the app cannot: a private field). */
export function proxiedBy(peer: PeerInfo, client: ConnInfo | undefined): void {
  setProxied(peer, client);
}

/** The peer's address, read lazily and shared by every request of the connection. */
export class PeerInfo implements ServerInfo {
  // Private fields, so JSON.stringify(info) and spreads never reach the socket.
  readonly #socket: Socket;
  readonly #server: Publisher;
  /** The client a trusted proxy named (X-Forwarded-For). */
  readonly #forwarded: string | undefined;
  /** The client a PROXY protocol header named, in place of the socket's peer: the server's to set (proxiedBy). */
  #proxied: ConnInfo | undefined;
  static {
    setProxied = (peer, client) => {
      peer.#proxied = client;
    };
  }
  constructor(socket: Socket, server: Publisher, proxied?: ConnInfo, forwarded?: string) {
    this.#socket = socket;
    this.#server = server;
    this.#proxied = proxied;
    this.#forwarded = forwarded;
  }
  get remoteAddress(): string {
    return this.#forwarded ?? this.#proxied?.remoteAddress ?? this.#socket.remoteAddress ?? '';
  }
  get remotePort(): number {
    return this.#proxied?.remotePort ?? this.#socket.remotePort ?? 0;
  }
  #tls: TlsInfo | undefined | null = null;
  get tls(): TlsInfo | undefined {
    if (this.#tls === null) this.#tls = tlsInfo(this.#socket);
    return this.#tls;
  }
  /** The same peer, as the client a trusted proxy names. */
  forwardedFrom(address: string): PeerInfo {
    return new PeerInfo(this.#socket, this.#server, this.#proxied, address);
  }
  upgrade<T = unknown>(request: Request, options?: UpgradeOptions<T>): boolean {
    return upgradeRequest(request, options);
  }
  requestIP(request: Request): SocketAddress | null {
    return requestIP(request);
  }
  publish(topic: string, data: string | BinaryData, compress = false): number {
    return this.#server.publish(topic, data, compress);
  }
  subscriberCount(topic: string): number {
    return this.#server.subscriberCount(topic);
  }
  /** Response.json(info) and loggers show the two fields, as for a plain object. */
  toJSON(): { remoteAddress: string; remotePort: number } {
    return { remoteAddress: this.remoteAddress, remotePort: this.remotePort };
  }
}

/** Why an exchange was aborted: the client left (request.signal's reason, a body read's error). */
export class ClientGone extends Error {
  readonly code = 'ERR_TSWS_CLIENT_GONE';
}

/** An unread body this small is read and dropped to keep the connection; a larger one closes it. */
const DRAIN_LIMIT = 64 * 1024;

// Exchange states, in order.
export const S_APP = 0; // waiting for the app's Response
export const S_READY = 1; // the answer is in, waiting for earlier responses to go out
export const S_WRITING = 2; // a streamed body is being written
export const S_DONE = 3;

/** A request as read, for the app to answer, and how far its answer got. */
export class Exchange implements RequestHead {
  next: Exchange | null = null;
  state = S_APP;
  /** The app's answer, once in (a Response, or whatever it wrongly returned). */
  result: unknown = undefined;
  /** Nonzero: answer with this status from the server instead (a protocol error). */
  errorStatus = 0;
  /** `100 Continue` went out. */
  continued = false;
  /** When the request was dispatched, on the coarse clock. */
  readonly since = clock.now;
  /** High-resolution start, only when an access log is on. */
  started = 0;
  status = 0;
  bytes = 0;
  private abort: AbortController | null = null;
  private request: LightRequest | null = null;

  // Positional, not an init object: one object fewer per request.
  constructor(
    readonly method: string,
    readonly target: string,
    /** Raw header lines, flat: name, value, name, value. */
    readonly rawHeaders: string[],
    readonly http10: boolean,
    readonly keepAlive: boolean,
    /** The client waits for `100 Continue` before it sends the body. */
    readonly expectContinue: boolean,
    readonly body: RequestBody | null,
    /** `scheme://authority` of the absolute URL (empty for absolute-form targets). */
    private readonly origin: string,
    readonly info: ServerInfo,
    /** The server's own answer with no request behind it (see failure()): never logged or counted. */
    readonly synthetic: boolean,
  ) {}

  url(): string {
    return this.origin + this.target;
  }

  signal(): AbortSignal {
    return (this.abort ??= new AbortController()).signal;
  }

  toRequest(): Request {
    return (this.request ??= new LightRequest(this)) as unknown as Request;
  }

  /** The client left before the response was complete. */
  aborted(reason: Error): void {
    // The signal is made on first use: one asked for after this must be aborted too.
    (this.abort ??= new AbortController()).abort(reason);
    this.body?.fail(reason);
  }

  header(lowerName: string): string {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1]!;
    }
    return '';
  }

  /** The request body is unfinished and cannot be safely skipped: the connection must close after the answer. */
  unskippableBody(): boolean {
    const body = this.body;
    if (body === null || body.done) return false;
    // A client told to wait for 100 Continue may or may not send the body: we cannot know where it ends.
    if (this.expectContinue && !this.continued) return true;
    return body.length < 0 || body.length - body.received > DRAIN_LIMIT;
  }

  /** The request line, for log lines. */
  line(): string {
    return `${this.method} ${this.target} HTTP/1.${this.http10 ? 0 : 1}`;
  }

  /** The finished exchange, for the access log. */
  record(): AccessRecord {
    return {
      method: this.method,
      target: this.target,
      httpVersion: this.http10 ? '1.0' : '1.1',
      status: this.status,
      bytes: this.bytes,
      // What the client declared; a chunked body, what arrived (an app may answer before reading it).
      requestBytes: this.body === null ? 0 : this.body.length >= 0 ? this.body.length : this.body.received,
      durationMs: performance.now() - this.started,
      remoteAddress: this.info.remoteAddress,
      userAgent: this.header('user-agent'),
      referer: this.header('referer'),
    };
  }
}

/** An exchange the server answers by itself, with no request behind it (a parse error, a timeout). */
export function failure(status: number, info: ServerInfo): Exchange {
  const ex = new Exchange('', '', [], false, false, false, null, '', info, true);
  ex.errorStatus = status;
  ex.state = S_READY;
  return ex;
}
