// The core's options: their types, defaults (with units) and validation, in one place.
import type { Server as NetServer } from 'node:net';

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
  httpVersion: '1.0' | '1.1';
  status: number;
  /** Response body bytes written. */
  bytes: number;
  /** Request body bytes received (so far, if the response went first). */
  requestBytes: number;
  /** Milliseconds from the request's headers to the end of its response. */
  durationMs: number;
  remoteAddress: string;
  userAgent: string;
  referer: string;
}

/** A listener handed in ready-made: a listening (or not yet listening) net.Server, or a file descriptor. */
export type ListenerInput = NetServer | { fd: number };

export interface ServeOptions {
  /** Addresses to listen on: `host:port`, `[v6]:port`, `unix:/path`, `unix:@abstract`, `fd://N`. Default `127.0.0.1:8000` when no `sockets` are given. */
  bind?: string | string[];
  /** Listeners handed in: a net.Server (systemd, a supervisor) or `{ fd }`. */
  sockets?: ListenerInput[];
  /** Listen backlog: connections the kernel queues before accept. Default 2048. */
  backlog?: number;
  /** SO_REUSEPORT on TCP binds (Node >= 22.12 / 23.1). Default false. */
  reusePort?: boolean;
  /** TCP_NODELAY on accepted sockets. Default true. */
  noDelay?: boolean;
  /** umask applied while creating Unix socket files, e.g. 0o007. Default: the process umask. */
  umask?: number;
  /** Keep connections open between requests. Default true. */
  keepAlive?: boolean;
  /** Close a keep-alive connection idle this long, in ms. Default 5000. */
  keepAliveTimeout?: number;
  /** A request's line and headers must arrive within this many ms of its first byte (and a new connection's first request within this many ms). 408 and close. Default 10000. */
  headerTimeout?: number;
  /** Longest stall mid-body, in ms: no request-body bytes arriving, or a response the client does not read. Default 30000. */
  bodyTimeout?: number;
  /** Concurrent connections per server; more are closed on accept. Default 10000. */
  maxConnections?: number;
  /** Requests read ahead on one connection before its earlier responses are written; reading pauses there. Default 32. */
  maxPipelinedRequests?: number;
  /** Longest request line (method, target, version), in bytes. 414. Default 8190. */
  limitRequestLine?: number;
  /** Most header fields in one request. 431. Default 100. */
  limitRequestFields?: number;
  /** Longest single header field (name plus value), in bytes. 431. Default 8190. */
  limitRequestFieldSize?: number;
  /** Largest request body, in bytes. 413 (Content-Length is checked before reading). Default 1 MiB. */
  limitRequestBody?: number;
  /** Peers whose X-Forwarded-For/-Proto/-Host headers are trusted: addresses, or `*`. Default 127.0.0.1 and ::1. */
  forwardedAllowIps?: string[] | '*';
  /** Replace `globalThis.Response` with a lighter subclass-compatible one, so string and byte responses skip streams. Default true. */
  overrideGlobals?: boolean;
  logger?: Logger;
  /** Called after each response is complete (the access log). Costs nothing when absent. */
  onResponse?: (record: AccessRecord) => void;
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
  overrideGlobals: boolean;
  logger: Logger;
  onResponse: ((record: AccessRecord) => void) | undefined;
}

export const DEFAULTS = {
  backlog: 2048,
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
} as const;

export class OptionError extends TypeError {
  readonly code = 'TSWS_INVALID_OPTION';
}

function count(options: ServeOptions, name: keyof typeof DEFAULTS & keyof ServeOptions): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OptionError(
      `tsws: option "${name}" must be a whole number >= 0 (0 turns it off), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function flag(options: ServeOptions, name: keyof ServeOptions, fallback: boolean): boolean {
  const value = options[name] ?? fallback;
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

export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const sockets = options.sockets ?? [];
  const bind = options.bind === undefined ? (sockets.length ? [] : ['127.0.0.1:8000']) : [options.bind].flat();
  if (!bind.every((b) => typeof b === 'string'))
    throw new OptionError(`tsws: option "bind" must be a string or an array of strings`);
  const umask = options.umask;
  if (umask !== undefined && (!Number.isInteger(umask) || umask < 0 || umask > 0o777)) {
    throw new OptionError(`tsws: option "umask" must be an integer from 0 to 0o777, got ${JSON.stringify(umask)}`);
  }
  const allow = options.forwardedAllowIps ?? [...DEFAULTS.forwardedAllowIps];
  if (allow !== '*' && !(Array.isArray(allow) && allow.every((a) => typeof a === 'string'))) {
    throw new OptionError(`tsws: option "forwardedAllowIps" must be "*" or an array of addresses`);
  }
  return {
    bind,
    sockets,
    backlog: count(options, 'backlog'),
    reusePort: flag(options, 'reusePort', false),
    noDelay: flag(options, 'noDelay', true),
    umask,
    keepAlive: flag(options, 'keepAlive', true),
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
    overrideGlobals: flag(options, 'overrideGlobals', true),
    logger: options.logger ?? stderrLogger,
    onResponse: options.onResponse,
  };
}
