// The two WebSocket echo servers of bench/ws-echo.mjs, one per process: `node servers.mjs tsws PORT
// [CORE_DIR]` (the core, Bun's interface; CORE_DIR: another build of packages/core, for an A/B) or
// `node servers.mjs ws PORT` (ws on node:http, noServer-free), or `node servers.mjs floor PORT`: no
// WebSocket code at all, a node:http handshake then a fixed 34-byte reply per 38 bytes read (the
// bench client's frame): what one read, one write and the event loop cost a Node server per round
// trip, the floor under any server on Node.
import http from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [kind, port, coreDir] = process.argv.slice(2);
if (kind === 'tsws') {
  const core =
    coreDir === undefined ? new URL('../../packages/core/', import.meta.url) : pathToFileURL(`${resolve(coreDir)}/`);
  const { serve } = await import(new URL('dist/index.js', core).href);
  await serve((request, server) => (server.upgrade(request) ? undefined : new Response('ws only\n')), {
    bind: `127.0.0.1:${port}`,
    maxConnections: 0,
    websocket: { message: (ws, message) => ws.send(message) },
  });
} else if (kind === 'floor') {
  const reply = Buffer.concat([Buffer.from([0x81, 32]), Buffer.alloc(32, 'x')]);
  const server = http.createServer((_req, res) => res.end('ws only\n'));
  server.on('upgrade', (_req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    let got = 0;
    socket.on('data', (chunk) => {
      for (got += chunk.length; got >= 38; got -= 38) socket.write(reply);
    });
  });
  server.listen(Number(port), '127.0.0.1');
} else {
  const { WebSocketServer } = createRequire(import.meta.url)('ws');
  const server = http.createServer((_req, res) => res.end('ws only\n'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(Number(port), '127.0.0.1');
}
console.error('listening');
// Exit on INT, so `node --cpu-prof bench/ws/servers.mjs tsws PORT` writes its profile.
process.on('SIGINT', () => process.exit(0));
