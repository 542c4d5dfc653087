// Request bodies (RFC 9112 §6): framed by Content-Length or chunked coding, streamed to the app
// with backpressure, read whole through the Body mixin, and never mistaken for the next request.
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';
import { sleep, until } from '../helpers/wait.mjs';

/** Echoes the body through the reader named by the path: /text, /json, /bytes, ... */
async function bodyEcho(request: Request): Promise<Response> {
  const how = new URL(request.url).pathname.slice(1);
  switch (how) {
    case 'text':
      return new Response(`text:${await request.text()}`);
    case 'json':
      return Response.json({ got: await request.json() });
    case 'bytes': {
      // Request#bytes() is missing from @types/node 20's Request, not from Node 20.
      const bytes = await (request as Request & { bytes(): Promise<Uint8Array> }).bytes();
      return new Response(`bytes:${bytes instanceof Uint8Array}:${Buffer.from(bytes).toString('hex')}`);
    }
    case 'arrayBuffer': {
      const buf = await request.arrayBuffer();
      return new Response(`arrayBuffer:${buf instanceof ArrayBuffer}:${Buffer.from(buf).toString('hex')}`);
    }
    case 'blob': {
      const blob = await request.blob();
      return new Response(`blob:${blob.type}:${await blob.text()}`);
    }
    case 'formData': {
      const form = await request.formData();
      const file = form.get('file');
      const fileText = file instanceof Blob ? `${(file as File).name}=${await file.text()}` : '';
      return new Response(`formData:${form.get('a')}:${form.getAll('b').join('+')}:${fileText}`);
    }
    case 'stream': {
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of request.body!) text += decoder.decode(chunk, { stream: true });
      return new Response(`stream:${text}`);
    }
    default:
      return new Response(`ignored ${request.method} ${how}`);
  }
}

