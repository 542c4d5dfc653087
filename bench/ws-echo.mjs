#!/usr/bin/env node
// WebSocket echo and idle memory: tsws (the core, Bun's interface, on ws's protocol code) against
// ws on node:http, in the same run. The server is pinned to core 0, the client (this script's
// child, a Node ws client) to core 1. Echo: 50 connections, each sending a 32-byte text message
// and waiting for its echo, for --duration seconds; round trips per second, and the server's CPU
// time per round trip from /proc. Idle: --idle connections opened and left open; the server's RSS
// growth per socket.
//
//   node bench/ws-echo.mjs [--duration 5] [--rounds 3] [--idle 5000]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, processRssKiB, startPinned, stop, waitForPort } from './proc.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const duration = arg('duration', 5);
const rounds = arg('rounds', 3);
const idle = arg('idle', 5000);
const SERVERS = fileURLToPath(new URL('./ws/servers.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./ws/client.mjs', import.meta.url));

function client(mode, port, n, serverPid) {
  const argv = ['-c', '1', process.execPath, CLIENT, mode, String(port), String(n), String(duration)];
  const out = execFileSync('taskset', argv, {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, SERVER_PID: String(serverPid) },
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const results = { tsws: { echo: [], cpu: [], idle: [] }, ws: { echo: [], cpu: [], idle: [] } };
for (let r = 0; r < rounds; r++) {
  for (const kind of r % 2 ? ['ws', 'tsws'] : ['tsws', 'ws']) {
    const port = await freePort();
    const proc = startPinned([process.execPath, SERVERS, kind, String(port)], 0);
    await waitForPort(proc, port);
    const cpu0 = cpuMicros(proc.pid);
    const echo = client('echo', port, 50, proc.pid);
    results[kind].echo.push(echo.perSecond);
    results[kind].cpu.push((cpuMicros(proc.pid) - cpu0) / echo.total);
    const rss0 = processRssKiB(proc.pid);
    const held = client('idle', port, idle, proc.pid);
    results[kind].idle.push((((held.rssKiB ?? 0) - rss0) * 1024) / idle);
    await stop(proc);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const kind of ['tsws', 'ws']) {
  const k = results[kind];
  console.log(
    `${kind}: ${Math.round(median(k.echo))} echo round trips/s (rounds ${k.echo.map(Math.round).join(' ')}), ` +
      `${median(k.cpu).toFixed(1)} us server CPU each, ${Math.round(median(k.idle))} bytes RSS per idle socket (rounds ${k.idle.map(Math.round).join(' ')})`,
  );
}
console.log(`tsws/ws echo: ${(median(results.tsws.echo) / median(results.ws.echo)).toFixed(2)}x`);
