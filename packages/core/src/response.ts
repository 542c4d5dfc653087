// The light Response, and turning any Response into a response head.
//
// Node's Response wraps every body in a ReadableStream and validates headers through a Headers
// object: costly for the common `new Response('hi')`. The light Response keeps what it was given
// (body, init) and builds the real one only when user code touches anything else. `instanceof
// Response` holds both ways; the server writes string and byte bodies straight to the socket, and
// streams a ReadableStream or a Blob without the real Response around it.

import { delegate, originalClass } from './globals.js';
import { linkRequestOnFirstUse } from './request.js';

/** The real Response class; loading it links the light one beneath it. */
export const RealResponse: () => typeof Response = originalClass<typeof Response>('Response', (real) => {
  Object.setPrototypeOf(LightResponse.prototype, real.prototype);
  Object.setPrototypeOf(LightResponse, real);
});

type BodyInit = ConstructorParameters<typeof Response>[0];
type HeadersInit = NonNullable<ResponseInit['headers']>;

const kBody = Symbol('tsws.body');
const kInit = Symbol('tsws.init');
const kReal = Symbol('tsws.realResponse');
const kSimple = Symbol('tsws.simpleBody');

type SimpleBody = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | null | undefined;

function isSimpleBody(body: unknown): body is SimpleBody {
  if (body == null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer)
    return true;
  if (body instanceof ReadableStream) {
    // The real constructor's check (it also refuses a stream read from and released: rare, and not visible).
    if (body.locked) throw new TypeError('Response body object should not be disturbed or locked');
    return true;
  }
  return body instanceof Blob;
}

const JSON_INIT: ResponseInit = { headers: { 'content-type': 'application/json' } };

export class LightResponse {
  [kBody]: SimpleBody;
  [kInit]: ResponseInit | undefined;
  [kReal]: Response | undefined;
  /** Built from a string, bytes, a Blob, a ReadableStream or null: the server writes `kBody` as it is. */
  [kSimple]: boolean;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    if (isSimpleBody(body) && (init === undefined || checkInit(init, body))) {
      this[kBody] = body;
      this[kInit] = init;
      this[kReal] = undefined;
      this[kSimple] = true;
    } else {
      this[kBody] = undefined;
      this[kInit] = undefined;
      this[kReal] = new (RealResponse())(body, init);
      this[kSimple] = false;
    }
  }

  get status(): number {
    return this[kReal]?.status ?? this[kInit]?.status ?? 200;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status < 300;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    // JSON.stringify throws for what the real Response.json() rejects too (cycles, BigInt).
    if (init?.headers !== undefined) return RealResponse().json(data, init);
    const text = JSON.stringify(data);
    return new LightResponse(
      text,
      init ? { status: init.status, statusText: init.statusText, headers: JSON_INIT.headers } : JSON_INIT,
    ) as unknown as Response;
  }

  static redirect(url: string | URL, status?: Parameters<typeof Response.redirect>[1]): Response {
    return RealResponse().redirect(url, status ?? 302);
  }

  static error(): Response {
    return RealResponse().error();
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return isResponse(value);
  }
}

// reason-phrase = *( HTAB / SP / VCHAR / obs-text ) (RFC 9112 §4), as the real constructor checks.
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The same status checks the real constructor makes, so the light one throws where it would. */
function checkInit(init: ResponseInit, body: SimpleBody): boolean {
  // A status text with CR or LF would be a header injection; the real Response refuses it.
  const statusText = init.statusText;
  if (statusText != null && !REASON_PHRASE.test(String(statusText))) throw new TypeError('Invalid statusText');
  const status = init.status;
  if (status !== undefined) {
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
    }
    if (body != null && (status === 204 || status === 205 || status === 304)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
  }
  return true;
}

function realOf(res: LightResponse): Response {
  return (res[kReal] ??= new (RealResponse())(res[kBody], res[kInit]));
}

