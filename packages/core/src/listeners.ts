// How sockets reach their connections: one listener function per event, shared by every socket
// (no closures per connection), and the shared read buffer of the fast path.
import type { Socket } from 'node:net';
import type { Connection } from './connection.js';

const kConnection = Symbol('tsws.connection');
type Owned = Socket & { [kConnection]: Connection };
/** What reads a socket's bytes: its connection, or after an upgrade, a Tunnel (see detach()). */
type Reader = Pick<Connection, 'onData' | 'server'>;
/**
 * Points `socket`'s events at `conn`. `sharedReads`: the socket reads through `readOptions` (the
 * shared buffer), not 'data' events; a TLS socket, or one from a handed-in net.Server, reads by events.
 */
export function attach(socket: Socket, conn: Connection, sharedReads: boolean): void {
  (socket as Owned)[kConnection] = conn;
  if (!sharedReads) socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.on('drain', onDrain);
}

/**
 * Lets a socket go (to a WebSocket): its events no longer reach the connection. A socket reading
 * through the shared buffer keeps doing so, and its reads become 'data' events of their own.
 */
export function detach(socket: Socket, sharedReads: boolean): void {
  // The same property, not a new one: a socket with one more property would be another shape
  // for V8 on the hot path. Only the data path reads it from here on.
  const owned = socket as Socket & { [kConnection]: Reader };
  if (sharedReads) owned[kConnection] = new Tunnel(socket, owned[kConnection].server);
  else socket.removeListener('data', onData);
  socket.removeListener('end', onEnd);
  socket.removeListener('error', onError);
  socket.removeListener('close', onClose);
  socket.removeListener('drain', onDrain);
}

class Tunnel implements Reader {
  constructor(
    private readonly socket: Socket,
    readonly server: Connection['server'],
  ) {}
  onData(chunk: Buffer): void {
    // A copy: the shared buffer is overwritten by the next read.
    this.socket.emit('data', Buffer.from(chunk));
  }
}

/**
 * net.Socket's `onread` option: every socket reads into this one buffer and the callback parses
 * it at once. Nothing may keep a view of it past the callback (see copy() in connection.ts).
 */
export const readOptions = {
  buffer: Buffer.allocUnsafeSlow(64 * 1024),
  callback(this: Owned, bytes: number, buffer: Buffer): void {
    onData.call(this, buffer.subarray(0, bytes));
  },
};

function onData(this: Socket & { [kConnection]: Reader }, chunk: Buffer): void {
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
/** Everything written reached the kernel and our side is shut (see Connection.end()). */
export function onFinish(this: Owned): void {
  this[kConnection].flushed();
}
