// The `node` worker class: node:http, for Node request listeners (Express, Koa, fastify, connect,
// plain handlers) with full compatibility, and fetch apps through the adapter. The settings map
// onto node:http's own options where it has them; the rest is checked per request where that is
// cheap. docs/workers.md lists each setting and how faithfully it holds here.
import cluster from 'node:cluster';
import { unlinkSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { isIPv6, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  Edge,
  firstStreamWithin,
  maxHeaderListSize,
  type ProxiedClient,
  type TlsOptions,
  tlsServerOptions,
  trustCheck,
} from '@tsws/core';
import type { LoadedApp, UpgradeListener } from '../app-kind.js';
import { Worker, type WorkerStats } from '../base.js';
import { listenBind } from '../listen.js';
import type { WorkerSettings } from '../protocol.js';
import { tlsOptions } from '../tls-files.js';

/**
 * How long idle connections stay open once a drain starts. Closing them at once races a client
 * that is sending its next request (or, on a connection accepted a moment before, its first):
 * it sees "socket hang up". Meanwhile every response says Connection: close, so busy
 * connections close themselves; what is still idle after this is closed.
 */
const IDLE_GRACE_MS = 1000;

/** How long a WebSocket told 1001 (Going Away) at the graceful timeout has to close before it is cut (the core's). */
const GOING_AWAY_MS = 1000;

/** The most header bytes a request within both field limits can send (node:http counts them in total). */
function maxHeaderSize(s: WorkerSettings): number {
  if (s.limitRequestFields === 0 || s.limitRequestFieldSize === 0 || s.limitRequestLine === 0) return 64 * 1024 * 1024;
  // Each field adds ": " and CRLF around its name and value; the request line its CRLF.
  return s.limitRequestLine + 2 + s.limitRequestFields * (s.limitRequestFieldSize + 4) + 2;
}

/** node:http's own answer when a head does not arrive within headersTimeout. */
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/** The sweep that cuts responses a client stopped reading; 1 s is well under any timeout worth setting. */
const SWEEP_MS = 1000;

/** How far a response's output had got when last looked at, and when that last changed. */
interface Progress {
  written: number;
  queued: number;
  movedAt: number;
}

/** http2's compatibility API gives these for HTTP/2 streams: the same shape, no connection of their own. */
type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;
const isH2 = (res: Res): res is http2.Http2ServerResponse => 'stream' in res;

function requestLine(req: Req): string {
  return `${req.method} ${req.url} HTTP/${req.httpVersion}`;
}

/**
 * A PROXY header's client, where Node apps look for theirs: `remoteAddress`, `remotePort` and
 * `remoteFamily` become own properties of the accepted socket (and of the TLS socket over it,
 * whose getters read the TCP handle), so `req.socket.remoteAddress`, Express's `req.ip` and the
 * access log all name the client, not the proxy.
 */
function showClient(socket: Socket, client: ProxiedClient | undefined): void {
  if (client === undefined) return;
  const family = isIPv6(client.remoteAddress) ? 'IPv6' : 'IPv4';
  Object.defineProperties(socket, {
    remoteAddress: { value: client.remoteAddress, configurable: true },
    remotePort: { value: client.remotePort, configurable: true },
    remoteFamily: { value: family, configurable: true },
  });
}

function refuse(res: Res, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    // HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2): the stream ends, the session stays.
    ...(isH2(res) ? {} : { Connection: 'close' }),
  });
  res.end(text);
}

export class NodeWorker extends Worker {
  static override workerName = 'node';

  /**
   * Express gives each request a prototype built on node:http's IncomingMessage; on an HTTP/2
   * stream its body reads then throw outside any handler and take the worker down, so any client
   * choosing h2 could crash it. Refused at start instead.
   */
  static unsupported(settings: WorkerSettings, app: LoadedApp): string | undefined {
    if (!settings.httpProtocols.includes('h2') || app.interface !== 'node') return undefined;
    if ((app.listener as { request?: unknown }).request instanceof http.IncomingMessage)
      return (
        `--http-protocols ${settings.httpProtocols.join(',')}: ${app.kind} swaps each request's prototype ` +
        "for node:http's (as Express does), which HTTP/2 streams break: serve it with --http-protocols h1"
      );
    return undefined;
  }

