// Header injection from the app: CR, LF or NUL in a response header name or value, or in the
// status text, must never reach the wire. The client gets a plain 500, the log gets a line,
// and the connection stays usable.
import { describe, expect, it } from 'vitest';
import { memoryLogger, start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';

// Captured before any server installs the light Response over the global one.
const RealResponse = globalThis.Response;

const EVIL = 'Set-Cookie: evil=1';

/** What the app builds its response from: the light Response (the default) or the real one. */
type Make = (R: typeof Response) => Response;

interface Case {
  name: string;
  make: Make;
  /** The log message: the core refused the response, or the app threw while building it. */
  log: 'refused to write the response' | 'the app failed to answer';
}

const headerCases: Array<[string, Make]> = [
  ['object header value with CRLF', (R) => new R('x', { headers: { 'x-a': `a\r\n${EVIL}` } })],
  ['object header value with a bare LF', (R) => new R('x', { headers: { 'x-a': `a\n${EVIL}` } })],
  ['object header value with a bare CR', (R) => new R('x', { headers: { 'x-a': `a\r${EVIL}` } })],
  ['object header value with NUL', (R) => new R('x', { headers: { 'x-a': `a\0${EVIL}` } })],
  ['object header name with CRLF', (R) => new R('x', { headers: { [`x-a\r\n${EVIL}\r\nx-b`]: 'c' } })],
  ['object header name with a colon and space', (R) => new R('x', { headers: { 'x-a: b\r\nx-c': 'd' } })],
  ['object header name with NUL', (R) => new R('x', { headers: { 'x-a\0': 'b' } })],
  ['array pair value with CRLF', (R) => new R('x', { headers: [['x-a', `a\r\n${EVIL}`]] })],
  ['array pair name with LF', (R) => new R('x', { headers: [[`x-a\n${EVIL}`, 'b']] })],
  // Characters above U+00FF whose low byte is CR / LF: written as latin1 they would become CRLF.
  [
    'value with U+560D U+560A (CRLF in the low bytes)',
    (R) => new R('x', { headers: { 'x-a': `a\u560d\u560a${EVIL}` } }),
  ],
  [
    'Map of headers with CRLF',
    (R) => new R('x', { headers: new Map([['x-a', `a\r\n${EVIL}`]]) as unknown as ResponseInit['headers'] }),
  ],
  ['null body, 204, header with CRLF', (R) => new R(null, { status: 204, headers: { 'x-a': `a\r\n${EVIL}` } })],
  [
    'CRLF header on a streamed body',
    (R) => new R(new ReadableStream({ pull: (c) => c.close() }), { headers: { 'x-a': `a\r\n${EVIL}` } }),
  ],
];
// Cases where the light Response must throw in the app, as the real one does: the status text is
// checked by the constructor.
const throwingCases: Array<[string, Make]> = [
  ['statusText with CRLF', (R) => new R('x', { statusText: `OK\r\n${EVIL}` })],
  ['statusText with a bare LF', (R) => new R('x', { statusText: `OK\n${EVIL}` })],
  ['statusText with NUL', (R) => new R('x', { statusText: 'OK\0' })],
  ['statusText with U+560D U+560A', (R) => new R('x', { statusText: `OK\u560d\u560a${EVIL}` })],
];

const cases: Case[] = [];
for (const [name, make] of [...headerCases, ...throwingCases]) {
  // The real Response validates in its constructor, so the app itself throws.
  cases.push({ name: `${name} (real Response)`, make, log: 'the app failed to answer' });
}
for (const [name, make] of headerCases) {
  // The light Response keeps plain headers as given; the core checks them as it writes.
  cases.push({ name: `${name} (light Response)`, make, log: 'refused to write the response' });
}
for (const [name, make] of throwingCases) {
  cases.push({ name: `${name} (light Response)`, make, log: 'the app failed to answer' });
}

const DATE = /^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n/m;
const SERVER_ERROR_TAIL =
  'content-type: text/plain; charset=utf-8\r\nContent-Length: 22\r\n\r\nInternal Server Error\n';

describe('header injection from the app is refused, never written', () => {
  for (const { name, make, log } of cases) {
    it(name, async () => {
      const { logger, lines } = memoryLogger();
      const light = name.endsWith('(light Response)');
      const { port } = await start(
        (request) => {
          if (new URL(request.url).pathname === '/ok') return new Response('fine');
          return make(light ? Response : RealResponse);
        },
        { logger },
      );
      if (light) expect(globalThis.Response).not.toBe(RealResponse);

      const c = await connect(port);
      c.write(req('GET', '/bad'));
      const res = await c.response();
      // The exact bytes: a plain 500 and nothing of the app's headers or status text.
      expect(res.raw.toString('latin1').replace(DATE, '')).toBe(
        `HTTP/1.1 500 Internal Server Error\r\n${SERVER_ERROR_TAIL}`,
      );
      expect(res.raw.toString('latin1')).not.toContain('evil');

      // The connection still works and nothing else was written on it.
      c.write(req('GET', '/ok'));
      const next = await c.response();
      expect(next.status).toBe(200);
      expect(next.body.toString()).toBe('fine');
      expect(c.pending().length).toBe(0);
      c.close();

      const errors = lines.filter((l) => l.level === 'error');
      expect(errors.map((l) => l.msg)).toEqual([log]);
      expect(errors[0]!.obj).toMatchObject({ method: 'GET', target: '/bad' });
    });
  }

  it('keeps valid obs-text (latin1) header values byte for byte', async () => {
    const { logger, lines } = memoryLogger();
    const { port } = await start(() => new Response('x', { headers: { 'x-a': 'caf\u00e9' } }), { logger });
    const res = await (async () => {
      const c = await connect(port);
      c.write(req('GET', '/'));
      return c.response();
    })();
    expect(res.status).toBe(200);
    expect(res.raw.includes(Buffer.from('x-a: caf\xe9\r\n', 'latin1'))).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