// The rest of the Fetch standard's Response interface builds the real Response and defers to it.
delegate(
  LightResponse.prototype,
  realOf,
  ['type', 'url', 'redirected', 'statusText', 'headers', 'body', 'bodyUsed'],
  ['clone', 'arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'],
);
Object.defineProperty(LightResponse, 'name', { value: 'Response' });
Object.defineProperty(LightResponse.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });

let installed = false;

/**
 * Makes `Response` in user code the light one, and `Request` link the light Request on first
 * touch (see request.ts). Idempotent.
 */
export function installGlobals(): void {
  if (installed) return;
  installed = true;
  globalThis.Response = LightResponse as unknown as typeof Response;
  linkRequestOnFirstUse();
}

/** True for light and real Responses alike (the real class is loaded only for non-light values). */
export function isResponse(value: unknown): value is Response {
  if (typeof value !== 'object' || value === null) return false;
  // Both prototypes inherit isPrototypeOf; no indirection on the hot path.
  // biome-ignore lint/suspicious/noPrototypeBuiltins: see above
  return LightResponse.prototype.isPrototypeOf(value) || RealResponse().prototype.isPrototypeOf(value);
}

/** A response that will not be written: release its body stream, if it has one (simple light bodies have none). */
export function cancelBody(res: unknown): void {
  if (!isResponse(res)) return;
  const light = res as unknown as LightResponse;
  const raw = light[kSimple] && light[kReal] === undefined ? light[kBody] : undefined;
  const stream = raw instanceof ReadableStream ? raw : (light[kSimple] ? light[kReal] : (light[kReal] ?? res))?.body;
  if (stream != null && !stream.locked) stream.cancel().catch(() => {});
}

// ---- serialisation -------------------------------------------------------------------------

export class ResponseError extends Error {
  readonly code = 'ERR_TSWS_BAD_RESPONSE';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ASCII_VALUE = /^[\t\x20-\x7e]*$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * What a response is, taken apart for writing. `body` is a string, bytes, a Blob (its size known,
 * its bytes read as they are sent: a file's from disk), null, or a ReadableStream; `headers` is
 * the serialised header block (no framing, no Date).
 */
export interface ResponseParts {
  status: number;
  statusText: string | undefined;
  headers: string;
  body: string | Uint8Array | Blob | ReadableStream<Uint8Array> | null;
  /** The app set Connection: close. */
  close: boolean;
  /** The app set a Date header. */
  hasDate: boolean;
  /** The app set a Content-Type header. */
  hasType: boolean;
  /** The app's Content-Length, kept only for bodiless HEAD answers. */
  contentLength: string | undefined;
  /** Some header holds bytes above 0x7f: the head must be written as latin1. */
  latin1: boolean;
}

/** One line of `p.headers` ('' for the fields the server writes itself), noting on `p` what it says. */
function headerLine(p: ResponseParts, name: string, value: unknown): string {
  const v = typeof value === 'string' ? value : String(value);
  if (!TOKEN.test(name)) throw new ResponseError(`invalid response header name ${JSON.stringify(name)}`);
  if (!ASCII_VALUE.test(v)) {
    if (INVALID_VALUE.test(v))
      throw new ResponseError(`invalid character in response header ${name}: ${JSON.stringify(v)}`);
    p.latin1 = true;
  }
  // Compare lengths before case-folding: most names are none of these.
  switch (name.length) {
    case 4:
      if (name.toLowerCase() === 'date') p.hasDate = true;
      break;
    case 10: {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        if (/(?:^|,)\s*close\s*(?:,|$)/i.test(v)) p.close = true;
        return '';
      }
      if (lower === 'keep-alive') return '';
      break;
    }
    case 12:
      if (name.toLowerCase() === 'content-type') p.hasType = true;
      break;
    case 14:
      if (name.toLowerCase() === 'content-length') {
        p.contentLength = v;
        return '';
      }
      break;
    case 17:
      if (name.toLowerCase() === 'transfer-encoding') return '';
      break;
  }
  return `${name}: ${v}\r\n`;
}

/** Parts to fill (see responseParts()'s `into`). */
export function emptyParts(): ResponseParts {
  return {
    status: 0,
    statusText: undefined,
    headers: '',
    body: null,
    close: false,
    hasDate: false,
    hasType: false,
    contentLength: undefined,
    latin1: false,
  };
}

/** A response's parts, with `init` serialised into `headers`, written into `p`. */
function parts(
  status: number,
  statusText: string | undefined,
  init: HeadersInit | undefined,
  p: ResponseParts = emptyParts(),
): ResponseParts {
  p.status = status;
  p.statusText = statusText;
  p.headers = '';
  p.body = null;
  p.close = p.hasDate = p.hasType = p.latin1 = false;
  p.contentLength = undefined;
  if (init === undefined || init === null) return p;
  let out = '';
  // Plain objects first; anything iterable (Headers, Map) yields [name, value] pairs, with each
  // Set-Cookie on its own. No `instanceof Headers`: that would load undici for nothing.
  if (Array.isArray(init)) {
    for (const pair of init) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new ResponseError('response headers: each entry must be a [name, value] pair');
      out += headerLine(p, pair[0]!, pair[1]);
    }
  } else if (typeof init === 'object') {
    const any = init as unknown as Record<string, unknown> & Partial<Iterable<[string, string]>>;
    const proto = Object.getPrototypeOf(any) as object | null;
    if (proto === Object.prototype || proto === null || typeof any[Symbol.iterator] !== 'function') {
      for (const name in any) out += headerLine(p, name, any[name]);
    } else {
      for (const [name, value] of any as Iterable<[string, string]>) out += headerLine(p, name, value);
    }
  } else {
    throw new ResponseError('response headers must be a Headers, an object or an array of pairs');
  }
  p.headers = out;
  return p;
}

