// One request and its response on a connection: what was asked, and how far the answer got.
import { clock } from './clock.js';
import { LightRequest, type RequestBody, type RequestHead } from './request.js';

/** Where the client came from; the second argument to fetch handlers. */
export interface ConnInfo {
  /** The client's address (from X-Forwarded-For when the peer is a trusted proxy); '' on Unix sockets. */
  readonly remoteAddress: string;
  readonly remotePort: number;
}

// Exchange states, in order.
export const S_APP = 0; // waiting for the app's Response
export const S_READY = 1; // the answer is in, waiting for earlier responses to go out
export const S_WRITING = 2; // a streamed body is being written
export const S_DONE = 3;

export class Exchange implements RequestHead {
  next: Exchange | null = null;
  state = S_APP;
  /** The app's answer, once in (a Response, or whatever it wrongly returned). */
  result: unknown = undefined;
  /** Nonzero: answer with this status from the server instead (a protocol error). */
  errorStatus = 0;
  /** `100 Continue` went out. */
  continued = false;
  /** When the request was dispatched, on the coarse clock. */
  readonly since = clock.now;
  /** High-resolution start, only when an access log is on. */
  started = 0;
  status = 0;
  bytes = 0;
  private abort: AbortController | null = null;
  private request: LightRequest | null = null;

  constructor(
    readonly method: string,
    readonly target: string,
    readonly rawHeaders: string[],
    readonly http10: boolean,
    readonly keepAlive: boolean,
    readonly expectContinue: boolean,
    readonly body: RequestBody | null,
    /** Declared body length: bytes, -1 when chunked, 0 for none. */
    readonly bodyLength: number,
    /** `scheme://authority` of the absolute URL (empty for absolute-form targets). */
    private readonly origin: string,
    readonly info: ConnInfo,
  ) {}

  url(): string {
    return this.origin + this.target;
  }

  signal(): AbortSignal {
    return (this.abort ??= new AbortController()).signal;
  }

  toRequest(): Request {
    return (this.request ??= new LightRequest(this)) as unknown as Request;
  }

  /** The client left before the response was complete. */
  aborted(reason: Error): void {
    // The signal is made on first use: one asked for after this must be aborted too.
    (this.abort ??= new AbortController()).abort(reason);
    this.body?.fail(reason);
  }

  header(lowerName: string): string {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1]!;
    }
    return '';
  }
}

/** An exchange the server answers by itself, with no request behind it (a parse error, a timeout). */
export function failure(status: number, info: ConnInfo): Exchange {
  const ex = new Exchange('', '', [], false, false, false, null, 0, '', info);
  ex.errorStatus = status;
  ex.state = S_READY;
  return ex;
}
