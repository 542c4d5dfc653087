// serve(): listeners, the connection set, the deadline sweep, and graceful shutdown.
import cluster from 'node:cluster';
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { type BindAddress, formatAddress, listenOn, parseBind } from './bind.js';
import { addSweeper, removeSweeper } from './clock.js';
import { Connection, type ServerCore } from './connection.js';
import { Edge } from './edge.js';
import { type Exchange, proxiedBy, S_DONE, type ServerInfo } from './exchange.js';
import { H2 } from './http2.js';
import { readOptions } from './listeners.js';
import * as llhttp from './llhttp.js';
import { type ResolvedOptions, resolveOptions, type ServeOptions } from './options.js';
import { type TrustCheck, trustCheck } from './proxy.js';
import { RealRequest } from './request.js';
import { installGlobals } from './response.js';
import { tlsEngine } from './tls.js';
import { handshake } from './upgrade.js';
import {
  type BinaryData,
  type PublishRelay,
  type UpgradeOptions,
  type WebSocketHandler,
  WebSocketHub,
} from './websocket.js';

/** The libuv stream handle net.Server accepts (internal to Node; only these members are used). */
interface SocketHandle {
  close(): void;
  setNoDelay?(on: boolean): void;
}

const WRITE_HIGH_WATER = 128 * 1024;

export type FetchHandler = (request: Request, info: ServerInfo) => Response | Promise<Response>;
/**
 * A fetch handler, or an object with one as its `fetch` method (Hono, itty-router, `export default
 * { fetch }`), and Bun's `websocket` handler beside it.
 */
export type FetchApp = FetchHandler | { fetch: FetchHandler; websocket?: WebSocketHandler };

/** A snapshot of what the server is doing, for heartbeats and stuck-worker reports. */
export interface ServerStats {
  connections: number;
  /** Requests received and not yet fully answered. */
  inFlight: number;
  /** Requests received since the server started. */
  requests: number;
  /** The oldest request still unanswered. */
  oldest: { method: string; target: string; ageMs: number } | null;
}

export function toHandler(app: FetchApp): FetchHandler {
  if (typeof app === 'function') return app;
  if (app !== null && typeof app === 'object' && typeof app.fetch === 'function') return app.fetch.bind(app);
  const found =
    app === null
      ? 'null'
      : typeof app === 'object'
        ? `an object with keys [${Object.keys(app).join(', ')}]`
        : typeof app;
  throw new TypeError(
    `tsws: expected a fetch handler, a function (request) => Response or an object with a fetch method; got ${found}`,
  );
}

