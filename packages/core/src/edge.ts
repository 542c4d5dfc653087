// The first bytes of a connection, before HTTP: a PROXY protocol header from an allowed proxy,
// then, on a TLS listener, whether the client speaks TLS at all (without the PROXY protocol,
// OpenSSL tells that: the handshake starts at once). Only listeners with TLS or the PROXY
// protocol come here; plain TCP keeps the fast accept path.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { H2_PREFACE } from './http2.js';
import type { ResolvedOptions } from './options.js';
import type { TrustCheck } from './proxy.js';
import { begins, looksProxied, type ProxiedClient, parseProxyHeader } from './proxy-protocol.js';

/** A TLS record starts with its content type; a ClientHello's is handshake (22). */
const TLS_HANDSHAKE = 0x16;

/** OpenSSL's word for a plain HTTP request (or a proxy's CONNECT) where a ClientHello belongs, as nginx reads it. */
const PLAIN_ERRORS = new Set(['ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST']);

const PLAIN_TEXT = 'The plain HTTP request was sent to HTTPS port\n';
const PLAIN_HTTP =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n' +
  `Content-Length: ${PLAIN_TEXT.length}\r\n\r\n${PLAIN_TEXT}`;

/** How long the answer to plain HTTP waits for the client to close first (so it is read, not reset). */
const LINGER_MS = 2000;

const kBuffered = Symbol('tsws.edge.buffered');
const kClient = Symbol('tsws.edge.client');
type Arriving = Socket & { [kBuffered]?: Buffer; [kClient]?: ProxiedClient };

/** What the edge reads of the options (the node worker class passes these alone). */
export type EdgeOptions = Pick<
  ResolvedOptions,
  'maxConnections' | 'noDelay' | 'headerTimeout' | 'proxyProtocol' | 'logger'
>;

export class Edge {
  /** Sockets not yet handed on, or handed to TLS: cut with the server's connections. */
  private readonly pending = new Set<Socket>();
  /**
   * Every TCP socket this edge accepted and still open, whatever it became (in its first bytes,
   * its handshake, HTTP/1.1 or HTTP/2): all of a listener's connections, as maxConnections counts.
   */
  private open = 0;
  private settle: (() => void) | null = null;

