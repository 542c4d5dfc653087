// The light Request handed to fetch handlers, and the request body it streams.
//
// `request instanceof Request` holds, but the real Request (with its Headers, URL checks and body
// stream) is built only when user code touches more than method, url, headers, signal or the body
// readers below. Reading a body as text, JSON or bytes skips web streams entirely.

import { delegate, originalClass } from './globals.js';

/** The real Request class; loading it links the light one beneath it, so `instanceof Request` holds. */
export const RealRequest: () => typeof Request = originalClass<typeof Request>('Request', (real) => {
  Object.setPrototypeOf(LightRequest.prototype, real.prototype);
});

/** Where a request body comes from: the connection implements it. */
export interface BodySource {
  /** The app wants body bytes now: answer `Expect: 100-continue`, resume reading. */
  wantBody(body: RequestBody): void;
}

const BODY_HIGH_WATER = 64 * 1024;

/**
 * The body of one request, buffered up to a high-water mark and handed out as a stream or whole.
 * Each chunk pushed is borrowed (it lives in the connection's read buffer): it is copied once,
 * into memory of its own. With a declared length, once half the body has arrived the rest is
 * copied straight into one buffer of that length, so reading it whole costs no further copy;
 * waiting for half bounds what a lying Content-Length can make us allocate to twice what was sent.
 */
export class RequestBody {
  chunks: Uint8Array[] = [];
  buffered = 0;
  received = 0;
  /** One buffer for the whole declared length, and how much of it is filled. */
  private store: Buffer | null = null;
  private stored = 0;
  done = false;
  error: Error | null = null;
  /** The response was sent: later bytes are drained and dropped. */
  discarding = false;
  used = false;
  private pull: (() => void) | null = null;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private whole: ((err: Error | null) => void) | null = null;
  private stream: ReadableStream<Uint8Array> | null = null;

  constructor(
    private readonly source: BodySource,
    /** The declared body length, -1 when chunked. */
    readonly length: number,
  ) {}

  /** True when the buffer is over its high-water mark and reading should pause. */
  get full(): boolean {
    return this.buffered >= BODY_HIGH_WATER && this.whole === null && !this.discarding;
  }

  push(borrowed: Uint8Array): void {
    this.received += borrowed.length;
    if (this.discarding) return;
    const chunk = this.own(borrowed);
    if (this.pull !== null) {
      const pull = this.pull;
      this.pull = null;
      this.controller!.enqueue(chunk);
      pull();
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** A copy of `borrowed` in memory of its own (the store, or a buffer of its exact size). */
  private own(borrowed: Uint8Array): Uint8Array {
    const n = borrowed.length;
    if (this.store === null && this.length > 0 && this.pull === null && this.received * 2 >= this.length) {
      this.store = Buffer.allocUnsafeSlow(this.length);
      for (const c of this.chunks) {
        this.store.set(c, this.stored);
        this.stored += c.length;
      }
      if (this.stored === this.received - n) {
        this.chunks = this.chunks.length ? [this.store.subarray(0, this.stored)] : [];
      } else {
        // Some went to a stream reader already: keep chunks as they are; the store serves the rest.
        this.store = null;
        this.stored = 0;
      }
    }
    if (this.store !== null && this.stored + n <= this.store.length) {
      this.store.set(borrowed, this.stored);
      this.stored += n;
      return this.store.subarray(this.stored - n, this.stored);
    }
    const out = Buffer.allocUnsafeSlow(n);
    out.set(borrowed);
    return out;
  }

  end(): void {
    this.done = true;
    if (this.pull !== null) {
      this.pull = null;
      this.controller!.close();
    }
    this.whole?.(null);
  }

  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.chunks = [];
    this.buffered = 0;
    if (this.controller !== null) {
      try {
        this.controller.error(error);
      } catch {
        // the stream was already closed or cancelled
      }
      this.pull = null;
    }
    this.whole?.(error);
  }

  /** The body as a stream, with backpressure: reading pauses while the app does not pull. */
  toStream(): ReadableStream<Uint8Array> {
    if (this.stream) return this.stream;
    // Only a read disturbs the body: `request.body && await request.text()` is fine, as with undici.
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.used = true;
          if (this.chunks.length) {
            const chunk = this.chunks.shift()!;
            this.buffered -= chunk.length;
            this.controller!.enqueue(chunk);
            if (this.chunks.length === 0) this.source.wantBody(this);
            return;
          }
          if (this.error) throw this.error;
          if (this.done) return this.controller!.close();
          this.source.wantBody(this);
          return new Promise<void>((resolve) => {
            this.pull = resolve;
          });
        },
        cancel: () => {
          this.discarding = true;
          this.chunks = [];
          this.buffered = 0;
          this.source.wantBody(this);
        },
      },
      { highWaterMark: 0 },
    );
    return this.stream;
  }

  /** The whole body in one buffer. */
  async bytes(): Promise<Uint8Array> {
    if (this.used || this.stream?.locked) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    // The stream handed out unread can no longer give the bytes.
    this.controller?.error(new TypeError('Body is unusable: Body has already been read'));
    if (!this.done) {
      await new Promise<void>((resolve, reject) => {
        this.whole = (err) => (err ? reject(err) : resolve());
        this.source.wantBody(this);
      });
    }
    if (this.error) throw this.error;
    const chunks = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    // Filled in place: the store is the body.
    if (this.store !== null && this.stored === this.store.length && this.received === this.stored) return this.store;
    return concat(chunks);
  }
}

