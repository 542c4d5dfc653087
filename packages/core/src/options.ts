// The core's options: their types, defaults (with units) and validation, in one place.
import type { Server as NetServer } from 'node:net';
import type { ProxyProtocol } from './proxy-protocol.js';
import type { TlsOptions } from './tls.js';
import type { WebSocketHandler } from './websocket.js';

/** What the server logs. A pino logger fits; the default writes errors and warnings to stderr. */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** One finished exchange, as given to `onResponse` (the access log hook). */
export interface AccessRecord {
  method: string;
  /** The request target exactly as sent (path and query). */
  target: string;
  httpVersion: '1.0' | '1.1' | '2';
  status: number;
  /** Response body bytes written. */
  bytes: number;
  /** Request body bytes: its Content-Length, or for a chunked body what arrived before the response ended. */
  requestBytes: number;
  /** Milliseconds from the request's headers to the end of its response. */
  durationMs: number;
  remoteAddress: string;
  userAgent: string;
  referer: string;
}

/** A listener handed in ready-made: a listening (or not yet listening) net.Server, or a file descriptor. */
export type ListenerInput = NetServer | { fd: number };

/**
 * The options of `serve()`. Each one's default is in DEFAULTS, or under `@defaultValue` where it
 * is not a value; every limit and timeout takes 0 to mean off. The README's core options table is
 * generated from these comments and DEFAULTS (`pnpm settings-docs`).
 */
export interface ServeOptions {
  /**
   * Addresses to listen on, a string or an array: `host:port`, `[v6]:port`, `unix:/path` (a stale
   * socket file is replaced), `unix:@name` (Linux abstract), `fd://N`. None by default when
   * `sockets` are given.
   */
  bind?: string | string[];
  /**
   * Listeners handed in: a net.Server (systemd, a supervisor) or `{ fd }`.
   * @defaultValue none
   */
  sockets?: ListenerInput[];
  /** Listen backlog: connections the kernel queues before accept. */
  backlog?: number;
  /** SO_REUSEPORT on TCP binds (Node >= 22.12 / 23.1; a clear error before). */
  reusePort?: boolean;
  /** TCP_NODELAY on accepted sockets. */
  noDelay?: boolean;
  /**
   * umask applied while creating Unix socket files, e.g. 0o007.
   * @defaultValue the process umask
   */
  umask?: number;
  /** Keep connections open between requests (HTTP/1.1 by default, HTTP/1.0 with `Connection: keep-alive`). */
  keepAlive?: boolean;
  /** Close a keep-alive connection idle this long, in ms. */
  keepAliveTimeout?: number;
  /**
   * A request's line and headers must arrive within this many ms of its first byte (and a new
   * connection's first request within this many ms of the connection): 408 and close (slowloris).
   */
  headerTimeout?: number;
  /**
   * Longest stall mid-body, in ms: no request-body bytes arriving, or a response the client does not read.
   * Linux shows a reader taking bytes only once a third of the send buffer is free: with a 4 MiB
   * buffer, a steady reader slower than about 45 KB/s can be cut at 30 s.
   */
  bodyTimeout?: number;
  /** Concurrent connections per server; more are closed on accept. */
  maxConnections?: number;
  /** Requests read ahead on one connection before its earlier responses are written; reading pauses there. */
  maxPipelinedRequests?: number;
  /** Longest request line (method, target, version), in bytes: 414. */
  limitRequestLine?: number;
  /** Most header fields in one request: 431. */
  limitRequestFields?: number;
  /** Longest single header field (name plus value), in bytes: 431. */
  limitRequestFieldSize?: number;
  /**
   * Largest request body, in bytes: 413, before reading a declared Content-Length; chunked bodies
   * are counted as they arrive.
   */
  limitRequestBody?: number;
  /** Peers (addresses or CIDR ranges, or `'*'`) whose X-Forwarded-For/-Proto/-Host headers count. */
  forwardedAllowIps?: string[] | '*';
  /**
   * Serve HTTPS on every listener: `{ cert, key }` (PEM), with `ca` and `clientCert` for client
   * certificates (mTLS), `ciphers` and `minVersion`. The handshake is bounded by `headerTimeout`.
   * @defaultValue none (plain HTTP)
   */
  tls?: TlsOptions;
  /**
   * Read a PROXY protocol header (HAProxy's `send-proxy`, `send-proxy-v2`; AWS and GCP load
   * balancers) at the start of each connection from `proxyAllowFrom` peers: `v1`, `v2`, `auto`
   * (either). Its client becomes `info.remoteAddress`; a missing or bad header closes the connection.
   */
  proxyProtocol?: ProxyProtocol;
  /** Peers (addresses or CIDR ranges, or `'*'`) that must send a PROXY header; from anyone else one is refused. */
  proxyAllowFrom?: string[] | '*';
  /**
   * `['h1']`, `['h2']` or `['h1', 'h2']`: HTTP/2 (node:http2) is chosen by ALPN over TLS, and in
   * cleartext only with prior knowledge from `forwardedAllowIps` peers (a proxy speaking h2c).
   */
  httpProtocols?: Array<'h1' | 'h2'>;
  /**
   * Replace `globalThis.Response` with a lighter subclass-compatible one, so string and byte
   * responses skip streams.
   */
  overrideGlobals?: boolean;
  /**
   * Where the server logs: a pino-compatible logger (`error`, `warn`, `info`, `debug`).
   * @defaultValue errors and warnings to stderr
   */
  logger?: Logger;
  /**
   * Called after each response is complete with an access record (the access log); costs nothing
   * when absent.
   * @defaultValue none
   */
  onResponse?: (record: AccessRecord) => void;
  /**
   * Bun's `websocket` handler object (`open`, `message`, `close`, ...): the fetch handler's
   * `info.upgrade(request)` switches a connection to it. An app object's own `websocket` serves too.
   * @defaultValue none
   */
  websocket?: WebSocketHandler;
}

