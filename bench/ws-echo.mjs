#!/usr/bin/env node
// WebSocket echo and idle memory: tsws (the core, Bun's interface, on ws's protocol code) against
// ws on node:http, in the same run. The server is pinned to core 0, the client (this script's
// child, a Node ws client) to core 1. Echo: 50 connections, each sending a 32-byte text message
// and waiting for its echo, for --duration seconds; round trips per second, and the server's CPU
// time per round trip from /proc. Idle: --idle connections opened and left open; the server's RSS
// growth per socket. --before DIR adds a third server, tsws on another build of packages/core
// (an A/B of a change, e.g. /tmp/base36/packages/core); --floor adds a server with no WebSocket
// code (see ws/servers.mjs), the floor a Node server cannot go under.
//
//   node bench/ws-echo.mjs [--duration 5] [--rounds 3] [--idle 5000] [--before DIR] [--floor]
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
const before = process.argv[process.argv.indexOf('--before') + 1];
const kinds = ['tsws', ...(process.argv.includes('--before') ? ['before'] : []), 'ws'];
if (process.argv.includes('--floor')) kinds.push('floor');
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

const results = Object.fromEntries(kinds.map((kind) => [kind, { echo: [], cpu: [], idle: [] }]));
for (let r = 0; r < rounds; r++) {
  for (const kind of r % 2 ? [...kinds].reverse() : kinds) {
    const port = await freePort();
    const argv = kind === 'before' ? ['tsws', String(port), before] : [kind, String(port)];
    const proc = startPinned([process.execPath, SERVERS, ...argv], 0);
    await waitForPort(proc, port);
    const cpu0 = cpuMicros(proc.pid);
    const echo = client('echo', port, 50, proc.pid);
    results[kind].echo.push(echo.perSecond);
    results[kind].cpu.push((cpuMicros(proc.pid) - cpu0) / echo.total);
    const rss0 = processRssKiB(proc.pid);
    // The floor answers no real handshake; --idle 0 skips the idle part.
    if (kind !== 'floor' && idle > 0) {
      const held = client('idle', port, idle, proc.pid);
      results[kind].idle.push((((held.rssKiB ?? 0) - rss0) * 1024) / idle);
    }
    await stop(proc);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
for (const kind of kinds) {
  const k = results[kind];
  console.log(
    `${kind}: ${Math.round(median(k.echo))} echo round trips/s (rounds ${k.echo.map(Math.round).join(' ')}), ` +
      `${median(k.cpu).toFixed(1)} us server CPU each, ${Math.round(median(k.idle))} bytes RSS per idle socket (rounds ${k.idle.map(Math.round).join(' ')})`,
  );
}
for (const kind of kinds.slice(1))
  console.log(
    `tsws/${kind} echo: ${(median(results.tsws.echo) / median(results[kind].echo)).toFixed(2)}x, ` +
      `server CPU per round trip: ${(median(results.tsws.cpu) / median(results[kind].cpu)).toFixed(2)}x`,
  );
