// crossws (h3, Nitro) with its Bun adapter, served by tsws: `tsws examples/websocket-crossws.mjs`.
globalThis.Bun ??= {}; // crossws/adapters/bun checks that a global `Bun` exists
const { default: crossws } = await import('crossws/adapters/bun');

const ws = crossws({
  hooks: {
    open: (peer) => peer.send('welcome'),
    message: (peer, message) => peer.send(`you said: ${message.text()}`),
  },
});

export default {
  fetch: (request, server) =>
    request.headers.get('upgrade') === 'websocket'
      ? ws.handleUpgrade(request, server)
      : new Response('open a WebSocket on any path\n'),
  websocket: ws.websocket,
};
