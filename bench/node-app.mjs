// The Node `(req, res)` listener version of app.mjs: the same routes with the same bytes, in
// node:http's own idiom. node:http serves it directly; the `tsws -k node` servers load it as
// their app (`bench/node-app.mjs:default`), which is what the `node` worker class is for.
import { once } from 'node:events';
import { HELLO, jsonObject, STREAM_CHUNK, STREAM_CHUNKS } from './app.mjs';

async function route(req, res) {
  switch (req.url) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': HELLO.length });
      res.end(HELLO);
      return;
    case '/json': {
      const text = JSON.stringify(jsonObject);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case '/echo': {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    case '/stream':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < STREAM_CHUNKS; i++) if (!res.write(STREAM_CHUNK)) await once(res, 'drain');
      res.end();
      return;
    default:
      res.writeHead(404).end('not found');
  }
}

/** The request listener; a client that goes away mid-body ends its request, not the server. */
export default function handle(req, res) {
  route(req, res).catch(() => res.destroy());
}