export class Server implements ServerCore {
  readonly opts: ResolvedOptions;
  readonly handler: FetchHandler;
  readonly trusted: TrustCheck;
  readonly listeners: net.Server[] = [];
  readonly connections = new Set<Connection>();
  /** The app's WebSockets, when it has a `websocket` handler. */
  readonly websockets: WebSocketHub | null;
  requests = 0;
  draining = false;
  private readonly unixPaths: string[] = [];
  private stopped: Promise<void> | null = null;
  private cutAt = Infinity;
  private cutTimer: NodeJS.Timeout | undefined;
  private emptied: (() => void) | null = null;
  /** Reads a connection's first bytes before HTTP (TLS); absent, accepting takes the fast path. */
  private readonly edge: Edge | undefined;
  /** HTTP/2's sessions, made by the first HTTP/2 connection (httpProtocols h2): only then is node:http2 loaded. */
  private h2: H2 | undefined;
  private readonly sweep = (now: number): void => {
    for (const conn of this.connections) if (conn.deadline <= now) conn.timeout();
  };
  /** The standard path: net.Server made the Socket; reads arrive as 'data' events. */
  private readonly accept = (socket: net.Socket): void => {
    if (this.full()) socket.destroy();
    else {
      // A handed-in net.Server has its own noDelay setting (off by default): ours applies.
      if (this.opts.noDelay) socket.setNoDelay(true);
      this.connections.add(new Connection(this, socket, false));
    }
  };
  /** A TLS socket after its handshake: to HTTP/2 if ALPN chose it, else to the HTTP/1.1 core. */
  private readonly secure = (socket: tls.TLSSocket): void => {
    if (socket.alpnProtocol === 'h2') this.acceptH2(socket);
    else this.adopt(socket);
  };
  /** A socket that speaks HTTP/2 (ALPN h2 or, in cleartext, the preface from a trusted proxy). */
  private readonly acceptH2 = (socket: net.Socket): void => {
    this.h2 ??= new H2(this, (s) => this.edge?.clientOf(s));
    this.h2.accept(socket);
  };
  /**
   * From the edge, once its first bytes are read (and TLS is up): accepted before any drain began,
   * so a drain since then serves it like any idle connection (its request on the way is answered).
   */
  private readonly adopt = (socket: net.Socket): void => {
    const max = this.opts.maxConnections;
    // httpProtocols h2 alone: no HTTP/1.1 at all.
    if ((max !== 0 && this.connections.size >= max) || !this.opts.httpProtocols.includes('h1')) {
      socket.destroy();
      return;
    }
    // No setNoDelay here: the edge set it on the TCP socket, and a TLS socket's would be a second syscall.
    // Half-open from here on, as on plain TCP (the edge kept a TLS handshake from it).
    socket.allowHalfOpen = true;
    const conn = new Connection(this, socket, false);
    proxiedBy(conn.peer, this.edge?.clientOf(socket));
    this.connections.add(conn);
    if (this.draining) conn.drain();
  };
  /**
   * The fast path: the listener's own handle hands us each accepted handle, and we wrap it in a
   * Socket whose reads land in one shared buffer and go straight to the parser, skipping the
   * Readable machinery (+15-20% on keep-alive here). See takeOver().
   */
  private readonly acceptHandle = (err: number, handle: SocketHandle): void => {
    if (err) {
      this.opts.logger.warn({ errno: err }, 'accept failed');
      return;
    }
    if (this.full()) {
      handle.close();
      return;
    }
    if (this.opts.noDelay) handle.setNoDelay?.(true);
    const socket = new net.Socket({
      handle,
      allowHalfOpen: true,
      readable: true,
      writable: true,
      onread: readOptions,
      // Above one 64 KiB chunk and its framing, so a streamed body waits for 'drain' only when the
      // kernel really is behind (node:net's default is 16 KiB on Node 20).
      writableHighWaterMark: WRITE_HIGH_WATER,
    } as net.SocketConstructorOpts);
    this.connections.add(new Connection(this, socket, true));
  };

  private full(): boolean {
    return this.draining || (this.opts.maxConnections !== 0 && this.connections.size >= this.opts.maxConnections);
  }

  /**
   * Takes over accepting from a listener we created. net.Server calls `_handle.onconnection(err,
   * handle)` for each connection (in cluster workers too, through its stand-in handle); if that
   * shape is ever missing, the 'connection' event (attached in createListener) serves instead.
   */
  private takeOver(listener: net.Server): void {
    const handle = (listener as net.Server & { _handle?: { onconnection?: unknown } })._handle;
    if (handle && typeof handle.onconnection === 'function' && handle.onconnection.length === 2)
      handle.onconnection = this.acceptHandle;
  }

