// A connection's output: what one parse or one microtask answers leaves in one write, a socket that
// takes no more pauses the connection until 'drain', and streamed bodies are pumped out here.
import type { Socket } from 'node:net';
import { clock } from './clock.js';
import { describe } from './response.js';

/** What the output needs from its connection. */
export interface OutputOwner {
  /**
   * The owner flushes once it is done (the parser is running, or answers are being written after
   * the app's): what is sent meanwhile waits for that, not for a flush of its own.
   */
  readonly holding: boolean;
  /** The socket's buffer is full: stop reading, and watch the output for stalls. */
  writesBlocked(): void;
}

// Output is gathered per connection and written once per microtask batch, so a burst of
// pipelined responses (sync or async) leaves in one write.
const flushQueue: Output[] = [];
let flushScheduled = false;
/**
 * Schedules flushAll on a settled promise, not with queueMicrotask(): Node's queueMicrotask
 * makes an AsyncResource and a bound function per call and runs the callback inside it, once
 * per keep-alive request here. flushAll runs no user code, so it needs no async context.
 */
const settled = Promise.resolve();
function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < flushQueue.length; i++) flushQueue[i]!.flush();
  flushQueue.length = 0;
}

const noop = (): void => {};
const writeBatchOf = (output: Output): void => output.writeBatch();
const writeStartOf = (output: Output): void => {
  if (output.unstarted) output.writeBatch();
};

// A streamed body's chunks are gathered while the stream gives them without making us wait (one
// microtask batch; node:http's res.write() does the same with cork() and nextTick(uncork)) and
// written in one go: a write per chunk cost more than all else a streamed response does.
/** A batch this large is written at once, without waiting for the stream to pause. */
const BATCH_MAX = 128 * 1024;
/** Chunks up to this size are copied into the batch's one buffer; with a larger one it is corked. */
const COPY_MAX = 16 * 1024;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/**
 * Answers given while one chunk is parsed are gathered and written after it; past this size they
 * are written at once, so the socket's backpressure can pause reading before the rest of a
 * pipelined burst is answered (else one 64 KiB read of tiny requests builds every answer).
 */
const HIGH_WATER = 64 * 1024;
/** The batch of a connection that has streamed nothing: empty, never pushed to. */
const NO_PIECES: Array<Uint8Array | string> = [];

export class Output {
  /** Text waiting for the next flush. */
  private text = '';
  private queued = false;
  /** The socket's buffer is over its high-water mark: writes wait for 'drain'. */
  blocked = false;
  private closed = false;
  /** A pump waiting for 'drain' (or the close) to read on. */
  private drainWaiter: Pump | null = null;
  /**
   * A streamed body's pieces not yet written (see gather()), their bytes, and whether all are
   * small. Made for the first streamed response: most connections never stream.
   */
  private batch: Array<Uint8Array | string> = NO_PIECES;
  batchBytes = 0;
  private batchCopies = true;
  /** Bytes unsent at the last look (see stalledFor()), when that last changed, and clock.blocked then. */
  private unsentThen = 0;
  private changedAt = 0;
  private blockedThen = 0;
  /** Nothing of the streamed response under way is written yet: its head waits in the batch. */
  unstarted = false;

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
    // The owner flushes when it is done (see holding); otherwise one microtask flushes the batch.
    if (!this.owner.holding) this.schedule();
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

