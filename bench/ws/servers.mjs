// The two WebSocket echo servers of bench/ws-echo.mjs, one per process: `node servers.mjs tsws PORT`
// (the core, Bun's interface) or `node servers.mjs ws PORT` (ws on node:http, noServer-free).
import http from 'node:http';
import { createRequire } from 'node:module';

const [kind, port] = process.argv.slice(2);
if (kind === 'tsws') {
  const { serve } = await import('../../packages/core/dist/index.js');
  await serve((request, server) => (server.upgrade(request) ? undefined : new Response('ws only\n')), {
    bind: `127.0.0.1:${port}`,
    maxConnections: 0,
    websocket: { message: (ws, message) => ws.send(message) },
  });
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