  constructor(app: FetchApp, options: ServeOptions = {}) {
    this.handler = toHandler(app);
    this.opts = resolveOptions(options);
    const websocket = options.websocket ?? (typeof app === 'object' ? app.websocket : undefined);
    this.websockets = websocket === undefined ? null : new WebSocketHub(websocket, this.opts.logger);
    llhttp.load();
    this.trusted = trustCheck(this.opts.forwardedAllowIps);
    const { tls, headerTimeout, logger, proxyProtocol, proxyAllowFrom, httpProtocols } = this.opts;
    const h2 = httpProtocols.includes('h2');
    if (tls || proxyProtocol !== 'off' || h2) {
      // ALPN, most preferred first: h2 where offered (and so alpnProtocol is h2 only then).
      const alpn = h2 ? httpProtocols.map((p) => (p === 'h2' ? 'h2' : 'http/1.1')).sort() : undefined;
      const engine = tls ? tlsEngine(tls, headerTimeout, alpn, logger, this.secure) : undefined;
      const h2c = h2 && !tls ? { accept: this.acceptH2, trusted: this.trusted } : undefined;
      this.edge = new Edge(this.opts, trustCheck(proxyAllowFrom), engine, this.adopt, h2c);
    }
    // Without the global override, link the light Request now so `instanceof Request` holds.
    if (this.opts.overrideGlobals) installGlobals();
    else RealRequest();
  }

