// The WebSocket bench's app (bench/ws-relay.mjs): Bun's interface; every socket joins "room",
// says which worker it is on, and a message starting "pub" is published to the room.
export default {
  fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('ws only\n', { status: 400 })),
  websocket: {
    open(ws) {
      ws.subscribe('room');
      ws.send(`worker ${process.pid}`);
    },
    message(ws, message) {
      if (String(message).startsWith('pub')) ws.publish('room', message);
      else ws.send(message);
    },
  },
};
