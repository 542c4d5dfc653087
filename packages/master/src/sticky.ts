// --sticky, the master's side: it listens on the binds itself, accepts each connection without
// reading a byte of it, and sends the connection's handle to the worker the client's address
// picks; the worker serves it as one it accepted (@tsws/worker's handed.ts). As node:cluster's
// round-robin primary does, it takes libuv's handles from the listening handle's onconnection,
// before any net.Socket wraps them: a Socket made only to be sent and closed was a third of the
// master's CPU per connection. The pick is
// rendezvous hashing over the serving workers' numbers: a worker's death moves only its own
// clients (to the others, and back to its replacement, which takes its number), and TTIN/TTOU
// move about one client in n. A connection that finds no worker serving waits, unread, for one.
import type { Worker } from 'node:cluster';
import net from 'node:net';
import { formatAddress, listenOn, parseBind } from '@tsws/core/bind';
import { type Handed, handedKey, type Logger, SettingError } from '@tsws/worker/internal';

/** A worker that may take connections: its number (the hash's key) and its channel. */
export interface Candidate {
  id: number;
  worker: Worker;
}

/** An accepted connection as libuv hands it over: a TCP handle, unread. */
interface Accepted {
  getpeername(out: { address?: string }): number;
  close(): void;
}

/** What net.Server listens through; its onconnection is ours once listening. */
interface ListeningHandle {
  onconnection(status: number, client: Accepted | undefined): void;
}

interface Waiting {
  client: Accepted;
  key: string;
}

export class StickyListeners {
  private readonly servers: net.Server[] = [];
  private readonly waiting: Waiting[] = [];
  /** Hand-offs sent and not yet written out, by worker: see workerGone(). */
  private readonly sending = new Map<Worker, Set<Accepted>>();
  private closed = false;
  /** Where the master listens, as bind strings: the workers' --bind (port 0 resolved). */
  readonly binds: string[] = [];

  /**
   * `candidates`: the workers serving now, in any order. At most `backlog` connections wait for
   * a worker (as the kernel's own queue would); more are closed.
   */
  constructor(
    private readonly candidates: () => Candidate[],
    private readonly log: Logger,
    private readonly backlog: number,
  ) {}

  /** Listens on every bind; rejects with a BindError or SettingError naming the one that failed. */
  async listen(binds: string[]): Promise<void> {
    for (const bind of binds) {
      const server = net.createServer();
      this.servers.push(server);
      await listenOn(server, parseBind(bind), { backlog: this.backlog, reusePort: false, umask: undefined });
      const address = server.address();
      if (address === null || typeof address === 'string')
        throw new SettingError(`--sticky: bind "${bind}" is a Unix socket: it has no client address to hash`);
      const key = handedKey(address.address, address.port);
      const handle = (server as unknown as { _handle: ListeningHandle })._handle;
      handle.onconnection = (status, client) => {
        // A failed accept (EMFILE...): libuv calls again for the next connection.
        if (status === 0 && client) this.hand({ client, key });
        else this.log.debug({ status }, 'sticky: accept failed');
      };
      this.binds.push(formatAddress(address));
    }
  }

  /** A worker started serving: what waited for one goes now. */
  flush(): void {
    for (const waiting of this.waiting.splice(0)) this.hand(waiting);
  }

  /**
   * A worker exited. Hand-offs still queued for it (node:child_process sends one handle at a time,
   * each after the worker acknowledged the last) never reach anyone: close the master's copy, so
   * the client sees the connection end rather than wait on it forever.
   */
  workerGone(worker: Worker): void {
    const sending = this.sending.get(worker);
    for (const client of sending ?? []) client.close();
    sending?.clear();
    this.sending.delete(worker);
  }

  /** Stops accepting; connections still waiting for a worker are closed. */
  close(): void {
    this.closed = true;
    for (const server of this.servers) server.close();
    for (const { client } of this.waiting.splice(0)) client.close();
  }

  private hand(waiting: Waiting, tried: ReadonlySet<number> = new Set()): void {
    const { client, key } = waiting;
    const peer: { address?: string } = {};
    // Gone already (reset before we got to it): nothing to hand.
    if (client.getpeername(peer) !== 0 || peer.address === undefined) return void client.close();
    const address = peer.address;
    const candidates = this.candidates().filter((c) => !tried.has(c.id) && c.worker.isConnected());
    const chosen = pick(address, candidates);
    if (!chosen) {
      if (this.closed || this.waiting.length >= this.backlog) client.close();
      else this.waiting.push(waiting);
      return;
    }
    const message: Handed = { tsws: 'connection', key };
    const sending = this.sending.get(chosen.worker) ?? new Set<Accepted>();
    this.sending.set(chosen.worker, sending.add(client));
    // node:child_process sends a raw TCP handle as such ('net.Native'); the worker's server wraps it.
    chosen.worker.send(message, client as unknown as net.Socket, {}, (err) => {
      // Closed meanwhile by workerGone().
      if (!sending.delete(client)) return;
      if (!err) return void client.close();
      // Its channel closed under us (it died): the next pick leaves it out.
      this.log.debug({ err, worker: chosen.id }, 'a sticky hand-off failed; trying the next worker');
      this.hand(waiting, new Set([...tried, chosen.id]));
    });
  }
}

/** Rendezvous (highest random weight) hashing: the candidate whose weight with `address` is highest. */
export function pick<T extends { id: number }>(address: string, candidates: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestWeight = -1;
  for (const candidate of candidates) {
    const w = weight(address, candidate.id);
    if (w > bestWeight) {
      best = candidate;
      bestWeight = w;
    }
  }
  return best;
}

/** FNV-1a over the address, seeded by the worker's number, then murmur3's finaliser to spread it. */
function weight(address: string, id: number): number {
  let h = Math.imul(id, 0x9e3779b1) ^ 0x811c9dc5;
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
