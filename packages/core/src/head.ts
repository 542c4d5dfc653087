// A request head: its fields as llhttp reads them (within the header limits), and the rules it must
// pass before the app sees it, a pure function of the parsed head (test/hostile/head-rules.test.ts
// checks the corpus against it without sockets).
import net, { type Socket } from 'node:net';
import { type HeadLine, UNFRAMED } from './llhttp.js';
import type { ResolvedOptions } from './options.js';
import { forwardedProto } from './proxy.js';

/** What the rules look at: what llhttp made of the line and framing, and the fields that matter. */
export interface ParsedHead extends HeadLine {
  target: string;
  /** How many Host fields, and the last one's value. */
  hosts: number;
  host: string;
  expect: string;
  /** Transfer-Encoding values joined with commas; null when the request has none. */
  te: string | null;
}

// judgeHead()'s verdicts when a request may go on; anything else is the status to refuse it with.
/** A path: request.url is the origin (from Host) and the target. */
export const ORIGIN_FORM = 0;
/** An absolute http(s) URL: it is request.url, whatever Host says (RFC 9112 §3.2.2). */
export const ABSOLUTE_FORM = 1;
/** `OPTIONS *` asks about the server, not a resource: a 204 from the server, nothing to add. */
export const ASTERISK_FORM = 2;
/** CONNECT asks for a tunnel (RFC 9110 §9.3.6), whatever its target: a 501 from the server. */
export const CONNECT_FORM = 3;

