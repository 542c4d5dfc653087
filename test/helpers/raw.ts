// A raw-bytes HTTP/1.x client: exact requests in, parsed responses out, for what fetch hides.
import net from 'node:net';
import { onTestFinished } from 'vitest';
import { sleep } from './wait.mjs';
import { parseResponse } from './wire.mjs';

export interface RawResponse {
  version: string;
  status: number;
  reason: string;
  /** Lower-cased names, in order, repeated names kept apart. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** The exact bytes of this response. */
  raw: Buffer;
  header(name: string): string | undefined;
  all(name: string): string[];
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | null = null;
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** What is in hand, for error messages. */
  private unread(): string {
    const start = JSON.stringify(this.buf.toString('latin1').slice(0, 200));
    return `${this.buf.length} bytes unread${this.ended ? ', connection closed' : ''}: ${start}`;
  }

  private async more(deadline: number): Promise<void> {
    if (this.ended) throw new Error(`connection closed; ${this.unread()}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for data; ${this.unread()}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends `data` one byte at a time (each its own write). */
  async trickle(data: string | Buffer, delayMs = 0): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const b of bytes) {
      this.socket.write(Buffer.from([b]));
      await sleep(delayMs);
    }
  }

  /** Reads one response (skipping 1xx unless `interim`); `head` for answers to HEAD. */
  async response(opts: { head?: boolean; interim?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const parsed = parseResponse(this.buf, { head: opts.head ?? false, ended: this.ended });
      if (parsed === null) {
        await this.more(deadline);
        continue;
      }
      if ('error' in parsed) throw new Error(`${parsed.error}; ${this.unread()}`);
      const raw = this.buf.subarray(0, parsed.size);
      this.buf = this.buf.subarray(parsed.size);
      const { status, headers } = parsed.response;
      if (status >= 100 && status < 200 && !opts.interim) continue;
      return {
        ...parsed.response,
        raw,
        header: (name) => headers.find(([k]) => k === name)?.[1],
        all: (name) => headers.filter(([k]) => k === name).map(([, v]) => v),
      };
    }
  }

  /** Everything until the server closes the connection (or what came within `timeoutMs`). */
  async rest(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await this.more(deadline).catch(() => undefined);
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Resolves true if the server closes the connection within `ms`. */
  async closed(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) await this.more(deadline).catch(() => undefined);
    return this.ended;
  }

  /** Bytes received and not yet parsed. */
  pending(): Buffer {
    return this.buf;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens a raw connection (to 127.0.0.1 unless `host` is given); destroyed when the test ends. */
export async function connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  const socket = net.connect({ port, host, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  onTestFinished(() => {
    socket.destroy();
  });
  return new RawClient(socket);
}

/** Sends `data` on a fresh connection and reads one response. */
export async function exchange(
  port: number,
  data: string | Buffer,
  opts: { head?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const c = await connect(port);
  c.write(data);
  try {
    return await c.response(opts);
  } finally {
    c.close();
  }
}

/** A request in exact bytes: `req('GET', '/x', ['X-A: b'], 'body')` (Host is added unless given). */
export function req(method: string, target: string, headers: string[] = [], body = '', version = 'HTTP/1.1'): string {
  const lines = [`${method} ${target} ${version}`];
  if (!headers.some((h) => /^host:/i.test(h))) lines.push('Host: 127.0.0.1');
  lines.push(...headers);
  if (body && !headers.some((h) => /^(content-length|transfer-encoding):/i.test(h)))
    lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
