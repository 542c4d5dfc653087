// systemd socket activation, with systemd-socket-activate (Debian's systemd package): it holds
// the listening sockets and starts tsws on the first connection, passing LISTEN_FDS/LISTEN_PID/
// LISTEN_FDNAMES, as systemd does with examples/systemd/tsws.socket.
import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BINS, freePort } from '../helpers/proc.js';
import { until } from '../master/helpers.js';
import { APPS, listeningAt, RUNNERS } from './serve.js';

/** systemd-socket-activate on `ports`, running `runner` on `app`; killed (whole group) after the test. */
function activate(ports: number[], names: string[], bin: keyof typeof BINS, args: string[]) {
  const child = spawn(
    'systemd-socket-activate',
    [
      ...ports.map((p) => `--listen=127.0.0.1:${p}`),
      `--fdname=${names.join(':')}`,
      process.execPath,
      BINS[bin],
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    await exited;
  });
  const listening = new Promise<void>((resolve, reject) => {
    const check = () => (output.split('Listening on').length > ports.length ? resolve() : undefined);
    child.stderr.on('data', check);
    child.once('exit', () => reject(new Error(`systemd-socket-activate exited: ${output}`)));
  });
  return { child, output: () => output, exited, listening };
}

for (const runner of RUNNERS) {
  describe(`${runner.name} under systemd socket activation`, () => {
    it('is started by the first connection and serves every passed socket instead of the default bind', async () => {
      const ports = [await freePort(), await freePort()];
      const sd = activate(ports, ['web', 'admin'], runner.bin, [
        ...runner.args,
        'fetch.js',
        '--chdir',
        APPS,
        '--log-level',
        'info',
      ]);
      await sd.listening;
      // This connection waits in the kernel's queue while tsws boots, then is answered.
      const first = await fetch(`http://127.0.0.1:${ports[0]}/hello`);
      expect(await first.text()).toBe('hello from fetch');
      expect(await (await fetch(`http://127.0.0.1:${ports[1]}/users/7`)).json()).toEqual({
        id: '7',
        framework: 'fetch',
      });
      // tsws logs the names from LISTEN_FDNAMES.
      if (runner.bin === 'tsws') expect(sd.output()).toMatch(/"names":\["web","admin"\]/);
      // A master says where once every worker listens: maybe a moment after the first answered.
      expect(await until('the listening line', () => listeningAt(sd.output()))).toEqual([
        `127.0.0.1:${ports[0]}`,
        `127.0.0.1:${ports[1]}`,
      ]);
      // No default bind alongside the passed sockets.
      expect(sd.output()).not.toMatch(/127\.0\.0\.1:8000/);
      process.kill(sd.child.pid!, 'SIGTERM');
      expect(await sd.exited).toBe(0);
    });
  });
}
