// Hono's own Bun WebSocket helper, served by tsws: `tsws examples/websocket-hono.mjs`.
import { Hono } from 'hono';

globalThis.Bun ??= {}; // hono/bun reads a global `Bun` as it loads
const { upgradeWebSocket, websocket } = await import('hono/bun');

const app = new Hono();
app.get('/', (c) => c.text('open a WebSocket on /ws\n'));
app.get(
  '/ws',
  upgradeWebSocket(() => ({
    onOpen: (_event, ws) => ws.raw.subscribe('room'),
    // Every message goes to everyone in the room (Bun's publish on the socket Hono wraps).
    onMessage: (event, ws) => {
      ws.send(`you said: ${event.data}`);
      ws.raw.publish('room', `someone said: ${event.data}`);
    },
  })),
);

export default { fetch: app.fetch, websocket };
