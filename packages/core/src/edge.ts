// The first bytes of a connection, before HTTP: on a TLS listener, whether the client speaks TLS
// at all. Only listeners with TLS come here; plain TCP keeps the fast accept path.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import type { ResolvedOptions } from './options.js';

/** A TLS record starts with its content type; a ClientHello's is handshake (22). */
const TLS_HANDSHAKE = 0x16;

const PLAIN_TEXT = 'The plain HTTP request was sent to HTTPS port\n';
const PLAIN_HTTP =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n' +
  `Content-Length: ${PLAIN_TEXT.length}\r\n\r\n${PLAIN_TEXT}`;

/** How long the answer to plain HTTP waits for the client to close first (so it is read, not reset). */
const LINGER_MS = 2000;

export class Edge {
  /** Sockets not yet handed on, or handed to TLS: cut with the server's connections. */
  private readonly pending = new Set<Socket>();

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly engine: tls.Server,
  ) {}

  /** A listener's 'connection': wait for the first bytes (within the header timeout), then route them. */
  readonly accept = (socket: Socket): void => {
    const { pending } = this;
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
    socket.on('error', ignore);
    if (this.opts.headerTimeout) socket.setTimeout(this.opts.headerTimeout, drop);
    socket.once('readable', () => this.route(socket));
  };

  private route(socket: Socket): void {
    const first = socket.read() as Buffer | null;
    socket.setTimeout(0);
    socket.off('timeout', drop);
    socket.off('error', ignore);
    if (first === null) {
      socket.destroy();
      return;
    }
    socket.unshift(first);
    if (first[0] === TLS_HANDSHAKE) {
      this.engine.emit('connection', socket);
      return;
    }
    // Someone typed http:// for https://. Say so, as nginx does, rather than leave them an empty
    // reply; anything that is not even ASCII is just closed.
    this.opts.logger.debug({ remoteAddress: socket.remoteAddress }, 'plain HTTP on a TLS port');
    const letter = first[0]! >= 0x41 && first[0]! <= 0x5a;
    if (!letter) {
      socket.destroy();
      return;
    }
    socket.on('error', ignore);
    socket.on('end', drop);
    socket.setTimeout(LINGER_MS, drop);
    socket.resume();
    socket.end(PLAIN_HTTP);
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