/** An absolute-form target and its authority. */
const ABSOLUTE = /^https?:\/\/([^/?#]*)/i;

/** The rules of RFC 9110 and 9112 for a request head: its form (above) if it may go on, else a status. */
export function judgeHead(h: ParsedHead, limitRequestBody: number): number {
  // llhttp also takes HTTP/0.9 (and a bare `GET /`) and HTTP/2.0 request lines; this server
  // speaks HTTP/1.x only (RFC 9110 §6.2, §15.6.6), and 2.0 would pass for 1.0 below.
  if (h.major !== 1) return 505;
  const http10 = h.minor === 0;
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, and it must be a valid authority. An empty one
  // is valid but names no host, which an http(s) URL must have (RFC 9110 §4.2.1, RFC 9112 §3.3):
  // it does for an absolute-form target only, which names its own.
  if (h.hosts > 1 || (h.hosts === 0 && !http10) || (h.host !== '' && !validHost(h.host))) return 400;
  const length = h.bodyLength;
  if (length === UNFRAMED) return 400;
  // RFC 9112 §6.3: any Transfer-Encoding without chunked last is a 400; llhttp misses an empty
  // one (and then frames by a Content-Length after it). §6.1: codings before chunked would
  // reach the app still applied, as we decode none of them: 501. And HTTP/1.0 has no
  // Transfer-Encoding: its framing is faulty (§6.1), a 400 and a close.
  if (h.te !== null && (http10 || length !== -1 || !onlyChunked(h.te))) return length === -1 && !http10 ? 501 : 400;
  if (limitRequestBody && length > limitRequestBody) return 413;
  if (h.expect !== '' && h.expect.toLowerCase() !== '100-continue') return 417;
  if (h.method === 'CONNECT') return CONNECT_FORM;
  const target = h.target;
  const named = h.hosts === 0 || h.host !== '';
  if (target.charCodeAt(0) === 47 /* / */) return named ? ORIGIN_FORM : 400;
  // RFC 9112 §3.2.2: the target's authority wins over Host, so it must pass as a Host would
  // (no userinfo either, RFC 9110 §4.2.4): the app gets it as request.url.
  const absolute = ABSOLUTE.exec(target);
  if (absolute !== null) return validHost(absolute[1]!) ? ABSOLUTE_FORM : 400;
  return target === '*' && h.method === 'OPTIONS' && named ? ASTERISK_FORM : 400;
}

/**
 * The client waits for `100 Continue` before it sends the body (judgeHead() refused any other
 * expectation). Never in HTTP/1.0: it has no 1xx responses (RFC 9110 §15.2), so the expectation
 * is ignored (§10.1.1).
 */
export function expectsContinue(h: ParsedHead): boolean {
  return h.expect !== '' && h.minor !== 0;
}

/** A Transfer-Encoding list naming chunked and nothing else (empty list elements allowed, RFC 9110 §5.6.1). */
function onlyChunked(te: string): boolean {
  for (const coding of te.split(',')) {
    const c = coding.trim();
    if (c !== '' && c.toLowerCase() !== 'chunked') return false;
  }
  return true;
}

// A Host (RFC 9110 §7.2): a reg-name (RFC 3986 §3.2.2: unreserved, sub-delims and percent-encoded
// octets; no empty label here), an IPv4 address or a bracketed IPv6 address, and a port up to 65535.
const LABEL = "(?:[\\w~!$&'()*+,;=-]|%[\\dA-Fa-f]{2})+";
const NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);
const HOST = new RegExp(`^(?:(${LABEL}(?:\\.${LABEL})*\\.?)|\\[([\\dA-Fa-f:.]+)\\])(?::(\\d{1,5}))?$`);
const NUMERIC_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;
/** The last host that passed: clients repeat theirs on every request. */
let lastValid = '';

/** A valid Host, which `new URL()` reads as the host it names: request.url must stay safe to parse. */
export function validHost(host: string): boolean {
  if (host === lastValid) return true;
  const m = HOST.exec(host);
  if (m === null || (m[3] !== undefined && Number(m[3]) > 65535)) return false;
  let name = m[1];
  if (name === undefined) {
    if (!net.isIPv6(m[2]!)) return false;
  } else {
    // Percent-encoded octets stand for what they encode (RFC 3986 §6.2.2.2), which must spell a name too.
    if (name.includes('%')) {
      name = name.replace(/%(..)/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      if (name.includes('%') || !NAME.test(name)) return false;
    }
    // A name ending in a number is read as an IPv4 address: it must be one. And the URL parser
    // may refuse names the grammar allows (Node 20's, an xn-- label that is not punycode).
    if (NUMERIC_LABEL.test(name) && !net.isIPv4(name.replace(/\.$/, ''))) return false;
    if (!URL.canParse(`http://${host}/`)) return false;
  }
  lastValid = host;
  return true;
}

const NO_HEADERS: string[] = [];

type HeadLimits = Pick<ResolvedOptions, 'limitRequestLine' | 'limitRequestFields' | 'limitRequestFieldSize'>;
/** Readers no message is using, for the next to take: an idle connection holds none (see take()). */
const spare: HeadReader[] = [];
/** A burst of heads split across reads may use many readers at once; past this many, they go to the GC. */
const SPARE_MAX = 64;

/** Collects a message's head fields (and its trailer fields, checked and dropped) within the header limits. */
export class HeadReader implements ParsedHead {
  method = '';
  major = 0;
  minor = 0;
  bodyLength = 0;
  target = '';
  /** Raw header lines, flat: name, value, name, value. */
  raw: string[] = NO_HEADERS;
  hosts = 0;
  host = '';
  expect = '';
  xff = '';
  xfp = '';
  xfh = '';
  te: string | null = null;
  /** Between a message's first byte and the end of its head. */
  inHeaders = false;
  /** Trailer fields so far, and their bytes (not body bytes: see Connection.onData()). */
  private trailers = 0;
  trailerBytes = 0;
  private field = '';
  private value = '';
  private inValue = false;
  /** The last origin built from a plain Host, and that Host and scheme (readers serve every connection). */
  private originHost = '';
  private originScheme = '';
  private originCache = '';

  constructor(private limits: HeadLimits) {}

  /**
   * A reader for one message, from the spares if there is one: a connection holds a reader only
   * from a message's first byte to its end, so idle keep-alive connections hold none.
   */
  static take(limits: HeadLimits): HeadReader {
    const reader = spare.pop();
    if (reader === undefined) return new HeadReader(limits);
    reader.limits = limits;
    return reader;
  }

  /** The message is done with this reader (its fields belong to the exchange now). */
  give(): void {
    this.clear();
    if (spare.length < SPARE_MAX) spare.push(this);
  }

  begin(): void {
    this.clear();
    this.inHeaders = true;
    this.trailers = this.trailerBytes = 0;
  }

  /** Forgets the fields: the exchange owns them now, and an idle connection keeps no request's strings. */
  clear(): void {
    this.target = this.field = this.value = this.host = this.expect = this.xff = this.xfp = this.xfh = '';
    this.raw = NO_HEADERS;
    this.te = null;
    this.hosts = 0;
    this.inValue = false;
  }

  /** Part of the target; a status if the request line (method SP target SP HTTP/1.x) is over its limit. */
  addTarget(part: string, method: string): number {
    this.target = this.target ? this.target + part : part;
    const limit = this.limits.limitRequestLine;
    return limit && this.target.length + method.length + 10 > limit ? 414 : 0;
  }

  /** Part of a field name; a status if a field is over a limit. */
  addName(part: string): number {
    if (this.inValue) {
      const status = this.endField();
      if (status) return status;
    }
    this.field = this.field ? this.field + part : part;
    return this.checkSize();
  }

  /** Part of a field value; a status if the field is over its limit. */
  addValue(part: string): number {
    if (this.inValue) this.value += part;
    else {
      this.value = part;
      this.inValue = true;
    }
    return this.checkSize();
  }

  /** The head (or the trailers) ended: the last field is complete. A status if it is over a limit. */
  end(): number {
    return this.inValue || this.field ? this.endField() : 0;
  }

  /**
   * `scheme://authority` of an origin-form URL: from Host, else (HTTP/1.0 without one) the address
   * the request came in on; a `forwarded` request (from a trusted proxy) may name its own.
   */
  origin(scheme: string, forwarded: boolean, socket: Socket): string {
    const plain = this.xfp === '' && this.xfh === '';
    if (plain && this.host === this.originHost && scheme === this.originScheme && this.host !== '')
      return this.originCache;
    let authority = this.host;
    if (!plain && forwarded) {
      scheme = forwardedProto(this.xfp) ?? scheme;
      const fh = this.xfh.split(',')[0]!.trim();
      if (fh && validHost(fh)) authority = fh;
    }
    if (authority === '') {
      const local = socket.localAddress ?? 'localhost';
      authority = local.includes(':') ? `[${local}]:${socket.localPort}` : `${local}:${socket.localPort}`;
    }
    const origin = `${scheme}://${authority}`;
    if (plain) {
      this.originHost = this.host;
      this.originScheme = scheme;
      this.originCache = origin;
    }
    return origin;
  }

  private checkSize(): number {
    const limit = this.limits.limitRequestFieldSize;
    return limit && this.field.length + this.value.length > limit ? 431 : 0;
  }

  private endField(): number {
    const name = this.field;
    const value = this.value;
    this.field = this.value = '';
    this.inValue = false;
    const limit = this.limits.limitRequestFields;
    if (!this.inHeaders) {
      // Trailers are checked against the same limits, then dropped.
      this.trailerBytes += name.length + value.length;
      return limit && ++this.trailers > limit ? 431 : 0;
    }
    if (limit && this.raw.length >= limit * 2) return 431;
    // The first field makes an array of exactly two: `[]` then push() would give it room for 17.
    if (this.raw === NO_HEADERS) this.raw = [name, value];
    else this.raw.push(name, value);
    // Compare lengths before case-folding: most names are none of these.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          this.hosts++;
          this.host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') this.expect = value;
        break;
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') this.xff = this.xff ? `${this.xff},${value}` : value;
        break;
      case 16:
        if (name.toLowerCase() === 'x-forwarded-host') this.xfh ||= value;
        break;
      case 17: {
        const lower = name.toLowerCase();
        if (lower === 'transfer-encoding') {
          // An empty field line is refused wherever it stands: a proxy that keeps only the last
          // line would see no Transfer-Encoding where this server sees chunked.
          if (value.trim() === '') return 400;
          this.te = this.te === null ? value : `${this.te},${value}`;
        } else if (lower === 'x-forwarded-proto') this.xfp ||= value;
        break;
      }
    }
    return 0;
  }
}