const bytesOf = (raw: SimpleBody): ResponseParts['body'] =>
  raw instanceof ArrayBuffer ? new Uint8Array(raw) : (raw ?? null);

/**
 * Takes the app's answer apart: any Response, light or real. Throws a TypeError for anything else
 * (or Response.error()), and a ResponseError for headers that must not be written. With `into`,
 * the parts are written there (a caller that uses them at once and keeps none: no object per response).
 */
export function responseParts(res: unknown, into?: ResponseParts): ResponseParts {
  if (!isResponse(res)) throw new TypeError(`the fetch handler returned ${describe(res)} instead of a Response`);
  const light = res as unknown as LightResponse;
  const real = light[kReal];
  const simple = light[kSimple] === true;
  if (simple && real === undefined) {
    const init = light[kInit];
    const raw = light[kBody];
    const p = parts(init?.status ?? 200, init?.statusText, init?.headers, into);
    p.body = bytesOf(raw);
    if (!p.hasType) {
      if (typeof raw === 'string') p.headers += 'content-type: text/plain;charset=UTF-8\r\n';
      // As the real Response does; a Blob's type is printable ASCII or '' (the Blob constructor sees to it).
      else if (raw instanceof Blob && raw.type !== '') p.headers += `content-type: ${raw.type}\r\n`;
    }
    return p;
  }
  const target = real ?? res;
  if (target.status === 0) throw new TypeError('the fetch handler returned Response.error()');
  const p = parts(target.status, target.statusText, target.headers, into);
  // A real Response made from a light one still has the original body, unless someone read it.
  if (simple && !target.bodyUsed && !(target.body?.locked ?? false)) p.body = bytesOf(light[kBody]);
  else if (target.bodyUsed) throw new ResponseError('the response body was already read');
  else p.body = target.body;
  return p;
}

/** What a value is, for error messages: 'null', 'undefined', 'a Map', 'string'... */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as object).constructor?.name;
  return name ? `a ${name}` : 'an object';
}
