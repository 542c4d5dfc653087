// WebSockets with Bun's interface (ServerWebSocket and the `websocket` handler object), on `ws`
// for the protocol itself: framing, masking, UTF-8 checks, permessage-deflate and close codes.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { addSweeper, clock, removeSweeper } from './clock.js';
import type { Logger } from './options.js';

// `ws` loads with the first server that has a websocket handler: apps without one never pay for it.
const require = createRequire(import.meta.url);

type Binary = Buffer | ArrayBuffer | Uint8Array;
/** What send() takes besides text (the DOM's BufferSource). */
export type BinaryData = ArrayBuffer | ArrayBufferView;
/** What `new Headers()` takes. */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];
/** What a binary message is handed to the app as (Bun's `binaryType`). */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'uint8array';

/** The app's WebSocket handlers and settings, as Bun's `websocket` option (times in seconds, sizes in bytes). */
export interface WebSocketHandler<T = unknown> {
  message(ws: ServerWebSocket<T>, message: string | Binary): unknown;
  open?(ws: ServerWebSocket<T>): unknown;
  close?(ws: ServerWebSocket<T>, code: number, reason: string): unknown;
  /** The socket took what was queued once send() returned -1. */
  drain?(ws: ServerWebSocket<T>): unknown;
  ping?(ws: ServerWebSocket<T>, data: Buffer): unknown;
  pong?(ws: ServerWebSocket<T>, data: Buffer): unknown;
  /** Largest message accepted; a larger one closes with 1009. Default 16 MiB. */
  maxPayloadLength?: number;
  /** Bytes queued for one client past which send() returns -1 and further sends are dropped. Default 16 MiB. */
  backpressureLimit?: number;
  /** Close a client that reaches backpressureLimit instead of dropping messages. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Close a connection silent this long, in seconds (0: never). Default 120. */
  idleTimeout?: number;
  /** Ping a silent client once before idleTimeout closes it. Default true. */
  sendPings?: boolean;
  /** ws.publish() also reaches the publishing socket. Default false. */
  publishToSelf?: boolean;
  /** Negotiate permessage-deflate when the client offers it. Default false. */
  perMessageDeflate?: boolean | { compress?: boolean; decompress?: boolean };
}

/** Carries a publish to the other processes of a cluster, once per publish (not per subscriber). */
export type PublishRelay = (topic: string, payload: Buffer, isBinary: boolean) => void;

/** What server.upgrade() takes: the socket's `data`, and extra headers for the 101. */
export interface UpgradeOptions<T = unknown> {
  data?: T;
  headers?: HeadersLike;
}

/** The handshake request, in the shape `ws` reads (an IncomingMessage's method, url and headers). */
export interface Handshake {
  method: string;
  url: string;
  headers: Record<string, string>;
  socket: Socket;
  /** The app's extra 101 headers, as lines. */
  extra: string[];
  remoteAddress: string;
}

const MiB = 1024 * 1024;
const OPEN = 1;
/** How often at most the idle check walks the sockets: an idle socket closes up to this late. */
const IDLE_WALK_MS = 5_000;
/** ws.send()'s options, made once: [text, binary] x [plain, compressed]. */
const SEND_OPTIONS = [
  [
    { binary: false, compress: false, fin: true },
    { binary: false, compress: true, fin: true },
  ],
  [
    { binary: true, compress: false, fin: true },
    { binary: true, compress: true, fin: true },
  ],
] as const;
/** Where a `ws` WebSocket keeps its ServerWebSocket, for the listeners its hub shares among all. */
const kServerWebSocket = Symbol('tsws.serverWebSocket');
type Carrier = WebSocket & { [kServerWebSocket]: ServerWebSocket };
/** How long a socket told 1001 (server going away) has to close before it is cut. */
const GOING_AWAY_MS = 1_000;

/** A client's WebSocket, as Bun's ServerWebSocket. */
export class ServerWebSocket<T = unknown> {
  data: T;
  binaryType: BinaryType = 'nodebuffer';
  readonly remoteAddress: string;
  readonly #ws: WebSocket;
  readonly #hub: WebSocketHub;
  /** Made on the first subscribe(): most sockets never subscribe. */
  #topics: Set<string> | null = null;
  /** send() returned -1: tell the app on 'drain'. */
  backedUp = false;
  pinged = false;
  /** When the idle check closes (or pings) this socket unless a message, ping or pong comes first. */
  idleAt = 0;

