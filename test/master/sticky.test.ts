// --sticky: the master accepts and hands each connection to the worker its client address picks.
// Clients on other loopback addresses (127.0.0.x) stand in for other machines.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeCerts } from '../helpers/certs.js';
import { runToExit } from '../helpers/proc.js';
import { APPS } from '../worker/serve.js';
import { childPids, hup, load, sleep, startMaster, tempDir, until } from './helpers.js';

const PID_APP = (version: string) => `export default { fetch: () => new Response('${version} ' + process.pid) };\n`;

/** One GET over a new connection from `localAddress` (https:// trusting `ca`); resolves with the body. */
function getFrom(origin: string, localAddress: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = origin.startsWith('https:') ? https : http;
    const req = client.get(origin, { agent: false, localAddress, timeout: 10_000, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** The worker pid each client address was served by, `rounds` fresh connections each; throws if one moved. */
async function pidsByAddress(
  origin: string,
  addresses: string[],
  rounds: number,
  ca?: string,
): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (const address of addresses) {
      const pid = (await getFrom(origin, address, ca)).split(' ')[1]!;
      const before = seen.get(address);
      if (before !== undefined && before !== pid) throw new Error(`${address} moved from worker ${before} to ${pid}`);
      seen.set(address, pid);
    }
  }
  return seen;
}

const ADDRESSES = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 1}`);

function sticky(dir: string, args: string[] = []) {
  writeFileSync(join(dir, 'app.mjs'), PID_APP('v1'));
  return startMaster('app.mjs', ['-w', '2', '--sticky', '--graceful-timeout', '5', ...args], { cwd: dir });
}

describe('tsws-master --sticky', () => {
  it('serves each client address from one worker, over new connections, and spreads addresses over both', async () => {
    const m = await sticky(tempDir());
    const seen = await pidsByAddress(m.origin, ADDRESSES, 4);
    expect(new Set(seen.values())).toEqual(new Set((await childPids(m.pid)).map(String)));
    expect(m.logs().find((l) => l.msg === 'starting')?.scheduling).toBe('sticky');
  });

  it.each(['tsws', 'node'])('TLS, worker class %s: the worker does the handshake, each client stays', async (k) => {
    const certs = makeCerts();
    onTestFinished(() => certs.remove());
    const tls = ['--certfile', certs.serverCert, '--keyfile', certs.serverKey];
    const m = await sticky(tempDir(), ['-k', k, ...tls]);
    const seen = await pidsByAddress(`https://127.0.0.1:${m.port}/`, ADDRESSES.slice(0, 6), 2, certs.pem.caCert);
    expect(new Set(seen.values())).toEqual(new Set((await childPids(m.pid)).map(String)));
  });

  it('socket.io long-polling only: many round trips on one session, each poll a new connection', async () => {
    const m = await startMaster('socketio.js', ['-w', '2', '--sticky'], { cwd: APPS });
    // Each polling request is its own connection (no agent): without --sticky about half reach
    // the worker that does not know the session, which answers 400 and the session ends.
    const socket = io(m.origin, { transports: ['polling'], reconnection: false });
    onTestFinished(() => {
      socket.close();
    });
    let lost = '';
    const ended = new Promise<never>((_, reject) => {
      socket.on('disconnect', (why) => reject(new Error((lost ||= `disconnected: ${why}`))));
      socket.on('connect_error', (err) => reject(new Error((lost ||= `connect error: ${err.message}`))));
    });
    ended.catch(() => {});
    const welcome = await Promise.race([new Promise<number>((resolve) => socket.once('welcome', resolve)), ended]);
    expect(welcome).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) {
      expect(await Promise.race([socket.timeout(5000).emitWithAck('echo', `hi ${i}`), ended])).toBe(`echo: hi ${i}`);
    }
    expect(lost).toBe('');
    expect(socket.io.engine.transport.name).toBe('polling');
  });

  it('keeps serving through a HUP reload with no failed request; then sticks to the new workers', async () => {
    const dir = tempDir();
    const m = await sticky(dir);
    const before = await childPids(m.pid);
    let stopLoad!: () => void;
    const running = load(`${m.origin}/`, new Promise<void>((r) => (stopLoad = r)), { maxMs: 25_000 });
    await sleep(300);
    writeFileSync(join(dir, 'app.mjs'), PID_APP('v2'));
    expect((await hup(m)).msg).toBe('reload done');
    await sleep(300);
    stopLoad();
    const result = await running;
    expect(result.failures).toEqual([]);
    expect(result.bodies.get('v1')).toBeGreaterThan(0);
    expect(result.bodies.get('v2')).toBeGreaterThan(0);
    const seen = await pidsByAddress(m.origin, ADDRESSES, 2);
    expect([...seen.values()].filter((pid) => before.includes(Number(pid)))).toEqual([]);
    expect(new Set(seen.values()).size).toBe(2);
  });

  it('a dead worker’s clients go to the live one, and back to its replacement', async () => {
    const m = await sticky(tempDir());
    const seen = await pidsByAddress(m.origin, ADDRESSES, 1);
    const [victim, survivor] = [...new Set(seen.values())];
    const moved = ADDRESSES.filter((a) => seen.get(a) === victim);
    const stayed = ADDRESSES.filter((a) => seen.get(a) === survivor);
    const ready = m.logs().filter((l) => l.msg === 'worker ready').length;
    process.kill(Number(victim), 'SIGKILL');
    await until('the worker to be gone', async () => !(await childPids(m.pid)).includes(Number(victim)));
    // Meanwhile (the replacement may be booting, or ready): every request is served.
    for (const a of moved) expect((await getFrom(m.origin, a)).split(' ')[1]).not.toBe(victim);
    await until('its replacement', () => m.logs().filter((l) => l.msg === 'worker ready').length > ready);
    const after = await pidsByAddress(m.origin, ADDRESSES, 2);
    const replacement = (await childPids(m.pid)).map(String).find((pid) => pid !== survivor)!;
    for (const a of moved) expect(after.get(a)).toBe(replacement);
    for (const a of stayed) expect(after.get(a)).toBe(survivor);
  });

  it('TTIN and TTOU move only the clients of the worker that comes or goes', async () => {
    const m = await sticky(tempDir());
    const before = await pidsByAddress(m.origin, ADDRESSES, 1);
    const ready = () => m.logs().filter((l) => l.msg === 'worker ready').length;
    const readyBefore = ready();
    m.kill('SIGTTIN');
    await until('the third worker', () => ready() > readyBefore);
    const third = (await childPids(m.pid)).map(String).find((pid) => ![...before.values()].includes(pid))!;
    const during = await pidsByAddress(m.origin, ADDRESSES, 2);
    // Rendezvous hashing: a client either stays or goes to the new worker, never to the other old one.
    for (const a of ADDRESSES) expect([before.get(a), third]).toContain(during.get(a));
    expect([...during.values()].filter((pid) => pid === third).length).toBeGreaterThan(0);
    // TTOU retires the oldest worker: only its clients move.
    m.kill('SIGTTOU');
    await until('two workers again', async () => (await childPids(m.pid)).length === 2);
    const left = (await childPids(m.pid)).map(String);
    const after = await pidsByAddress(m.origin, ADDRESSES, 1);
    for (const a of ADDRESSES) if (left.includes(during.get(a)!)) expect(after.get(a)).toBe(during.get(a));
  });

  it.each([
    [
      ['-b', 'unix:/tmp/tsws-sticky.sock'],
      /^tsws-master: error: --sticky: bind "unix:\/tmp\/tsws-sticky.sock" has no client/,
    ],
    [
      ['--proxy-protocol', 'v2'],
      /^tsws-master: error: --sticky: with --proxy-protocol the client address is in the PROXY/,
    ],
    [['--scheduling', 'reuseport'], /^tsws-master: error: --sticky: .* cannot go with --scheduling reuseport/],
  ])('refuses %j with one line', async (args, message) => {
    const { code, err } = await runToExit('tsws-master', ['fetch.js', '--sticky', '-w', '2', ...args], {
      cwd: APPS,
    });
    expect(code).toBe(2);
    expect(err.trim()).toMatch(message);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});
