// How a response is delimited on the wire (RFC 9112 §6): a pure decision from the request's method
// and version and the response's status and body.
import type { ResponseParts } from './response.js';

// What happens to the body.
export const NO_BODY = 0; // nothing follows the head
export const FIXED = 1; // a string or bytes, after its Content-Length
export const CHUNKED = 2; // a stream, chunked
export const UNTIL_CLOSE = 3; // a stream on HTTP/1.0, which has no chunks: the body ends with the connection
export const DROPPED = 4; // a stream that must not be sent (HEAD, 204, 304): cancelled
export const BLOB = 5; // a Blob, after its Content-Length: its bytes are streamed (a file's, from disk)

export interface Framing {
  body: number;
  /** The framing field: `Content-Length: n\r\n`, `Transfer-Encoding: chunked\r\n`, or ''. */
  field: string;
  /** A fixed body's or a Blob's bytes. */
  length: number;
}

/** `Content-Length: n\r\n`, made once for the small lengths that recur (see responseHead()'s cache). */
const lengthFields: Array<string | undefined> = new Array(1024).fill(undefined);
function lengthField(length: number): string {
  if (length >= lengthFields.length) return `Content-Length: ${length}\r\n`;
  return (lengthFields[length] ??= `Content-Length: ${length}\r\n`);
}

/**
 * How the response `p` to a request (HEAD or not, HTTP/1.0 or 1.1) is framed, decided into `f`:
 * the caller's own, reused, so that nothing is allocated per response.
 */
export function framing(head: boolean, http10: boolean, p: ResponseParts, f: Framing): Framing {
  const { status, body } = p;
  // Statuses whose responses never carry a body (RFC 9110 §6.4.1, §15.3.5, §15.4.5), and HEAD's.
  const bodyless = head || status === 204 || status === 304 || (status >= 100 && status < 200);
  f.length = 0;
  if (body === null) {
    f.body = NO_BODY;
    // A HEAD answer may give the length a GET would have (RFC 9110 §9.3.2), when it is a number.
    const declared = p.contentLength;
    f.field = !bodyless
      ? 'Content-Length: 0\r\n'
      : head && declared !== undefined && /^\d+$/.test(declared)
        ? `Content-Length: ${declared}\r\n`
        : '';
  } else if (typeof body === 'string' || body instanceof Uint8Array || body instanceof Blob) {
    f.length = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Blob ? body.size : body.byteLength;
    f.body = bodyless ? NO_BODY : body instanceof Blob && f.length !== 0 ? BLOB : FIXED;
    // No Content-Length on 204 and 304 (RFC 9110 §8.6); on HEAD, the length a GET would carry.
    f.field = status === 204 || status === 304 ? '' : lengthField(f.length);
  } else {
    f.body = bodyless ? DROPPED : http10 ? UNTIL_CLOSE : CHUNKED;
    f.field = f.body === CHUNKED ? 'Transfer-Encoding: chunked\r\n' : '';
  }
  return f;
}
