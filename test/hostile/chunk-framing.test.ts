// Chunked framing that carries no body: chunk extensions and zero-padded chunk sizes. llhttp
// reads them without bound and without calling back, so a client could stream megabytes of
// them. RFC 9112 §7.1.1 asks servers to limit extensions like other parts of a message; tsws
// gives each request a framing budget of limitRequestFieldSize plus 16 bytes per body byte.
// (Found by bench/fuzz; node:http answers these with 413 since CVE-2024-22019.)
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';

const HEAD = 'POST /c HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n';

async function echoServer() {
  return start(async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength} bytes`), {
    limitRequestFieldSize: 8190,
  });
}

/** Streams `filler` in 16 KiB writes until the server answers or `total` bytes are out. */
async function flood(port: number, prefix: string, filler: number, total: number) {
  const c = await connect(port);
  c.write(prefix);
  const piece = Buffer.alloc(16 * 1024, filler);
  let sent = 0;
  while (sent < total && !c.socket.destroyed && c.pending().length === 0) {
    c.write(piece);
    sent += piece.length;
    await sleep(2);
  }
  return { c, sent };
}

describe('chunk lines without body progress are bounded', () => {
  it('refuses an endless chunk extension with 413 and closes', async () => {
    const { port } = await echoServer();
    const { c, sent } = await flood(port, `${HEAD}5;ext=`, 0x65, 4 * 1024 * 1024);
    const res = await c.response();
    expect(res.status).toBe(413);
    expect(sent, 'refused long before 4 MiB of extension').toBeLessThan(1024 * 1024);
    expect(await c.closed(3000)).toBe(true);
  });

  it('refuses an endless run of zeros in a chunk size with 413', async () => {
    const { port } = await echoServer();
    const { c, sent } = await flood(port, `${HEAD}5\r\nhello\r\n`, 0x30, 4 * 1024 * 1024);
    const res = await c.response();
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('refuses a long extension after body bytes, sent byte by byte too', async () => {
    const { port } = await start(
      async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength} bytes`),
      { limitRequestFieldSize: 64 },
    );
    const c = await connect(port);
    await c.trickle(`${HEAD}3\r\nabc\r\n2;${'e'.repeat(200)}\r\nde\r\n0\r\n\r\n`);
    const res = await c.response();
    expect(res.status).toBe(413);
  });

  it('refuses many chunks that each carry a long extension: the budget is per request', async () => {
    const { port } = await echoServer();
    const c = await connect(port);
    c.write(HEAD);
    const line = `1;${'e'.repeat(4000)}\r\nx\r\n`;
    let sent = 0;
    while (sent < 4 * 1024 * 1024 && !c.socket.destroyed && c.pending().length === 0) {
      c.write(line);
      sent += line.length;
      await sleep(1);
    }
    const res = await c.response();
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('still takes ordinary extensions, many small chunks and big trailers', async () => {
    const { port } = await echoServer();
    const c = await connect(port);
    const chunks = Array.from({ length: 2000 }, () => '1;a=b\r\nx\r\n').join('');
    const trailers = Array.from({ length: 40 }, (_, i) => `T-${i}: ${'t'.repeat(4000)}\r\n`).join('');
    c.write(`${HEAD}${'0'.repeat(100)}5;${'e'.repeat(4000)}\r\nhello\r\n${chunks}0\r\n${trailers}\r\n`);
    const res = await c.response();
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got 2005 bytes');
  });
});
