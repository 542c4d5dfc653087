// Response heads: status lines (built once per status), the head of an app's response, and the
// canned error responses the server itself sends.
import { clock } from './clock.js';
import type { ResponseParts } from './response.js';

// Reason phrases (RFC 9110 §15 and the IANA registry); our own table, so the core need not load node:http.
const STATUS_CODES: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

const statusLines: string[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`; a custom reason phrase is used only when it is printable text. */
export function statusLine(status: number, reason?: string): string {
  if (reason && reason !== STATUS_CODES[status] && /^[\t\x20-\x7e]*$/.test(reason)) {
    return `HTTP/1.1 ${status} ${reason}\r\n`;
  }
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

/**
 * The last head built and what it was built from: most responses of a server are alike (within
 * the second of their Date), and the same head is then one string, not five pieces joined again.
 */
let lastHead = {
  status: 0,
  statusText: '' as string | undefined,
  headers: '',
  framing: '',
  tail: '',
  date: '',
  head: '',
};

/** A response head: status line, Date (unless the app gave one), the app's fields, framing and Connection. */
export function responseHead(p: ResponseParts, framing: string, close: boolean, http10: boolean): string {
  const date = p.hasDate ? '' : clock.dateLine;
  const tail = close ? 'Connection: close\r\n\r\n' : http10 ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
  const last = lastHead;
  if (
    p.status === last.status &&
    p.statusText === last.statusText &&
    p.headers === last.headers &&
    framing === last.framing &&
    tail === last.tail &&
    date === last.date
  )
    return last.head;
  const head = statusLine(p.status, p.statusText) + date + p.headers + framing + tail;
  lastHead = { status: p.status, statusText: p.statusText, headers: p.headers, framing, tail, date, head };
  return head;
}

const errorTails: string[] = [];

/**
 * A complete error response from the server itself, always closing the connection: everything
 * but the Date line is built once per status (RFC 9110 §6.6.1 wants Date from origin servers).
 */
export function errorResponse(status: number, dateLine: string): string {
  const tail = (errorTails[status] ??= (() => {
    const text = `${STATUS_CODES[status] ?? 'Error'}\n`;
    const type = 'Content-Type: text/plain; charset=utf-8\r\n';
    return `Connection: close\r\n${type}Content-Length: ${text.length}\r\n\r\n${text}`;
  })());
  return statusLine(status) + dateLine + tail;
}

export const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';