describe('request bodies', () => {
  it('reads Content-Length bodies through text, json, bytes, arrayBuffer, blob and a stream', async () => {
    const { origin } = await start(bodyEcho);
    const post = async (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) =>
      (await fetch(`${origin}${path}`, { method: 'POST', body, headers })).text();
    expect(await post('/text', 'héllo wörld')).toBe('text:héllo wörld');
    expect(await post('/json', JSON.stringify({ a: [1, 2] }), { 'content-type': 'application/json' })).toBe(
      '{"got":{"a":[1,2]}}',
    );
    expect(await post('/bytes', new Uint8Array([0, 1, 254, 255]))).toBe('bytes:true:0001feff');
    expect(await post('/arrayBuffer', new Uint8Array([9, 8, 7]))).toBe('arrayBuffer:true:090807');
    expect(await post('/blob', 'blobby', { 'content-type': 'text/x-test' })).toBe('blob:text/x-test:blobby');
    expect(await post('/stream', 'x'.repeat(300_000))).toBe(`stream:${'x'.repeat(300_000)}`);
    // No body at all reads as empty.
    expect(await (await fetch(`${origin}/text`)).text()).toBe('text:');
  });

  it('reads urlencoded and multipart bodies through formData', async () => {
    const { origin } = await start(bodyEcho);
    const urlencoded = await fetch(`${origin}/formData`, { method: 'POST', body: new URLSearchParams('a=1&b=x&b=y') });
    expect(await urlencoded.text()).toBe('formData:1:x+y:');
    const form = new FormData();
    form.set('a', 'multi');
    form.append('b', 'p');
    form.append('b', 'q');
    form.set('file', new Blob(['file body']), 'f.txt');
    const multipart = await fetch(`${origin}/formData`, { method: 'POST', body: form });
    expect(await multipart.text()).toBe('formData:multi:p+q:f.txt=file body');
  });

  it('reads chunked bodies with chunk extensions and trailers, and the next request after them', async () => {
    const { port } = await start(bodyEcho);
    const c = await connect(port);
    c.write(
      'POST /text HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
        '5;name=value\r\nhello\r\n' +
        '1;bare;quoted="a b"\r\n \r\n' +
        '5\r\nworld\r\n' +
        '0;last=1\r\nX-Sum: 11\r\nX-Other: yes\r\n\r\n' +
        req('GET', '/after'),
    );
    expect((await c.response()).body.toString()).toBe('text:hello world');
    expect((await c.response()).body.toString()).toBe('ignored GET after');
  });

  it('streams a body with backpressure: an app that stops reading stops the server reading', async () => {
    const size = 24 * 1024 * 1024;
    let firstChunk = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { port } = await start(
      async (request) => {
        const reader = request.body!.getReader();
        const first = await reader.read();
        firstChunk = first.value!.byteLength;
        await gate;
        let total = firstChunk;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
        }
        return new Response(`got ${total}`);
      },
      { limitRequestBody: 0 },
    );
    const c = await connect(port);
    c.write(req('POST', '/upload', [`Content-Length: ${size}`]));
    const piece = Buffer.alloc(1024 * 1024, 'u');
    for (let i = 0; i < size / piece.length; i++) c.write(piece);
    await until('the first chunk', () => firstChunk > 0, 5000);
    await sleep(1000);
    // The kernel holds a few MB between the two sockets; the rest waits in the client.
    expect(c.socket.writableLength).toBeGreaterThan(size / 2);
    await sleep(300);
    expect(c.socket.writableLength).toBeGreaterThan(size / 2);

    release();
    const res = await c.response({ timeoutMs: 15_000 });
    expect(res.body.toString()).toBe(`got ${size}`);
    expect(c.socket.writableLength).toBe(0);
  });

  describe('Expect: 100-continue', () => {
    it('answers 100 Continue only when the app reads the body', async () => {
      const { port } = await start(async (request) => {
        await sleep(200); // the app looks at the headers first
        return new Response(`read:${await request.text()}`);
      });
      const c = await connect(port);
      c.write(req('POST', '/', ['Expect: 100-continue', 'Content-Length: 5']));
      const interim = await c.response({ interim: true });
      expect(interim.status).toBe(100);
      c.write('hello');
      const res = await c.response();
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('read:hello');
      // The connection stays usable.
      c.write(req('POST', '/', [], 'again'));
      expect((await c.response()).body.toString()).toBe('read:again');
    });

    it('sends 100 Continue to a pipelined request once the answers before it are out', async () => {
      const { port } = await start(
        async (request) => {
          if (new URL(request.url).pathname === '/slow') {
            await sleep(300);
            return new Response('slow');
          }
          return new Response(`read:${await request.text()}`);
        },
        { bodyTimeout: 5000 },
      );
      const c = await connect(port);
      c.write(req('GET', '/slow') + req('POST', '/upload', ['Expect: 100-continue', 'Content-Length: 5']));
      expect((await c.response()).body.toString()).toBe('slow');
      // The interim answer may not jump ahead of /slow's, but must follow it (RFC 9110 §10.1.1).
      const interim = await c.response({ interim: true, timeoutMs: 2000 });
      expect(interim.status).toBe(100);
      c.write('hello');
      expect((await c.response()).body.toString()).toBe('read:hello');
    });

    it('sends no 100 to an app that answers without reading, and closes the connection', async () => {
      const { port } = await start(() => new Response('no thanks', { status: 403 }));
      const c = await connect(port);
      c.write(req('POST', '/', ['Expect: 100-continue', 'Content-Length: 40']));
      const res = await c.response({ interim: true });
      expect(res.status).toBe(403);
      expect(res.header('connection')).toBe('close');
      // A client that sends the body anyway gets no answer to it: the server is closing.
      c.write(req('GET', '/smuggled', ['X: 123456']).slice(0, 40));
      expect(await c.closed()).toBe(true);
      expect(c.pending().length).toBe(0);
    });

    it('refuses any other expectation with 417', async () => {
      const { port } = await start(() => new Response('should not run'));
      const c = await connect(port);
      c.write(req('POST', '/', ['Expect: something-else', 'Content-Length: 2'], 'hi'));
      const res = await c.response();
      expect(res.status).toBe(417);
      expect(await c.closed()).toBe(true);
    });
  });

  describe('a body the app never reads', () => {
    // The body holds bytes that parse as a request: answering them would be request smuggling.
    const hidden = req('GET', '/smuggled');

    it('is drained when small, and the next request is answered', async () => {
      const { port } = await start(bodyEcho);
      const c = await connect(port);
      c.write(req('POST', '/unread', [], hidden) + req('GET', '/next'));
      expect((await c.response()).body.toString()).toBe('ignored POST unread');
      expect((await c.response()).body.toString()).toBe('ignored GET next');
      // Also when the body arrives after the answer went out.
      c.write(req('POST', '/later', [`Content-Length: ${hidden.length}`]));
      expect((await c.response()).body.toString()).toBe('ignored POST later');
      await sleep(50);
      c.write(hidden + req('GET', '/after-later'));
      expect((await c.response()).body.toString()).toBe('ignored GET after-later');
      expect(await c.closed(300)).toBe(false);
    });

    it('closes the connection when large', async () => {
      const { port } = await start(bodyEcho);
      const c = await connect(port);
      // Reading pauses at 64 KiB of unread body, so most of this is still unsent when the app answers.
      const big = hidden.repeat(Math.ceil((512 * 1024) / hidden.length));
      c.write(req('POST', '/unread', [], big) + req('GET', '/next'));
      const res = await c.response();
      expect(res.body.toString()).toBe('ignored POST unread');
      expect(res.header('connection')).toBe('close');
      expect(await c.closed()).toBe(true);
      expect(c.pending().length).toBe(0);
    });

    it('closes the connection when chunked and unfinished', async () => {
      const { port } = await start(bodyEcho);
      const c = await connect(port);
      c.write(
        'POST /unread HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `${hidden.length.toString(16)}\r\n${hidden}\r\n`,
      );
      const res = await c.response();
      expect(res.body.toString()).toBe('ignored POST unread');
      expect(res.header('connection')).toBe('close');
      c.write(`0\r\n\r\n${req('GET', '/next')}`);
      expect(await c.closed()).toBe(true);
      expect(c.pending().length).toBe(0);
    });
  });
});