  constructor(ws: WebSocket, hub: WebSocketHub, data: T, remoteAddress: string) {
    this.#ws = ws;
    this.#hub = hub;
    this.data = data;
    this.remoteAddress = remoteAddress;
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  /** Bytes sent: -1 when queued over backpressureLimit, 0 when dropped (closed, or already over the limit). */
  send(data: string | BinaryData, compress = false): number {
    return this.write(data, typeof data !== 'string', compress);
  }

  sendText(data: string, compress = false): number {
    return this.write(data, false, compress);
  }

  sendBinary(data: BinaryData, compress = false): number {
    return this.write(data, true, compress);
  }

  /** send() with the frame type given (publish() encodes a text message once for all). */
  write(data: string | BinaryData, isBinary: boolean, compress: boolean): number {
    return this.#hub.sendTo(this, this.#ws, data, isBinary, compress);
  }

  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  ping(data?: string | BinaryData): number {
    if (this.#ws.readyState !== OPEN) return 0;
    this.#ws.ping(data === undefined ? undefined : bytesOf(data));
    return 1;
  }

  pong(data?: string | BinaryData): number {
    if (this.#ws.readyState !== OPEN) return 0;
    this.#ws.pong(data === undefined ? undefined : bytesOf(data));
    return 1;
  }

  getBufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  subscribe(topic: string): void {
    this.#topics ??= new Set();
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    this.#hub.join(topic, this);
  }

  unsubscribe(topic: string): void {
    if (this.#topics?.delete(topic)) this.#hub.leave(topic, this);
  }

  isSubscribed(topic: string): boolean {
    return this.#topics?.has(topic) === true;
  }

  get subscriptions(): string[] {
    return this.#topics === null ? [] : [...this.#topics];
  }

  /** To every subscriber of `topic` but this socket (unless publishToSelf). */
  publish(topic: string, data: string | BinaryData, compress = false): number {
    return this.#hub.publish(topic, data, typeof data !== 'string', compress, this);
  }

  publishText(topic: string, data: string, compress = false): number {
    return this.#hub.publish(topic, data, false, compress, this);
  }

  publishBinary(topic: string, data: BinaryData, compress = false): number {
    return this.#hub.publish(topic, data, true, compress, this);
  }

  /** Gathers what `callback` sends into one write. */
  cork<R>(callback: (ws: this) => R): R {
    const socket = (this.#ws as WebSocket & { _socket: Socket | null })._socket;
    socket?.cork();
    try {
      return callback(this);
    } finally {
      socket?.uncork();
    }
  }

  /** Closing: off every topic. */
  leaveAll(): void {
    if (this.#topics === null) return;
    for (const topic of this.#topics) this.#hub.leave(topic, this);
    this.#topics = null;
  }
}

function bytesOf(data: string | BinaryData): Buffer | string {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new TypeError(`tsws: websocket.${name} must be a number >= 0, got ${JSON.stringify(value)}`);
  return value;
}

/** One server's WebSockets: the open sockets, their topics, and `ws` doing the handshakes. */
export class WebSocketHub {
  readonly sockets = new Set<ServerWebSocket>();
  private readonly topics = new Map<string, Set<ServerWebSocket>>();
  private readonly wss: WebSocketServer;
  private readonly backpressureLimit: number;
  private readonly closeOnLimit: boolean;
  private readonly idleMs: number;
  private readonly sendPings: boolean;
  private readonly toSelf: boolean;
  /** The listeners every socket of this hub shares: no closures per socket. */
  private readonly listeners: ReturnType<typeof listenersOf>;
  /** When the idle check next walks the sockets (see sweep). */
  private nextWalk = 0;
  /** Called when the last socket closes (a graceful shutdown waits for it). */
  onEmpty: (() => void) | null = null;
  /** Where this server's publishes also go: the other processes of a cluster (see Server.relay). */
  relay: PublishRelay | null = null;

  constructor(
    readonly handler: WebSocketHandler,
    private readonly logger: Logger,
  ) {
    if (typeof handler?.message !== 'function')
      throw new TypeError('tsws: the websocket handler needs a message(ws, message) function');
    this.backpressureLimit = positive(handler.backpressureLimit, 16 * MiB, 'backpressureLimit') || Infinity;
    this.closeOnLimit = handler.closeOnBackpressureLimit === true;
    this.idleMs = positive(handler.idleTimeout, 120, 'idleTimeout') * 1000;
    this.sendPings = handler.sendPings !== false;
    this.toSelf = handler.publishToSelf === true;
    this.listeners = listenersOf(this);
    const deflate = handler.perMessageDeflate;
    const ws = require('ws') as typeof import('ws');
    // Close handlers build CloseEvents (Hono's does), a global only from Node 23: undici's is the same class.
    const scope = globalThis as { CloseEvent?: unknown };
    scope.CloseEvent ??= (require('undici') as { CloseEvent: unknown }).CloseEvent;
    this.wss = new ws.WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: positive(handler.maxPayloadLength, 16 * MiB, 'maxPayloadLength'),
      perMessageDeflate: deflate === true || (typeof deflate === 'object' && deflate !== null),
    });
    this.wss.on('headers', (lines: string[], req: Handshake) => {
      if (req.extra.length === 0) return;
      // The app's Sec-WebSocket-Protocol (crossws sends one) replaces the one `ws` picked.
      if (req.extra.some((l) => l.toLowerCase().startsWith('sec-websocket-protocol:'))) {
        const at = lines.findIndex((l) => l.toLowerCase().startsWith('sec-websocket-protocol:'));
        if (at >= 0) lines.splice(at, 1);
      }
      lines.push(...req.extra);
    });
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Completes the handshake on a socket the HTTP side let go of; `head` is what arrived after the request. */
  accept(req: Handshake, head: Buffer, data: unknown): void {
    const remoteAddress = req.remoteAddress;
    this.wss.handleUpgrade(req as never, req.socket, head, (ws) => this.opened(ws, data, remoteAddress));
    // We paused it while the app decided; `ws` reads from here.
    req.socket.resume();
  }

  private opened(ws: WebSocket, data: unknown, remoteAddress: string): void {
    ws.binaryType = 'arraybuffer';
    const sws = new ServerWebSocket(ws, this, data, remoteAddress);
    (ws as Carrier)[kServerWebSocket] = sws;
    const on = this.listeners;
    ws.on('message', on.message);
    ws.on('close', on.close);
    ws.on('error', on.error);
    ws.on('ping', on.ping);
    ws.on('pong', on.pong);
    if (this.idleMs) {
      sws.idleAt = clock.now + this.idleMs;
      if (this.sockets.size === 0) addSweeper(this.sweep);
    }
    this.sockets.add(sws);
    this.call('open', sws);
  }

  /** A message, ping or pong came in: the socket is not idle. */
  heard(sws: ServerWebSocket): void {
    sws.pinged = false;
    if (this.idleMs) sws.idleAt = clock.now + this.idleMs;
  }

  /** The idle check, on the shared clock: a silent socket is pinged once (sendPings), then cut. */
  private readonly sweep = (now: number): void => {
    if (now < this.nextWalk) return;
    this.nextWalk = now + Math.min(this.idleMs / 4, IDLE_WALK_MS);
    for (const sws of this.sockets) {
      if (sws.idleAt > now) continue;
      if (this.sendPings && !sws.pinged && sws.readyState === OPEN) {
        sws.pinged = true;
        sws.idleAt = now + this.idleMs;
        sws.ping();
      } else sws.terminate();
    }
  };

  closed(sws: ServerWebSocket, code: number, reason: string): void {
    sws.leaveAll();
    this.sockets.delete(sws);
    this.call('close', sws, code, reason);
    if (this.sockets.size > 0) return;
    removeSweeper(this.sweep);
    this.onEmpty?.();
  }

  /** Runs one of the app's handlers; what it throws is logged, never the worker's end. */
  call(name: 'message' | 'open' | 'close' | 'drain' | 'ping' | 'pong', ...args: unknown[]): void {
    const fn = this.handler[name] as ((...a: unknown[]) => unknown) | undefined;
    if (fn === undefined) return;
    try {
      const result = fn.apply(this.handler, args);
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
        (result as Promise<unknown>).then(undefined, (err: unknown) => this.failed(name, err));
    } catch (err) {
      this.failed(name, err);
    }
  }

  /** call('message'), without the rest array: it runs once per message. */
  message(sws: ServerWebSocket, message: string | Binary): void {
    try {
      const result = this.handler.message(sws, message);
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
        (result as Promise<unknown>).then(undefined, (err: unknown) => this.failed('message', err));
    } catch (err) {
      this.failed('message', err);
    }
  }

  debug(err: Error): void {
    this.logger.debug({ err: err.message }, 'websocket error');
  }

  private failed(name: string, err: unknown): void {
    this.logger.error({ err }, `the websocket ${name} handler failed`);
  }

  private drained(sws: ServerWebSocket): void {
    if (!sws.backedUp) return;
    sws.backedUp = false;
    this.call('drain', sws);
  }

  sendTo(sws: ServerWebSocket, ws: WebSocket, data: string | BinaryData, isBinary: boolean, compress: boolean): number {
    if (ws.readyState !== OPEN) return 0;
    const queued = ws.bufferedAmount;
    if (queued >= this.backpressureLimit) {
      // The client is not reading: what it has not taken is bounded, never memory.
      if (this.closeOnLimit) ws.terminate();
      return 0;
    }
    const payload = bytesOf(data);
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const options = SEND_OPTIONS[isBinary ? 1 : 0][compress ? 1 : 0];
    if (this.idleMs) sws.idleAt = clock.now + this.idleMs;
    if (queued + size <= this.backpressureLimit) {
      ws.send(payload, options);
      return size;
    }
    // This one goes over the limit: 'drain' once it is out. Not the socket's 'drain' event, which
    // never comes when the limit is below the socket's highWaterMark.
    sws.backedUp = true;
    ws.send(payload, options, (err) => {
      if (err === undefined || err === null) this.drained(sws);
    });
    return -1;
  }

  join(topic: string, sws: ServerWebSocket): void {
    let set = this.topics.get(topic);
    if (set === undefined) this.topics.set(topic, (set = new Set()));
    set.add(sws);
  }

  leave(topic: string, sws: ServerWebSocket): void {
    const set = this.topics.get(topic);
    if (set?.delete(sws) && set.size === 0) this.topics.delete(topic);
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /** Sends to every subscriber of `topic` here (but `from`, unless publishToSelf); the bytes, or 0 if none. */
  publish(
    topic: string,
    data: string | BinaryData,
    isBinary: boolean,
    compress: boolean,
    from: ServerWebSocket | null,
  ): number {
    // Encoded once for every subscriber.
    const payload = typeof data === 'string' ? Buffer.from(data) : bytesOf(data);
    this.relay?.(topic, payload as Buffer, isBinary);
    return this.deliver(topic, payload, isBinary, compress, from);
  }

  /** publish() to this process's subscribers alone (a message relayed from another process). */
  deliver(
    topic: string,
    payload: Buffer | string,
    isBinary: boolean,
    compress: boolean,
    from: ServerWebSocket | null,
  ): number {
    const set = this.topics.get(topic);
    if (set === undefined) return 0;
    let sent = 0;
    for (const sws of set) {
      if (sws === from && !this.toSelf) continue;
      if (sws.write(payload, isBinary, compress) !== 0) sent = payload.length;
    }
    return sent;
  }

  /** Shutdown's end: tell every client 1001 (Going Away), and cut those that do not close soon after. */
  goingAway(): void {
    for (const sws of this.sockets) sws.close(1001, 'server shutting down');
    if (this.sockets.size === 0) return;
    setTimeout(() => {
      for (const sws of this.sockets) sws.terminate();
    }, GOING_AWAY_MS).unref();
  }
}

function swsOf(ws: WebSocket): ServerWebSocket {
  return (ws as Carrier)[kServerWebSocket];
}

/** The ws-event listeners of one hub, shared by its sockets: each finds its ServerWebSocket on `this`. */
function listenersOf(hub: WebSocketHub) {
  return {
    message(this: WebSocket, message: Buffer | ArrayBuffer, isBinary: boolean): void {
      const sws = swsOf(this);
      hub.heard(sws);
      hub.message(sws, isBinary ? binary(message as ArrayBuffer, sws.binaryType) : message.toString());
    },
    close(this: WebSocket, code: number, reason: Buffer): void {
      hub.closed(swsOf(this), code, reason.toString());
    },
    error(this: WebSocket, err: Error): void {
      hub.debug(err);
    },
    ping(this: WebSocket, bytes: Buffer): void {
      const sws = swsOf(this);
      hub.heard(sws);
      hub.call('ping', sws, bytes);
    },
    pong(this: WebSocket, bytes: Buffer): void {
      const sws = swsOf(this);
      hub.heard(sws);
      hub.call('pong', sws, bytes);
    },
  };
}

function binary(bytes: ArrayBuffer, type: BinaryType): Binary {
  // `ws` hands over an ArrayBuffer of exactly the message: message.buffer leaks nothing else.
  if (type === 'arraybuffer') return bytes;
  if (type === 'uint8array') return new Uint8Array(bytes);
  return Buffer.from(bytes);
}
