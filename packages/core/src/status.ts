// Status lines, built once per status, and the canned error responses the server itself sends.
import { STATUS_CODES } from 'node:http';

const statusLines: string[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`; a custom reason phrase is used only when it is printable text. */
export function statusLine(status: number, reason?: string): string {
  if (reason && reason !== STATUS_CODES[status] && /^[\t\x20-\x7e]*$/.test(reason)) {
    return `HTTP/1.1 ${status} ${reason}\r\n`;
  }
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1, §15.3.5, §15.4.5). */
export function isBodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

const errorTails: string[] = [];

/**
 * A complete error response from the server itself, always closing the connection: everything
 * but the Date line is built once per status (RFC 9110 §6.6.1 wants Date from origin servers).
 */
export function errorResponse(status: number, dateLine: string): string {
  const tail = (errorTails[status] ??= (() => {
    const text = `${STATUS_CODES[status] ?? 'Error'}\n`;
    return `Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
  })());
  return statusLine(status) + dateLine + tail;
}

export const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';