  /** Opens every bind address and adopts every handed-in listener. Rejects with a BindError. */
  async listen(): Promise<this> {
    const { opts } = this;
    const addresses: BindAddress[] = opts.bind.map(parseBind);
    try {
      for (const address of addresses) {
        const server = this.createListener();
        this.listeners.push(server);
        await listenOn(server, address, opts);
        if (!this.edge) this.takeOver(server);
        // We remove the socket files we made; in a cluster worker the primary made them for all.
        if (address.kind === 'unix' && !address.path.startsWith('\0') && !cluster.isWorker)
          this.unixPaths.push(address.path);
      }
      for (const input of opts.sockets) {
        if (input instanceof net.Server) {
          input.on('connection', this.edge?.accept ?? this.accept);
          this.listeners.push(input);
        } else {
          const server = this.createListener();
          this.listeners.push(server);
          await listenOn(server, { kind: 'fd', fd: input.fd }, opts);
          if (!this.edge) this.takeOver(server);
        }
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    addSweeper(this.sweep);
    return this;
  }

  /**
   * The 'connection' path is attached before listen(): in a cluster worker the primary may hand a
   * connection over in the same turn that completes listen(), before takeOver() runs.
   */
  private createListener(): net.Server {
    return net.createServer({ allowHalfOpen: true, noDelay: this.opts.noDelay }, this.edge?.accept ?? this.accept);
  }

  /** The first listening address (AddressInfo for TCP, a path for Unix sockets). */
  address(): net.AddressInfo | string | null {
    return this.listeners[0]?.address() ?? null;
  }

  addresses(): Array<net.AddressInfo | string | null> {
    return this.listeners.map((l) => l.address());
  }

  /** Printable addresses: `127.0.0.1:8000`, `[::1]:8000`, `/run/app.sock`, `@name`. */
  urls(): string[] {
    return this.addresses().map(formatAddress);
  }

  stats(): ServerStats {
    let inFlight = 0;
    let oldest: ServerStats['oldest'] = null;
    let oldestSince = Infinity;
    for (const conn of this.connections) {
      for (let ex = conn.first; ex !== null; ex = ex.next) {
        if (ex.state === S_DONE || ex.synthetic) continue;
        inFlight++;
        if (ex.since < oldestSince) {
          oldestSince = ex.since;
          oldest = { method: ex.method, target: ex.target, ageMs: Date.now() - ex.since };
        }
      }
    }
    const h2 = this.h2;
    return {
      // Through an edge, every connection is its socket, in its first bytes or handshake too.
      connections: this.edge?.connections ?? this.connections.size + (h2?.sessions.size ?? 0),
      inFlight: inFlight + (h2?.inFlight ?? 0),
      requests: this.requests,
      oldest,
    };
  }

  /** No connection and no WebSocket left: what a graceful stop waits for. */
  private get idle(): boolean {
    return this.connections.size === 0 && (this.websockets?.size ?? 0) === 0;
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (this.idle) this.emptied?.();
  }

  get upgrades(): boolean {
    return this.websockets !== null;
  }

  switched(ex: Exchange, socket: net.Socket, head: Buffer, options: UpgradeOptions): void {
    this.websockets!.accept(handshake(ex, socket, options), head, options.data);
  }

  /** Bun's server.publish(): to every subscriber of `topic`; the bytes sent, 0 if none. */
  publish(topic: string, data: string | BinaryData, compress = false): number {
    return this.websockets?.publish(topic, data, typeof data !== 'string', compress, null) ?? 0;
  }

  subscriberCount(topic: string): number {
    return this.websockets?.subscriberCount(topic) ?? 0;
  }

  /**
   * Under a cluster: `relay` carries every publish here to the other processes, which hand it to
   * relayed(). Only subscribers here are counted in publish()'s answer.
   */
  set relay(relay: PublishRelay | null) {
    if (this.websockets !== null) this.websockets.relay = relay;
  }

  /** A publish from another process: to the subscribers here, and no further. */
  relayed(topic: string, payload: Buffer | string, isBinary: boolean): void {
    this.websockets?.deliver(topic, payload, isBinary, false, null);
  }

  private stopListening(): Promise<void> {
    const closing = this.listeners.map(
      (l) => new Promise<void>((resolve) => (l.listening ? l.close(() => resolve()) : resolve())),
    );
    for (const path of this.unixPaths.splice(0)) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    return Promise.all(closing).then(() => undefined);
  }

  /**
   * Graceful stop: stop accepting, answer every request already received (the last response on
   * each connection says Connection: close), close idle connections now, and after `timeoutMs`
   * cut whatever is left. Resolves when every connection is closed.
   */
  shutdown(timeoutMs = 30_000): Promise<void> {
    // A later call may only bring the cut forward (a second signal, a stop that is not graceful).
    const cutAt = Date.now() + timeoutMs;
    if (cutAt < this.cutAt) {
      this.cutAt = cutAt;
      clearTimeout(this.cutTimer);
      this.cutTimer = setTimeout(() => {
        this.edge?.cut();
        this.h2?.cut();
        for (const conn of this.connections) conn.destroy();
        this.websockets?.goingAway();
      }, timeoutMs);
      this.cutTimer.unref();
    }
    this.stopped ??= (async () => {
      this.draining = true;
      const listening = this.stopListening();
      const empty = () =>
        new Promise<void>((resolve) => {
          this.emptied = resolve;
          if (this.idle) resolve();
        });
      // Open WebSockets stay until they close or the cut (above) tells them 1001.
      if (this.websockets !== null)
        this.websockets.onEmpty = () => {
          if (this.idle) this.emptied?.();
        };
      for (const conn of this.connections) conn.drain();
      this.h2?.drain();
      await listening;
      // Sockets still in their first bytes or handshake become connections and drain in turn.
      do {
        await empty();
        await this.edge?.settled();
      } while (this.connections.size > 0);
      clearTimeout(this.cutTimer);
      removeSweeper(this.sweep);
    })();
    return this.stopped;
  }

  /** Immediate stop: close the listeners and every connection. */
  close(): Promise<void> {
    return this.shutdown(0);
  }
}

/** Starts serving `app` on `options.bind` (default 127.0.0.1:8000). Resolves once listening. */
export function serve(app: FetchApp, options: ServeOptions = {}): Promise<Server> {
  return new Server(app, options).listen();
}

/** bjoern's shape: `listen(app, host, port)` or `listen(app, 'unix:/path')`. */
export function listen(app: FetchApp, bind: string, port?: number, options: ServeOptions = {}): Promise<Server> {
  const spec =
    port === undefined ? bind : bind.includes(':') && !bind.startsWith('[') ? `[${bind}]:${port}` : `${bind}:${port}`;
  return serve(app, { ...options, bind: spec });
}

/**
 * bjoern's `run`: serve until SIGINT or SIGTERM, then shut down gracefully (within
 * `gracefulTimeoutMs`) and resolve.
 */
export async function run(app: FetchApp, options: ServeOptions & { gracefulTimeoutMs?: number } = {}): Promise<void> {
  const server = await serve(app, options);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.shutdown(options.gracefulTimeoutMs).then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