  private readonly servers: (http.Server | http2.Http2SecureServer)[] = [];
  /** Cleartext HTTP/2 with prior knowledge (from --forwarded-allow-ips peers): sessions, no listener. */
  private h2c: http2.Http2Server | undefined;
  /** HTTP/2 sessions open: a drain sends each a GOAWAY. */
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly unixPaths: string[] = [];
  private readonly sockets = new Set<Socket>();
  /** Connections handed to the app's 'upgrade' listeners (TLS ones as their TLSSocket). */
  private readonly upgraded = new Set<Duplex>();
  /** Responses under way, with how far their output had got at the last sweep (see cutStalled()). */
  private readonly responses = new Map<http.ServerResponse, Progress>();
  private sweep: NodeJS.Timeout | undefined;
  /** When cutStalled() last ran (0: not yet). */
  private lastSweep = 0;
  private draining = false;
  private allClosed: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private idleGraceOver = false;

  async start(): Promise<string[]> {
    const s = this.settings;
    const listener = this.nodeListener();
    const handle = (req: Req, res: Res) => this.handle(req, res, listener as (req: Req, res: Res) => void);
    const urls: string[] = [];
    // With --certfile, node:https with the same TLS options as the tsws class.
    const tls = tlsOptions(s);
    const headersTimeout = Math.round(s.headerTimeout * 1000);
    if (!tls && s.httpProtocols.includes('h2')) {
      this.h2c = http2.createServer(this.h2Options(), handle);
      this.serveH2(this.h2c, handle);
    }
    const create =
      tls && s.httpProtocols.includes('h2')
        ? (options: http.ServerOptions, listener: http.RequestListener) => this.h2Server(tls, options, listener)
        : tls
          ? (options: http.ServerOptions, listener: http.RequestListener): http.Server =>
              https.createServer({ ...options, ...tlsServerOptions(tls, headersTimeout) }, listener)
          : http.createServer;
    try {
      for (const bind of s.bind) {
        const server = create(
          {
            headersTimeout,
            // node:http's requestTimeout bounds the whole request; ours bounds stalls (below).
            requestTimeout: 0,
            maxHeaderSize: maxHeaderSize(s),
            connectionsCheckingInterval: SWEEP_MS,
            noDelay: true,
          },
          handle as http.RequestListener,
        ) as http.Server;
        server.keepAliveTimeout = Math.round(s.keepAlive * 1000);
        // node:http drops fields past maxHeadersCount silently; one more than the limit lets us see
        // (and refuse) the excess.
        server.maxHeadersCount = s.limitRequestFields === 0 ? 0 : s.limitRequestFields + 1;
        this.continueAfterLimits(server, handle);
        this.accepting(server);
        const upgrade = this.app.interface === 'node' ? this.app.upgrade : undefined;
        if (upgrade !== undefined)
          server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head, upgrade));
        this.servers.push(server);
        const { url, unixPath } = await listenBind(server, bind, s);
        urls.push(url);
        if (unixPath) this.unixPaths.push(unixPath);
      }
    } catch (err) {
      await this.stop(false, 0);
      throw err;
    }
    if (s.bodyTimeout > 0) this.sweep = setInterval(() => this.cutStalled(), SWEEP_MS).unref();
    return urls;
  }

  /**
   * HTTP/2 where ALPN chooses it, HTTP/1.1 (with h1) on the same port: node:http2's compatibility
   * API hands the app the same (req, res) shape. The header limits map onto HTTP/2's settings, an
   * idle session closes after --keep-alive.
   */
  private h2Server(
    tls: TlsOptions,
    options: http.ServerOptions,
    listener: http.RequestListener,
  ): http2.Http2SecureServer {
    const s = this.settings;
    const headersTimeout = options.headersTimeout ?? 0;
    const server = http2.createSecureServer(
      {
        ...tlsServerOptions(tls, headersTimeout),
        allowHTTP1: s.httpProtocols.includes('h1'),
        ...this.h2Options(),
      },
      listener as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    );
    this.serveH2(server);
    if (s.httpProtocols.includes('h1') && headersTimeout > 0) this.boundHeads(server, headersTimeout);
    return server;
  }

  /**
   * --header-timeout on the HTTP/1.1 connections of the TLS HTTP/2 port: node:http2 hands them to
   * node:http's parser without its headersTimeout (that lives in node:http's own server). As
   * node:http counts it: from the connection, then from the first byte after each response, to a
   * whole head; past it, node:http's 408 and a close.
   */
  private boundHeads(server: http2.Http2SecureServer, timeoutMs: number): void {
    const clocks = new WeakMap<Socket, { stop(): void; restart(): void }>();
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') return;
      let timer: NodeJS.Timeout | undefined;
      let inRequest = false;
      const start = () => {
        timer ??= setTimeout(() => socket.write(REQUEST_TIMEOUT, () => socket.destroy()), timeoutMs);
      };
      start();
      socket.on('data', () => {
        if (!inRequest) start();
      });
      socket.once('close', () => clearTimeout(timer));
      clocks.set(socket, {
        stop() {
          clearTimeout(timer);
          timer = undefined;
          inRequest = true;
        },
        restart: () => (inRequest = false),
      });
    });
    // A whole head: its clock stops until the response is done.
    const arrived = (req: Req, res: Res) => {
      const clock = isH2(res) ? undefined : clocks.get(req.socket);
      if (clock === undefined) return;
      clock.stop();
      res.once('finish', clock.restart);
    };
    server.prependListener('request', arrived);
    server.prependListener('checkContinue', arrived);
  }

  /** The header limits as HTTP/2's settings. */
  private h2Options(): http2.ServerOptions {
    const s = this.settings;
    return {
      maxHeaderListPairs: s.limitRequestFields ? s.limitRequestFields + 4 : 0,
      settings: { maxHeaderListSize: maxHeaderListSize(s) },
    };
  }

  /**
   * Sessions tracked for the drain's GOAWAY; the first stream due within --header-timeout (the
   * core's rule), then an idle session closed after --keep-alive; h2c's streams served.
   */
  private serveH2(server: http2.Http2Server | http2.Http2SecureServer, handle?: (req: Req, res: Res) => void): void {
    const s = this.settings;
    const headerTimeout = Math.round(s.headerTimeout * 1000);
    server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.draining) session.close();
      else if (s.keepAlive > 0) session.setTimeout(Math.round(s.keepAlive * 1000), () => session.close());
      if (headerTimeout > 0) firstStreamWithin(session, headerTimeout);
    });
    if (handle) this.continueAfterLimits(server, handle);
  }

  /** Expect: 100-continue: an oversized body is refused before the client sends it (RFC 9110 §10.1.1). */
  private continueAfterLimits(server: net.Server, handle: (req: Req, res: Res) => void): void {
    server.on('checkContinue', (req: Req, res: Res) => {
      if (this.refused(req, res)) return;
      res.writeContinue();
      handle(req, res);
    });
  }

  /**
   * New connections, counted; with --proxy-protocol or cleartext h2c, through the core's Edge
   * before node:http (or https, http2) sees a byte: it reads the PROXY header (from
   * --proxy-allow-from peers only) and hands HTTP/2's preface to the h2c server (from
   * --forwarded-allow-ips peers only), as the tsws class does.
   */
  private accepting(server: net.Server): void {
    const s = this.settings;
    const h2c = this.h2c;
    if (s.proxyProtocol === 'off' && h2c === undefined) {
      server.on('connection', (socket: Socket) => this.connected(socket));
      return;
    }
    // The server's own listener (node:http's, or TLS's handshake), called once the edge is done.
    const serve = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    const h1 = s.httpProtocols.includes('h1') || s.certfile !== undefined;
    const edge: Edge = new Edge(
      {
        maxConnections: 0, // counted by connected()
        noDelay: true,
        headerTimeout: Math.round(s.headerTimeout * 1000),
        proxyProtocol: s.proxyProtocol,
        logger: this.log,
      },
      trustCheck(s.proxyAllowFrom),
      undefined,
      (socket) => {
        // Cleartext --http-protocols h2 alone: HTTP/1.1 is refused, as by the tsws class.
        if (!h1) return void socket.destroy();
        showClient(socket, edge.clientOf(socket));
        for (const listener of serve) listener.call(server, socket);
      },
      h2c && {
        accept: (socket) => {
          showClient(socket, edge.clientOf(socket));
          h2c.emit('connection', socket);
        },
        trusted: trustCheck(s.forwardedAllowIps),
      },
    );
    server.on('connection', (socket: Socket) => {
      if (this.connected(socket)) edge.accept(socket);
    });
    // A TLS socket's address getters read the TCP handle under it: the client goes on it too.
    server.prependListener('secureConnection', (socket: Socket) => showClient(socket, edge.clientOf(socket)));
  }

  /** Counts a new connection; false (and closed) when over --worker-connections or draining. */
  private connected(socket: Socket): boolean {
    const max = this.settings.workerConnections;
    if (this.draining || (max !== 0 && this.sockets.size >= max)) {
      socket.destroy();
      return false;
    }
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.allClosed?.();
    });
    return true;
  }

  /**
   * An Upgrade request goes to the app's own server's 'upgrade' listeners, as on plain Node, once
   * it is within the request limits; while draining it is refused, so it reconnects to a new worker.
   */
  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, upgrade: UpgradeListener): void {
    // A response on the raw socket, for refusals: the connection ends after it.
    const res: http.ServerResponse = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    if (this.draining) {
      refuse(res, 503, 'Service Unavailable');
      return;
    }
    if (this.refused(req, res)) return;
    res.detachSocket(socket as Socket);
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    upgrade(req, socket, head);
  }

  /** The limits node:http has no option for; true when the request was answered with an error. */
  private refused(req: Req, res: Res): boolean {
    const s = this.settings;
    // "GET /x HTTP/1.1": method, target, version and two spaces.
    if (s.limitRequestLine !== 0 && (req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > s.limitRequestLine) {
      refuse(res, 414, 'URI Too Long');
      return true;
    }
    // HTTP/2's pseudo-header fields (:method, :path...) are the request line, not header fields.
    const raw = isH2(res) ? req.rawHeaders.filter((_, i, all) => !all[i - (i % 2)]!.startsWith(':')) : req.rawHeaders;
    if (s.limitRequestFields !== 0 && raw.length / 2 > s.limitRequestFields) {
      refuse(res, 431, 'Too many header fields');
      return true;
    }
    if (s.limitRequestFieldSize !== 0) {
      for (let i = 0; i < raw.length; i += 2) {
        if (raw[i]!.length + raw[i + 1]!.length + 2 > s.limitRequestFieldSize) {
          refuse(res, 431, 'Request Header Fields Too Large');
          return true;
        }
      }
    }
    const length = req.headers['content-length'];
    if (s.limitRequestBody !== 0 && length !== undefined && Number(length) > s.limitRequestBody) {
      refuse(res, 413, 'Payload Too Large');
      return true;
    }
    return false;
  }

  private handle(req: Req, res: Res, listener: (req: Req, res: Res) => void): void {
    if (this.refused(req, res)) return;
    const bodyTimeout = Math.round(this.settings.bodyTimeout * 1000);
    if (isH2(res)) {
      // A stream: no connection of its own to close, no socket whose output the sweep could watch.
      if (bodyTimeout > 0) this.watchStream(req as http2.Http2ServerRequest, res, bodyTimeout);
      listener(req, res);
      return;
    }
    // --keep-alive 0, or a drain under way: this response is the connection's last.
    if (this.draining || this.settings.keepAlive === 0) res.setHeader('Connection', 'close');
    if (
      bodyTimeout > 0 &&
      (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)
    ) {
      // A stalled request body: the socket's idle timer runs while the body arrives, and stops
      // once it is all in. node:http emits 'timeout' on the request: we log the cut, as the tsws
      // class does, and destroy the socket (node:http leaves that to whoever listens).
      req.socket.setTimeout(bodyTimeout);
      req.once('end', () => req.socket?.setTimeout(0));
      req.once('timeout', () => this.cutUpload(req, bodyTimeout, () => req.socket.destroy()));
    }
    this.responses.set(res, { written: 0, queued: 0, movedAt: Date.now() });
    res.once('close', () => {
      this.responses.delete(res);
      // A response begun before the drain may leave its connection idle: close it now.
      if (this.idleGraceOver) setImmediate(() => this.closeIdle());
    });
    listener(req, res);
  }

  /**
   * --body-timeout on an HTTP/2 stream. node:http2's stream timer restarts at every frame read and
   * every write handed on; when it runs out while the request body is still arriving, or while the
   * response's output waits on a client that stopped reading, that stream alone is reset (CANCEL),
   * logged with the HTTP/1.1 cut's line. An app thinking with nothing pending is not cut.
   */
  private watchStream(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, timeoutMs: number): void {
    const stream = res.stream;
    const cut = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    stream.setTimeout(timeoutMs, () => {
      // The client has not ended its side: its body is still on the way (read or not).
      if (!stream.state.remoteClose) this.cutUpload(req, timeoutMs, cut);
      else if (stream.writableNeedDrain || (stream.writableEnded && !stream.writableFinished)) {
        this.stalledResponse(res, stream.writableLength, timeoutMs);
        cut();
      }
    });
  }

  private cutUpload(req: Req, timeoutMs: number, cut: () => void): void {
    const length = req.headers['content-length'];
    // The line the tsws class writes for the same cut (less receivedBytes: node:http counts none).
    this.log.warn(
      {
        remoteAddress: req.socket.remoteAddress,
        request: requestLine(req),
        declaredBytes: length === undefined ? 'chunked' : Number(length),
        timeoutMs,
      },
      'cut a request body that stopped arriving',
    );
    cut();
  }

  /** The line the tsws class writes when it cuts a client that stopped reading. */
  private stalledResponse(res: Res, unsentBytes: number, timeoutMs: number): void {
    const length = res.getHeader('content-length');
    this.log.warn(
      {
        remoteAddress: res.req.socket.remoteAddress,
        request: requestLine(res.req),
        status: res.statusCode,
        bodyBytes: length === undefined ? undefined : Number(length),
        streaming: !res.writableEnded,
        unsentBytes,
        timeoutMs,
      },
      'cut a client that stopped reading its response',
    );
  }

  /**
   * Cuts responses whose output has not moved for --body-timeout: the client stopped reading.
   * Moving is the kernel taking bytes (nginx's send_timeout), not the response finishing: a slow
   * but steady download is never cut, however long it takes.
   */
  private cutStalled(): void {
    const now = Date.now();
    // A sweep half a second late or more: the loop was blocked, and libuv handed the kernel
    // nothing meanwhile, however fast the clients read. This one judges no stall; the next,
    // after the loop has run freely, does (the tsws class's rule).
    const blocked = this.lastSweep !== 0 && now - this.lastSweep > 1.5 * SWEEP_MS;
    this.lastSweep = now;
    const limit = this.settings.bodyTimeout * 1000;
    for (const [res, seen] of this.responses) {
      const socket = res.socket;
      if (socket === null) continue;
      // Writes Node has finished (a whole write each), and what libuv still holds of the one
      // under way, which shrinks as the kernel takes a large write piece by piece.
      const written = socket.bytesWritten - socket.writableLength;
      const queued = (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize ?? 0;
      // Output backed up, or the app is done and the rest has not gone out.
      const waiting = res.writableNeedDrain || (res.writableEnded && !res.writableFinished);
      if (!waiting || written !== seen.written || queued !== seen.queued) {
        seen.written = written;
        seen.queued = queued;
        seen.movedAt = now;
      } else if (!blocked && now - seen.movedAt >= limit) {
        this.stalledResponse(res, socket.writableLength, limit);
        res.destroy();
      }
    }
  }

  private closeIdle(): void {
    for (const server of this.servers) if ('closeIdleConnections' in server) server.closeIdleConnections();
  }

  override stats(): WorkerStats {
    return this.requests.stats(this.sockets.size);
  }

  /** Graceful once; a later call that is not graceful cuts what the first is still draining. */
  stop(graceful: boolean, timeoutMs: number): Promise<void> {
    const first = this.stopping === null;
    this.stopping ??= this.drain(graceful ? timeoutMs : 0);
    if (!first && (!graceful || timeoutMs <= 0)) this.cut();
    return this.stopping;
  }

  /**
   * The graceful timeout: HTTP connections are cut; WebSockets that `ws` serves (ws with
   * noServer, socket.io, @hono/node-server, @fastify/websocket all use it) are told 1001 (Going
   * Away) through ws's own close(), which queues the frame behind any it is writing, and get a
   * moment to close; whatever is left then is cut.
   */
  private goAway(): void {
    for (const server of this.servers) if ('closeAllConnections' in server) server.closeAllConnections();
    for (const socket of this.upgraded) {
      const ws = wsServing(socket);
      if (ws) ws.close(1001, 'server shutting down');
      else socket.destroy();
    }
    setTimeout(() => this.cut(), GOING_AWAY_MS).unref();
  }

  private cut(): void {
    for (const server of this.servers) if ('closeAllConnections' in server) server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
  }

  private async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.sweep);
    const emptied = new Promise<void>((resolve) => {
      this.allClosed = resolve;
      if (this.sockets.size === 0) resolve();
    });
    // Stop accepting. (net.Server's close: http.Server's would also close idle connections at
    // once, among them any accepted a moment ago whose first request is still on its way.)
    for (const server of this.servers) if (server.listening) net.Server.prototype.close.call(server);
    // In a node:cluster worker the socket file is the primary's, still serving the other workers.
    for (const path of cluster.isWorker ? [] : this.unixPaths.splice(0)) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    // GOAWAY to every HTTP/2 session: its streams under way finish, no new ones start.
    for (const session of this.sessions) session.close();
    // Responses not yet begun tell their clients the connection closes after them.
    for (const res of this.responses.keys()) if (!res.headersSent) res.setHeader('Connection', 'close');
    if (timeoutMs <= 0) this.cut();
    else {
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        emptied,
        new Promise((resolve) => (grace = setTimeout(resolve, Math.min(IDLE_GRACE_MS, timeoutMs)))),
      ]);
      clearTimeout(grace);
    }
    this.idleGraceOver = true;
    this.closeIdle();
    const force = setTimeout(() => this.goAway(), Math.max(0, timeoutMs - IDLE_GRACE_MS));
    await emptied;
    clearTimeout(force);
  }
}

interface Closable {
  readyState: number;
  close(code: number, reason: string): void;
}

/**
 * The `ws` WebSocket serving an upgraded socket, when open: ws keeps it on the socket under its
 * own Symbol('websocket') (lib/constants.js), whichever copy of ws the app loaded.
 */
function wsServing(socket: Duplex): Closable | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== 'websocket') continue;
    const ws = (socket as unknown as Record<symbol, Partial<Closable> | null | undefined>)[key];
    if (typeof ws?.close === 'function' && ws.readyState === 1) return ws as Closable;
  }
  return undefined;
}
