// A connection's output: what one parse or one microtask answers leaves in one write, a socket that
// takes no more pauses the connection until 'drain', and streamed bodies are pumped out here.
import type { Socket } from 'node:net';
import { clock } from './clock.js';
import { describe } from './response.js';

/** What the output needs from its connection. */
export interface OutputOwner {
  /** The parser is running: what is sent meanwhile goes out when it stops (see Connection.run()). */
  readonly executing: boolean;
  /** The socket's buffer is full: stop reading, and watch the output for stalls. */
  writesBlocked(): void;
}

// Output is gathered per connection and written once per microtask batch, so a burst of
// pipelined responses (sync or async) leaves in one write.
const flushQueue: Output[] = [];
let flushScheduled = false;
function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < flushQueue.length; i++) flushQueue[i]!.flush();
  flushQueue.length = 0;
}

const noop = (): void => {};
/**
 * Answers given while one chunk is parsed are gathered and written after it; past this size they
 * are written at once, so the socket's backpressure can pause reading before the rest of a
 * pipelined burst is answered (else one 64 KiB read of tiny requests builds every answer).
 */
const HIGH_WATER = 64 * 1024;

export class Output {
  /** Text waiting for the next flush. */
  private text = '';
  private queued = false;
  /** The socket's buffer is over its high-water mark: writes wait for 'drain'. */
  blocked = false;
  private closed = false;
  private drainWaiter: (() => void) | null = null;
  /** Bytes unsent at the last look (see stalledFor()), when that last changed, and clock.lost then. */
  private unsentThen = 0;
  private changedAt = 0;
  private lostThen = 0;

  constructor(
    private readonly socket: Socket,
    private readonly owner: OutputOwner,
  ) {}

  /** Gathered past the high-water mark: flush before reading on. */
  get full(): boolean {
    return this.text.length >= HIGH_WATER;
  }

  send(data: string): void {
    this.text += data;
    // While parsing, the connection flushes when the chunk is done; otherwise one microtask flushes the batch.
    if (!this.queued && !this.owner.executing) {
      this.queued = true;
      flushQueue.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flushAll);
      }
    }
  }

  /** Writes bytes now, after any text gathered before them. */
  sendBytes(data: Uint8Array): void {
    if (this.closed) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.text !== '') {
      socket.cork();
      socket.write(this.text);
      this.text = '';
      ok = socket.write(data);
      socket.uncork();
    } else {
      ok = socket.write(data);
    }
    if (!ok) this.block();
  }

  flush(): void {
    this.queued = false;
    const data = this.text;
    if (data === '' || this.closed) return;
    this.text = '';
    if (!this.socket.write(data) && !this.blocked) this.block();
  }

  private block(): void {
    this.blocked = true;
    this.owner.writesBlocked();
  }

  /** On 'drain': true if writes were blocked (the connection may read again). */
  drained(): boolean {
    if (!this.blocked) return false;
    this.blocked = false;
    this.wake();
    return true;
  }

  /** The connection closed: nothing more is written, and a pump waiting for 'drain' stops. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
  }

  /**
   * Bytes written and not yet taken by the kernel: libuv's queue (where a large write waits, the
   * part not yet sent) plus what Node buffers behind it. writableLength alone would not move until
   * a whole write is done: a 20 MB body looks stalled for as long as it takes.
   */
  unsent(): number {
    const socket = this.socket as Socket & {
      _handle?: { writeQueueSize?: number } | null;
      writableBuffer?: Array<{ chunk: string | Uint8Array }>;
    };
    const queue = socket._handle?.writeQueueSize;
    if (queue === undefined) return socket.writableLength;
    let buffered = 0;
    for (const { chunk } of socket.writableBuffer ?? []) {
      buffered += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    }
    return queue + buffered;
  }

  /** Starts watching the unsent bytes for progress. */
  watch(now: number): void {
    this.unsentThen = this.unsent();
    this.changedAt = now;
    this.lostThen = clock.lost;
  }

  /**
   * How long (looking now) the client has taken no bytes, since watch(). Time the event loop was
   * blocked does not count: libuv could hand the kernel nothing then, however fast the client read.
   */
  stalledFor(now: number): number {
    const unsent = this.unsent();
    if (unsent !== this.unsentThen) {
      this.unsentThen = unsent;
      this.changedAt = now;
      this.lostThen = clock.lost;
    }
    return now - this.changedAt - (clock.lost - this.lostThen);
  }

  /**
   * Streams a body, chunked on HTTP/1.1, waiting for 'drain' as it goes, and counts its bytes on
   * `counter`. Resolves true once all is written, false if the connection closed first; rejects if
   * the stream fails or gives something other than bytes (its reader cancelled).
   */
  async pump(stream: ReadableStream<Uint8Array>, chunked: boolean, counter: { bytes: number }): Promise<boolean> {
    const socket = this.socket;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (this.closed) {
          reader.cancel().catch(noop);
          return false;
        }
        if (done) break;
        const chunk: Uint8Array = typeof value === 'string' ? Buffer.from(value) : value;
        if (!(chunk instanceof Uint8Array))
          throw new TypeError(`a response body stream gave ${describe(chunk)}, not bytes`);
        const size = chunk.byteLength;
        if (size === 0) continue;
        counter.bytes += size;
        let ok: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`${size.toString(16)}\r\n`);
          socket.write(chunk);
          ok = socket.write('\r\n');
          socket.uncork();
        } else {
          ok = socket.write(chunk);
        }
        if (!ok) await this.drain();
        if (this.closed) {
          reader.cancel().catch(noop);
          return false;
        }
      }
      if (chunked) socket.write('0\r\n\r\n');
    } catch (err) {
      reader?.cancel(err).catch(noop);
      throw err;
    }
    return !this.closed;
  }

  private drain(): Promise<void> {
    if (!this.blocked) this.block();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }
}
