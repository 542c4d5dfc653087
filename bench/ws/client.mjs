// bench/ws-echo.mjs's client: `echo PORT N SECONDS` (N connections in echo loops; prints the
// round trips) or `idle PORT N` (N connections opened and held while it reads the RSS of the
// server, whose pid is SERVER_PID).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const WebSocket = createRequire(import.meta.url)('ws');
const [mode, port, n, seconds] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/`;
const open = () =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

if (mode === 'echo') {
  const sockets = await Promise.all(Array.from({ length: Number(n) }, open));
  const payload = 'x'.repeat(32);
  let total = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => {
      total++;
      if (running) ws.send(payload);
    });
  }
  const t0 = performance.now();
  for (const ws of sockets) ws.send(payload);
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  running = false;
  const ms = performance.now() - t0;
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({ total, perSecond: (total / ms) * 1000 }));
} else {
  const sockets = [];
  // In batches, so the server's accept queue keeps up.
  for (let i = 0; i < Number(n); i += 100)
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, Number(n) - i) }, open))));
  // Settle, then read the server's RSS while every socket is open.
  await new Promise((r) => setTimeout(r, 1000));
  const pid = Number(process.env.SERVER_PID);
  const rss = pid ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0) : 0;
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({ open: sockets.length, rssKiB: rss }));
}