  constructor(
    private readonly opts: EdgeOptions,
    /** Who may send a PROXY header (proxyAllowFrom). */
    private readonly proxies: TrustCheck,
    /** The TLS server that handshakes, on a TLS listener. */
    private readonly engine: tls.Server | undefined,
    /** Where a plain socket goes once its first bytes are read. */
    private readonly deliver: (socket: Socket) => void,
    /** Cleartext HTTP/2 with prior knowledge, from trusted proxies only. */
    private readonly h2c?: { accept(socket: Socket): void; trusted(address: string): boolean },
  ) {
    // Before tls.ts's listener, which destroys the TLS socket (and with it the TCP one).
    engine?.prependListener('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      const under = (socket as { _parent?: Socket })._parent;
      if (PLAIN_ERRORS.has(err.code ?? '') && under && !under.destroyed) this.plain(under);
    });
  }

  /**
   * A listener's 'connection': to the TLS engine at once on a TLS listener without the PROXY
   * protocol; else wait for the first bytes (within the header timeout), then route them.
   */
  readonly accept = (socket: Socket): void => {
    const { pending, opts } = this;
    if (opts.maxConnections !== 0 && this.open >= opts.maxConnections) {
      socket.destroy();
      return;
    }
    this.open++;
    pending.add(socket);
    // Once, on the TCP socket, for whatever it becomes (a no-op where our listener set it already).
    if (opts.noDelay) socket.setNoDelay(true);
    socket.once('close', () => {
      this.open--;
      pending.delete(socket);
      if (pending.size === 0) this.settle?.();
    });
    if (this.engine && opts.proxyProtocol === 'off') {
      // Nothing to read before TLS (reading first cost a third more CPU per connection): the
      // engine's handshake timeout bounds it, and OpenSSL tells plain HTTP apart (see the constructor).
      this.handshake(this.engine, socket);
      return;
    }
    socket.on('error', ignore);
    if (opts.headerTimeout) socket.setTimeout(opts.headerTimeout, drop);
    // Ended before its first bytes were all there (allowHalfOpen would keep it open).
    socket.on('end', drop);
    const onReadable = () => {
      if (this.read(socket as Arriving)) socket.off('readable', onReadable);
    };
    socket.on('readable', onReadable);
  };

  /** The connections open through this edge (see `open`). */
  get connections(): number {
    return this.open;
  }

  /** The client a PROXY header named for `socket` (or, for a TLS socket, for the socket under it). */
  clientOf(socket: Socket): ProxiedClient | undefined {
    const under = (socket as { _parent?: Socket })._parent;
    return (socket as Arriving)[kClient] ?? (under as Arriving | undefined)?.[kClient];
  }

  /** Reads what has arrived; true once the socket has been routed (or dropped). */
  private read(socket: Arriving): boolean {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null)
      socket[kBuffered] = socket[kBuffered] ? Buffer.concat([socket[kBuffered], chunk]) : chunk;
    let bytes = socket[kBuffered];
    if (bytes === undefined) return false;
    const mode = this.opts.proxyProtocol;
    if (mode !== 'off' && socket[kClient] === undefined) {
      const peer = socket.remoteAddress ?? '';
      if (this.proxies(peer)) {
        const parsed = parseProxyHeader(bytes, mode);
        if (parsed.kind === 'more') return false;
        if (parsed.kind === 'bad') return this.refuse(socket, parsed.reason);
        socket[kClient] = parsed.client ?? { remoteAddress: peer, remotePort: socket.remotePort ?? 0 };
        bytes = bytes.subarray(parsed.length);
        socket[kBuffered] = bytes;
        // TLS needs its first byte; plain HTTP can go on with none.
        if (bytes.length === 0 && this.engine) return false;
      } else {
        const looks = looksProxied(bytes);
        if (looks === 'maybe') return false;
        if (looks === 'yes') return this.refuse(socket, 'PROXY header from a peer not in proxyAllowFrom');
      }
    }
    return this.h2cOrRoute(socket, bytes);
  }

  private refuse(socket: Socket, reason: string, what = 'PROXY header'): true {
    this.opts.logger.warn({ remoteAddress: socket.remoteAddress, reason }, `closed a connection: bad ${what}`);
    socket.destroy();
    return true;
  }

  /** Cleartext HTTP/2's preface goes to node:http2 (from trusted proxies only); the rest to route(). */
  private h2cOrRoute(socket: Arriving, bytes: Buffer): boolean {
    if (this.engine === undefined && this.h2c) {
      const preface = begins(bytes, H2_PREFACE);
      if (preface === 'maybe') {
        socket[kBuffered] = bytes;
        return false;
      }
      if (preface === 'yes') {
        // The peer the bytes come from (a proxy), not the client its PROXY header names.
        if (!this.h2c.trusted(socket.remoteAddress ?? ''))
          return this.refuse(socket, 'cleartext HTTP/2 from a peer not in forwardedAllowIps', 'HTTP/2');
        this.handOn(socket, bytes);
        this.h2c.accept(socket);
        return true;
      }
    }
    this.route(socket, bytes);
    return true;
  }

  private handOn(socket: Arriving, bytes: Buffer): void {
    socket[kBuffered] = undefined;
    socket.setTimeout(0);
    socket.off('timeout', drop);
    socket.off('end', drop);
    socket.off('error', ignore);
    if (bytes.length > 0) socket.unshift(bytes);
  }

  private route(socket: Arriving, bytes: Buffer): void {
    this.handOn(socket, bytes);
    if (this.engine === undefined) {
      this.pending.delete(socket);
      if (this.pending.size === 0) this.settle?.();
      this.deliver(socket);
      return;
    }
    if (bytes[0] === TLS_HANDSHAKE) {
      this.handshake(this.engine, socket);
      return;
    }
    // Anything that is not even ASCII is just closed.
    const letter = bytes[0]! >= 0x41 && bytes[0]! <= 0x5a;
    if (letter) this.plain(socket);
    else socket.destroy();
  }

  /** A client that hangs up mid-handshake is closed: half-open is for HTTP, from its first request on (adopt()). */
  private handshake(engine: tls.Server, socket: Socket): void {
    socket.allowHalfOpen = false;
    engine.emit('connection', socket);
  }

  /**
   * Someone typed http:// for https://. Say so, as nginx does, rather than leave them an empty
   * reply, and linger for their FIN so that the answer is read, not reset.
   */
  private plain(socket: Socket): void {
    this.opts.logger.debug({ remoteAddress: socket.remoteAddress }, 'plain HTTP on a TLS port');
    socket.on('error', ignore);
    socket.on('end', drop);
    socket.setTimeout(LINGER_MS, drop);
    socket.resume();
    socket.end(PLAIN_HTTP);
  }

  /** Resolves once no socket is in its first bytes or its handshake (TLS sockets: once closed). */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settle = resolve;
      if (this.pending.size === 0) resolve();
    });
  }

  /** Destroys every socket still in its first bytes or its handshake. */
  cut(): void {
    for (const socket of this.pending) socket.destroy();
  }
}

function drop(this: Socket): void {
  this.destroy();
}
function ignore(): void {}