  /** Has the batch flushed with the microtask (see send()), unless a flush is on its way already. */
  schedule(): void {
    if (this.queued || this.text === '') return;
    this.queued = true;
    flushQueue.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      void settled.then(flushAll);
    }
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
    waiter?.read();
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
    this.blockedThen = clock.blocked;
  }

  /**
   * How long (looking now) the client has taken no bytes, since watch(); 0 if the event loop was
   * blocked since the last look: libuv could hand the kernel nothing meanwhile, however fast the
   * client read, so only a look after the loop has run freely can tell a stall.
   */
  stalledFor(now: number): number {
    const unsent = this.unsent();
    if (unsent !== this.unsentThen) {
      this.unsentThen = unsent;
      this.changedAt = now;
    }
    if (clock.blocked !== this.blockedThen) {
      this.blockedThen = clock.blocked;
      return 0;
    }
    return now - this.changedAt;
  }

  /**
   * Streams a body, chunked on HTTP/1.1, waiting for 'drain' as it goes, and counts its bytes on
   * `counter`. Resolves true once all is written, false if the connection closed first; rejects if
   * the stream fails or gives something other than bytes (its reader cancelled).
   */
  pump(stream: ReadableStream<Uint8Array>, chunked: boolean, counter: { bytes: number }): Promise<boolean> {
    return new Promise((resolve, reject) => {
      new Pump(this, stream.getReader(), chunked, counter, resolve, reject).read();
    });
  }

  /**
   * A streamed response begins with `head` (ASCII text, or bytes). It waits in the batch for what
   * the stream gives at once, at most until the loop's next turn: a stream that fails at once
   * has then written nothing (see unstarted), and a 500 may take its place. Text gathered before
   * it, the answers before, goes out now.
   */
  beginStream(head: string | Uint8Array): void {
    if (this.text !== '') this.flush();
    this.unstarted = true;
    if (this.batch === NO_PIECES) this.batch = [];
    // Not gather(): its write on the next tick would come before a failure in a promise job.
    this.batch.push(head);
    this.batchBytes += typeof head === 'string' ? head.length : head.byteLength;
    setImmediate(writeStartOf, this);
  }

  /**
   * Adds `size` bytes (a string's in UTF-8) to the batch, which is written once the stream stops
   * giving chunks at once.
   */
  gather(piece: Uint8Array | string, size: number): void {
    if (this.batch === NO_PIECES) this.batch = [];
    const batch = this.batch;
    batch.push(piece);
    this.batchBytes += size;
    if (size > COPY_MAX) this.batchCopies = false;
    if (batch.length === 1) process.nextTick(writeBatchOf, this);
  }

  /** Writes the batch in one go: small pieces copied into one buffer, else corked together. */
  writeBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    if (this.closed) {
      this.dropBatch();
      return;
    }
    this.unstarted = false;
    const socket = this.socket;
    let ok = true;
    if (batch.length === 1) ok = socket.write(batch[0]!);
    else if (this.batchCopies) {
      const buf = Buffer.allocUnsafe(this.batchBytes);
      let at = 0;
      for (const piece of batch) {
        if (typeof piece === 'string') at += buf.write(piece, at);
        else {
          buf.set(piece, at);
          at += piece.byteLength;
        }
      }
      ok = socket.write(buf);
    } else {
      socket.cork();
      for (const piece of batch) ok = socket.write(piece);
      socket.uncork();
    }
    this.dropBatch();
    // write() says false for any write past the high-water mark, even one the kernel took at once;
    // only bytes still queued are backpressure (Node emits 'drain' either way).
    if (!ok && !this.blocked && socket.writableLength >= socket.writableHighWaterMark) this.block();
  }

  dropBatch(): void {
    this.batch.length = 0;
    this.batchBytes = 0;
    this.batchCopies = true;
  }

  /** The socket is backed up: `pump` reads on once it drains (or stops if it closes). */
  waitForDrain(pump: Pump): void {
    this.drainWaiter = pump;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/**
 * A streamed body on its way out: each chunk is gathered as its read resolves and the next read
 * starts at once. Callbacks, not an async loop: a suspended async function keeps its last chunk
 * alive, which for an idle event stream is a buffer per client.
 */
class Pump {
  constructor(
    private readonly output: Output,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly chunked: boolean,
    private readonly counter: { bytes: number },
    private readonly resolve: (written: boolean) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  read(): void {
    if (this.output.isClosed) this.stop(undefined, false);
    else this.reader.read().then(this.chunk, this.fail);
  }

  private readonly chunk = (result: ReadResult): void => {
    try {
      const output = this.output;
      if (output.isClosed) {
        this.stop(undefined, false);
        return;
      }
      if (result.done) {
        if (this.chunked) output.gather(LAST_CHUNK, LAST_CHUNK.length);
        output.writeBatch();
        this.resolve(!output.isClosed);
        return;
      }
      const value: unknown = result.value;
      const chunk = typeof value === 'string' ? Buffer.from(value) : value;
      if (!(chunk instanceof Uint8Array))
        throw new TypeError(`a response body stream gave ${describe(chunk)}, not bytes`);
      const size = chunk.byteLength;
      if (size !== 0) {
        this.counter.bytes += size;
        if (this.chunked) {
          const line = `${size.toString(16)}\r\n`;
          output.gather(line, line.length);
        }
        output.gather(chunk, size);
        if (this.chunked) output.gather(CRLF, 2);
        if (output.batchBytes >= BATCH_MAX) output.writeBatch();
        if (output.blocked) {
          output.waitForDrain(this);
          return;
        }
      }
      this.read();
    } catch (err) {
      // Settled once: nothing after resolve() throws.
      this.fail(err);
    }
  };

  private readonly fail = (err: unknown): void => this.stop(err, true);

  /** Ends the pump early: the batch dropped, the reader cancelled, the promise settled. */
  private stop(err: unknown, failed: boolean): void {
    this.output.dropBatch();
    this.reader.cancel(err).catch(noop);
    if (failed) this.reject(err);
    else this.resolve(false);
  }
}
