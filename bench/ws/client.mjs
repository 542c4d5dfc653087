// bench/ws-echo.mjs's client: `echo PORT N SECONDS [COUNT]` (N raw-socket connections in echo
// loops for SECONDS, or until COUNT round trips; prints the round trips) or `idle PORT N` (N connections opened and held while it reads the RSS of the
// server, whose pid is SERVER_PID).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';

const WebSocket = createRequire(import.meta.url)('ws');
const [mode, port, n, seconds, count] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/`;
const open = () =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

/** A WebSocket handshake on a raw socket; resolves once the 101 is in, with what followed it. */
const handshake = (port) =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (!head.subarray(0, 12).toString().endsWith('101')) reject(new Error(head.toString()));
      else resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });

if (mode === 'echo') {
  // Raw sockets with one pre-masked frame, not a ws client: the client must cost far less per
  // round trip than the server, or the bench measures the client (a ws client on its own core
  // caps both servers at the same rate).
  const payload = Buffer.alloc(32, 'x');
  const mask = [0x12, 0x34, 0x56, 0x78];
  const frame = Buffer.concat([
    Buffer.from([0x81, 0x80 | payload.length, ...mask]),
    payload.map((b, i) => b ^ mask[i % 4]),
  ]);
  const echoBytes = 2 + payload.length; // the server's frame: unmasked, 2-byte header
  const sockets = await Promise.all(Array.from({ length: Number(n) }, () => handshake(Number(port))));
  let total = 0;
  let running = true;
  for (const { socket, rest } of sockets) {
    let got = rest.length;
    socket.on('data', (chunk) => {
      got += chunk.length;
      while (got >= echoBytes) {
        got -= echoBytes;
        total++;
        if (running) socket.write(frame);
      }
    });
  }
  const t0 = performance.now();
  for (const { socket } of sockets) socket.write(frame);
  // Stop after SECONDS, or once COUNT round trips are done when COUNT is given.
  await new Promise((resolve) => {
    if (count === undefined) return setTimeout(resolve, Number(seconds) * 1000);
    const check = setInterval(() => {
      if (total < Number(count)) return;
      clearInterval(check);
      resolve();
    }, 5);
  });
  running = false;
  const ms = performance.now() - t0;
  for (const { socket } of sockets) socket.destroy();
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