const EMPTY = new Uint8Array(0);

/** Joins chunks into memory of their own (Buffer.concat could hand out a shared pool slab). */
function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** What a light Request is built from: the connection's record of one request. */
export interface RequestHead {
  readonly method: string;
  /** Raw header lines, flat: name, value, name, value. */
  readonly rawHeaders: string[];
  readonly body: RequestBody | null;
  /** The absolute URL. */
  url(): string;
  /** An AbortSignal that fires if the client goes away before the response is sent. */
  signal(): AbortSignal;
}

const kHead = Symbol('tsws.head');
const kHeaders = Symbol('tsws.headers');
const kReal = Symbol('tsws.realRequest');
const kUrl = Symbol('tsws.url');

/** The head a light Request was made from; undefined for any other value. */
export function headOf(request: unknown): RequestHead | undefined {
  return request instanceof LightRequest ? request[kHead] : undefined;
}

export class LightRequest {
  [kHead]: RequestHead;
  [kHeaders]: Headers | undefined = undefined;
  [kReal]: Request | undefined = undefined;
  [kUrl]: string | undefined = undefined;

  constructor(head: RequestHead) {
    this[kHead] = head;
  }

  get method(): string {
    return this[kHead].method;
  }

  get url(): string {
    return (this[kUrl] ??= this[kHead].url());
  }

  get headers(): Headers {
    if (this[kHeaders] === undefined) {
      const raw = this[kHead].rawHeaders;
      const headers = new Headers();
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      this[kHeaders] = headers;
    }
    return this[kHeaders];
  }

  get signal(): AbortSignal {
    return this[kHead].signal();
  }

  // Once the real Request exists (clone(), cache, ...), it owns the body stream: read through it.

  get body(): ReadableStream<Uint8Array> | null {
    const real = this[kReal];
    if (real !== undefined) return real.body;
    return this[kHead].body?.toStream() ?? null;
  }

  get bodyUsed(): boolean {
    const real = this[kReal];
    if (real !== undefined) return real.bodyUsed;
    return this[kHead].body?.used ?? false;
  }

  async bytes(): Promise<Uint8Array> {
    const real = this[kReal];
    if (real !== undefined) return new Uint8Array(await real.arrayBuffer());
    const body = this[kHead].body;
    return body === null ? EMPTY : body.bytes();
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    // The body's own memory, exactly its size, is handed over as it is; anything else is copied.
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    const real = this[kReal];
    if (real !== undefined) return real.text();
    const body = this[kHead].body;
    if (body === null) return '';
    const bytes = await body.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    const type = this.headers.get('content-type') ?? '';
    return new Blob([await this.bytes()], { type });
  }
}

function realOf(req: LightRequest): Request {
  if (req[kReal] === undefined) {
    const head = req[kHead];
    const method = head.method;
    const withBody = head.body !== null && method !== 'GET' && method !== 'HEAD' && !head.body.used;
    req[kReal] = new (RealRequest())(req.url, {
      method,
      headers: req.headers,
      body: withBody ? head.body!.toStream() : null,
      signal: head.signal(),
      ...(withBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  }
  return req[kReal];
}

// The rest of the Fetch standard's Request interface builds the real Request and defers to it.
delegate(
  LightRequest.prototype,
  realOf,
  [
    'destination',
    'referrer',
    'referrerPolicy',
    'mode',
    'credentials',
    'cache',
    'redirect',
    'integrity',
    'keepalive',
    'isReloadNavigation',
    'isHistoryNavigation',
    'duplex',
  ],
  ['clone', 'formData'],
);
Object.defineProperty(LightRequest.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });

/**
 * Makes the global `Request` link the light Request beneath the real one on first touch, so
 * `request instanceof Request` holds in apps without loading undici up front.
 */
export function linkRequestOnFirstUse(): void {
  Object.defineProperty(globalThis, 'Request', {
    get: () => RealRequest(),
    set: (value: unknown) =>
      Object.defineProperty(globalThis, 'Request', { value, writable: true, configurable: true }),
    configurable: true,
    enumerable: false,
  });
}