/** Fully defaulted options, with 0 meaning "off" for every limit and timeout. */
export interface ResolvedOptions {
  bind: string[];
  sockets: ListenerInput[];
  backlog: number;
  reusePort: boolean;
  noDelay: boolean;
  umask: number | undefined;
  keepAlive: boolean;
  keepAliveTimeout: number;
  headerTimeout: number;
  bodyTimeout: number;
  maxConnections: number;
  maxPipelinedRequests: number;
  limitRequestLine: number;
  limitRequestFields: number;
  limitRequestFieldSize: number;
  limitRequestBody: number;
  forwardedAllowIps: string[] | '*';
  tls: TlsOptions | undefined;
  proxyProtocol: ProxyProtocol;
  proxyAllowFrom: string[] | '*';
  httpProtocols: Array<'h1' | 'h2'>;
  overrideGlobals: boolean;
  logger: Logger;
  onResponse: ((record: AccessRecord) => void) | undefined;
}

/** The default of every option that has a value for one (times in ms, sizes in bytes). */
export const DEFAULTS = {
  bind: '127.0.0.1:8000',
  backlog: 2048,
  reusePort: false,
  noDelay: true,
  keepAlive: true,
  keepAliveTimeout: 5_000, // 5 s, as node:http
  headerTimeout: 10_000, // 10 s: a real client sends its headers in one packet
  bodyTimeout: 30_000, // 30 s without progress
  maxConnections: 10_000,
  maxPipelinedRequests: 32,
  limitRequestLine: 8190, // as Gunicorn's limit_request_field_size, nginx's 8k buffers
  limitRequestFields: 100, // Gunicorn
  limitRequestFieldSize: 8190, // Gunicorn
  limitRequestBody: 1 << 20, // 1 MiB, as nginx's client_max_body_size
  forwardedAllowIps: ['127.0.0.1', '::1'],
  proxyProtocol: 'off',
  proxyAllowFrom: ['127.0.0.1', '::1'],
  httpProtocols: ['h1'],
  overrideGlobals: true,
} as const;

type Defaulted = keyof typeof DEFAULTS;
type Counted = { [K in Defaulted]: (typeof DEFAULTS)[K] extends number ? K : never }[Defaulted];
type Flagged = { [K in Defaulted]: (typeof DEFAULTS)[K] extends boolean ? K : never }[Defaulted];

