// Answers given before the request body is read: an app that answers at once, and the core's own
// 204 to OPTIONS * and 501 to CONNECT. When the body cannot be skipped (chunked, or too long to
// drain) the connection closes after the answer; body bytes already in the same read must then be
// dropped quietly. (Found by bench/fuzz: the core threw on them and logged an internal error.)
import { describe, expect, it } from 'vitest';
import { memoryLogger, start } from '../helpers/core.js';
import { connect } from '../helpers/raw.js';

const CHUNKED_BODY = 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';

const cases: Array<[string, string, number]> = [
  [
    'an app answering at once, chunked body in the same read',
    `POST /early HTTP/1.1\r\nHost: a.example\r\n${CHUNKED_BODY}`,
    200,
  ],
  [
    'an app answering at once, 100 KB body in the same write',
    `POST /early HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(100_000)}`,
    200,
  ],
  ['OPTIONS * with a chunked body', `OPTIONS * HTTP/1.1\r\nHost: a.example\r\n${CHUNKED_BODY}`, 204],
  ['CONNECT with a chunked body', `CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n${CHUNKED_BODY}`, 501],
];

describe('an answer before the body, with the body already arriving', () => {
  for (const [name, bytes, status] of cases) {
    it(name, async () => {
      const { logger, lines } = memoryLogger();
      const { port } = await start(() => new Response('early'), { logger });
      const c = await connect(port);
      c.write(bytes);
      const res = await c.response();
      expect(res.status).toBe(status);
      expect(res.header('connection')).toBe('close');
      expect(await c.closed(3000)).toBe(true);
      expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    });
  }
});