/**
 * HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE for the header limits: each field at most its size plus
 * HPACK's 32 bytes of overhead, the pseudo-header fields (:method, :path...) four more.
 */
export function maxHeaderListSize(limits: { limitRequestFields: number; limitRequestFieldSize: number }): number {
  const { limitRequestFields: fields, limitRequestFieldSize: size } = limits;
  return fields && size ? (size + 32) * (fields + 4) : 65535 * 16;
}

export class OptionError extends TypeError {
  readonly code = 'ERR_TSWS_INVALID_OPTION';
}

function count(options: ServeOptions, name: Counted): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OptionError(
      `tsws: option "${name}" must be a whole number >= 0 (0 turns it off), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function flag(options: ServeOptions, name: Flagged): boolean {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'boolean')
    throw new OptionError(`tsws: option "${name}" must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

const stderrLogger: Logger = {
  error: (obj, msg) => console.error('tsws:', msg ?? '', obj),
  warn: (obj, msg) => console.error('tsws:', msg ?? '', obj),
  info: () => {},
  debug: () => {},
};

function protocols(options: ServeOptions): Array<'h1' | 'h2'> {
  const list = options.httpProtocols ?? [...DEFAULTS.httpProtocols];
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => p === 'h1' || p === 'h2'))
    throw new OptionError(`tsws: option "httpProtocols" must list h1, h2 or both, got ${JSON.stringify(list)}`);
  return list;
}

function peers(options: ServeOptions, name: 'forwardedAllowIps' | 'proxyAllowFrom'): string[] | '*' {
  const allow = options[name] ?? [...DEFAULTS[name]];
  if (allow !== '*' && !(Array.isArray(allow) && allow.every((a) => typeof a === 'string')))
    throw new OptionError(`tsws: option "${name}" must be "*" or an array of addresses`);
  return allow;
}

export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const sockets = options.sockets ?? [];
  const bind = options.bind === undefined ? (sockets.length ? [] : [DEFAULTS.bind]) : [options.bind].flat();
  if (!bind.every((b) => typeof b === 'string'))
    throw new OptionError(`tsws: option "bind" must be a string or an array of strings`);
  const umask = options.umask;
  if (umask !== undefined && (!Number.isInteger(umask) || umask < 0 || umask > 0o777)) {
    throw new OptionError(`tsws: option "umask" must be an integer from 0 to 0o777, got ${JSON.stringify(umask)}`);
  }
  const allow = peers(options, 'forwardedAllowIps');
  const proxyProtocol = options.proxyProtocol ?? DEFAULTS.proxyProtocol;
  if (!['off', 'v1', 'v2', 'auto'].includes(proxyProtocol))
    throw new OptionError(
      `tsws: option "proxyProtocol" must be off, v1, v2 or auto, got ${JSON.stringify(proxyProtocol)}`,
    );
  return {
    bind,
    sockets,
    backlog: count(options, 'backlog'),
    reusePort: flag(options, 'reusePort'),
    noDelay: flag(options, 'noDelay'),
    umask,
    keepAlive: flag(options, 'keepAlive'),
    keepAliveTimeout: count(options, 'keepAliveTimeout'),
    headerTimeout: count(options, 'headerTimeout'),
    bodyTimeout: count(options, 'bodyTimeout'),
    maxConnections: count(options, 'maxConnections'),
    maxPipelinedRequests: count(options, 'maxPipelinedRequests') || Infinity,
    limitRequestLine: count(options, 'limitRequestLine'),
    limitRequestFields: count(options, 'limitRequestFields'),
    limitRequestFieldSize: count(options, 'limitRequestFieldSize'),
    limitRequestBody: count(options, 'limitRequestBody'),
    forwardedAllowIps: allow,
    tls: options.tls,
    proxyProtocol,
    proxyAllowFrom: peers(options, 'proxyAllowFrom'),
    httpProtocols: protocols(options),
    overrideGlobals: flag(options, 'overrideGlobals'),
    logger: options.logger ?? stderrLogger,
    onResponse: options.onResponse,
  };
}
