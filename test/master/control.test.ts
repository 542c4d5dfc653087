// The control socket and tsws-ctl, against real masters: the commands and what they change, the
// default socket found without being named, bad requests answered without harm, who may
// connect, and no file descriptor leaked by repeated reloads.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createMaster, EXIT } from '@tsws/master';
import { describe, expect, it } from 'vitest';
import { freePort, run } from '../helpers/proc.js';
import { childPids } from '../helpers/procfs.mjs';
import { FIXTURES, get, sleep, startMaster, tempDir, until } from './helpers.js';

interface CtlResult {
  code: number | null;
  out: string;
  err: string;
}

async function ctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CtlResult> {
  const p = run('tsws-ctl', args, { env });
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

/** tsws-ctl --json against `socket`; the parsed answer (and the exit code checked). */
async function ctlJson<T>(socket: string, ...command: string[]): Promise<T> {
  const r = await ctl(['--control-socket', socket, '--json', ...command]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
}

/** A private directory for the default socket (as $XDG_RUNTIME_DIR is): no other test's master is in it. */
function runtimeDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o700);
  return dir;
}

/** Sends raw lines on one connection and collects the reply lines until it closes or `count` came. */
function rawExchange(path: string, send: string[], count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let data = '';
    const done = () => {
      socket.destroy();
      resolve(data.split('\n').filter(Boolean));
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      for (const s of send) socket.write(s);
    });
    socket.on('data', (d: string) => {
      data += d;
      if (data.split('\n').filter(Boolean).length >= count) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
    setTimeout(done, 10_000);
  });
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

describe('tsws-ctl and the control socket', () => {
  it('finds the default socket, private to its user; shows the status, workers, config, listeners, stats', async () => {
    const xdg = runtimeDir();
    const env = { XDG_RUNTIME_DIR: xdg };
    const m = await startMaster('ops.mjs', ['-w', '2'], { env });
    const socket = join(xdg, 'tsws', `${m.pid}.sock`);
    expect(existsSync(socket)).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(xdg, 'tsws')).mode & 0o777).toBe(0o700);
    for (let i = 0; i < 5; i++) expect((await get(`${m.origin}/`)).status).toBe(200);
    await sleep(1200); // a heartbeat carries the counts

    const status = await ctl(['status'], env);
    expect(status.code, status.err).toBe(0);
    const lines = status.out.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^tsws-master pid ${m.pid} · running · ready · 2/2 workers · up \\d+s$`));
    expect(lines[1]).toMatch(/^WORKER\s+PID\s+CLASS\s+STATE\s+AGE\s+REQUESTS\s+IN FLIGHT\s+RSS\s+ELU\s+LAST BEAT$/);
    const pids = childPids(m.pid);
    expect(lines.slice(2)).toHaveLength(2);
    for (const [i, line] of lines.slice(2).entries()) {
      const cells = line.trim().split(/\s{2,}/);
      expect(cells[0]).toBe(String(i + 1));
      expect(pids).toContain(Number(cells[1]));
      expect(cells.slice(2, 4)).toEqual(['tsws', 'ready']);
      expect(cells[7]).toMatch(/^\d+\.\d MiB$/);
      expect(cells[9]).toMatch(/^\d+\.\d+s ago$/);
    }
    const served = lines.slice(2).reduce((n, line) => n + Number(line.trim().split(/\s{2,}/)[5]), 0);
    expect(served).toBe(5);

    const json = (...command: string[]) => ctl(['--json', ...command], env).then((r) => JSON.parse(r.out));
    expect((await json('show', 'workers')).map((w: { pid: number }) => w.pid).sort()).toEqual(pids.sort());
    expect(await json('show', 'config')).toMatchObject({
      workers: 2,
      bind: [`127.0.0.1:${m.port}`],
      controlSocket: socket,
    });
    expect(await json('show', 'listeners')).toMatchObject({
      listening: [`127.0.0.1:${m.port}`],
      acceptQueues: { [`127.0.0.1:${m.port}`]: 0 },
    });
    expect(await json('show', 'stats')).toMatchObject({
      pid: m.pid,
      state: 'running',
      ready: true,
      target: 2,
      spawns: 2,
      respawns: { crash: 0, reload: 0 },
    });
    const human = await ctl(['show', 'stats'], env);
    expect(human.out).toMatch(/^pid: \d+\nstate: running\nready: true\n/);
  });

  it('adds, removes and kills workers, reloads, reopens the logs and shuts down, each through tsws-ctl', async () => {
    const socket = join(tempDir(), 'ctl.sock');
    const m = await startMaster('ops.mjs', ['-w', '2', '--control-socket', socket, '--graceful-timeout', '5']);
    expect(await ctl(['--control-socket', socket, 'worker', 'add', '2'])).toMatchObject({
      code: 0,
      out: 'workers: 2 -> 4\n',
    });
    await until('4 workers', () => childPids(m.pid).length === 4);
    expect((await ctl(['--control-socket', socket, 'worker', 'remove'])).out).toBe('workers: 4 -> 3\n');
    await until('3 workers', async () => (await ctlJson<unknown[]>(socket, 'show', 'workers')).length === 3);

    const before = await ctlJson<Array<{ id: number; pid: number }>>(socket, 'show', 'workers');
    const victim = before[0]!;
    const killed = await ctl(['--control-socket', socket, 'worker', 'kill', String(victim.id)]);
    expect(killed.out).toBe(`killed worker ${victim.id} (pid ${victim.pid}); the master starts a replacement\n`);
    await m.waitForLog((l) => l.msg === `worker ${victim.id} died (killed on request)`);
    await until('a replacement', async () => {
      const now = await ctlJson<Array<{ id: number; pid: number; state: string }>>(socket, 'show', 'workers');
      return now.length === 3 && now.every((w) => w.state === 'ready' && w.pid !== victim.pid);
    });
    const stats = await ctlJson<{ respawns: Record<string, number>; spawns: number }>(socket, 'show', 'stats');
    expect(stats.respawns.killed).toBe(1);
    expect(stats.respawns.crash).toBe(0);
    expect(stats.spawns).toBe(5);

    const old = childPids(m.pid);
    const reload = await ctl(['--control-socket', socket, 'reload']);
    expect(reload.code, reload.err).toBe(0);
    expect(reload.out).toMatch(/^reloaded\nWORKER/);
    await until('the old workers to leave', () => childPids(m.pid).every((p) => !old.includes(p)));
    expect((await ctlJson<{ reloads: { ok: number } }>(socket, 'show', 'stats')).reloads.ok).toBe(1);

    expect((await ctl(['--control-socket', socket, 'reopen'])).out).toBe('reopened the log files\n');
    await m.waitForLog((l) => l.msg === 'reopened the log files');

    expect((await ctl(['--control-socket', socket, 'shutdown', 'graceful'])).out).toBe('stopping gracefully\n');
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
    const gone = await ctl(['--control-socket', socket, 'status']);
    expect(gone.code).toBe(3);
    expect(gone.err).toMatch(/^tsws-ctl: cannot reach .*ctl\.sock: no master is listening there\n$/);
  });

  it('answers a malformed request with an error and carries on; an oversized one is answered and closed', async () => {
    const socket = join(tempDir(), 'ctl.sock');
    const m = await startMaster('ops.mjs', ['-w', '1', '--control-socket', socket]);
    const replies = await rawExchange(
      socket,
      [
        'not json\n',
        '[1,2]\n',
        '{"command":5}\n',
        '{"command":"launch missiles"}\n',
        '{"command":"worker add zero"}\n',
        '{"command":"worker kill 99"}\n',
        '{"command":"show"}\n',
        '{"command":"shutdown slowly"}\n',
        '{"command":"status"}\n',
      ],
      9,
    );
    const parsed = replies.map((r) => JSON.parse(r) as { ok: boolean; error?: string });
    expect(parsed.slice(0, 8).map((r) => [r.ok, r.error])).toEqual([
      [false, 'malformed request: expected one JSON object per line, e.g. {"command":"status"}'],
      [false, 'malformed request: expected {"command":"..."}, e.g. {"command":"status"}'],
      [false, 'malformed request: expected {"command":"..."}, e.g. {"command":"status"}'],
      [false, expect.stringMatching(/^unknown command "launch missiles": expected status, show /)],
      [false, 'usage: worker add [N] (a whole number >= 1)'],
      [false, 'no worker 99 (by number or pid)'],
      [false, 'usage: show workers|config|listeners|stats'],
      [false, 'usage: shutdown [graceful|quick]'],
    ]);
    expect(parsed[8]).toMatchObject({ ok: true });

    const huge = await rawExchange(socket, ['{"command":"', 'x'.repeat(70_000)], 1);
    expect(JSON.parse(huge[0]!)).toEqual({
      ok: false,
      error: 'request too long: more than 65536 bytes without a newline',
    });
    // A client that connects and says nothing, or leaves mid-line, changes nothing either.
    await new Promise<void>((resolve) => net.connect(socket, () => resolve()).end('{"comm'));

    const usage = await ctl(['--control-socket', socket, 'worker', 'add', 'many']);
    expect(usage).toMatchObject({ code: 2, err: 'tsws-ctl: usage: worker add [N] (a whole number >= 1)\n' });
    expect((await ctl(['--control-socket', socket])).code).toBe(2);
    expect((await ctl(['--control-socket', socket, 'status'])).code).toBe(0);
    expect((await get(`${m.origin}/`)).status).toBe(200);
    expect(m.logs().filter((l) => l.level >= 50)).toEqual([]);
  });

  it('lets only its own user connect: the socket is 0600, other users get EACCES', async () => {
    expect(process.getuid?.(), 'this test connects as another user: run it as root (CI does)').toBe(0);
    const dir = tempDir();
    chmodSync(dir, 0o755); // the directory is open: the socket's own mode keeps others out
    const socket = join(dir, 'ctl.sock');
    await startMaster('ops.mjs', ['-w', '1', '--control-socket', socket]);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const asNobody = spawn(
      process.execPath,
      [
        '-e',
        `require('net').connect(${JSON.stringify(socket)})` +
          ".on('connect', () => { console.log('connected'); process.exit(0) })" +
          ".on('error', (e) => { console.log(e.code); process.exit(1) })",
      ],
      { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    asNobody.stdout!.on('data', (d: Buffer) => (out += d));
    await new Promise((resolve) => asNobody.on('exit', resolve));
    expect(out.trim()).toBe('EACCES');
  });

  it('leaks no file descriptor in the master over repeated reloads', async () => {
    const socket = join(tempDir(), 'ctl.sock');
    const m = await startMaster('ops.mjs', [
      '-w',
      '2',
      '--control-socket',
      socket,
      '--metrics-bind',
      `127.0.0.1:${await freePort()}`,
    ]);
    const settle = async () => {
      await until('the old workers to leave', () => childPids(m.pid).length === 2);
      await sleep(300);
      return openFds(m.pid);
    };
    expect((await ctl(['--control-socket', socket, 'reload'])).code).toBe(0);
    const before = await settle();
    for (let i = 0; i < 10; i++) {
      const r = await ctl(['--control-socket', socket, 'reload']);
      expect(r.code, r.err).toBe(0);
      await settle();
    }
    expect(await settle()).toBe(before);
    expect((await ctlJson<{ reloads: { ok: number } }>(socket, 'show', 'stats')).reloads.ok).toBe(11);
  }, 180_000);

  it('runs without a control socket when told (--no-control-socket)', async () => {
    const xdg = runtimeDir();
    const m = await startMaster('ops.mjs', ['-w', '1', '--no-control-socket'], { env: { XDG_RUNTIME_DIR: xdg } });
    expect(existsSync(join(xdg, 'tsws', `${m.pid}.sock`))).toBe(false);
    expect(m.logs().find((l) => String(l.msg).startsWith('control socket'))).toBeUndefined();
    const r = await ctl(['status'], { XDG_RUNTIME_DIR: xdg });
    expect(r).toMatchObject({
      code: 3,
      err: expect.stringMatching(/^tsws-ctl: no running tsws-master has a control socket in /),
    });
  });

  it('refuses a default directory other users can enter, and runs on without the socket', async () => {
    const xdg = runtimeDir();
    mkdirSync(join(xdg, 'tsws'), { mode: 0o777 });
    chmodSync(join(xdg, 'tsws'), 0o777);
    const m = await startMaster('ops.mjs', ['-w', '1'], { env: { XDG_RUNTIME_DIR: xdg } });
    expect(m.logs().find((l) => l.level === 40)?.msg).toMatch(
      new RegExp(
        '^no control socket: .*tsws is open to other users \\(mode 777\\); it must be 0700 ' +
          '\\(set --control-socket PATH, or --no-control-socket\\)$',
      ),
    );
    expect(existsSync(join(xdg, 'tsws', `${m.pid}.sock`))).toBe(false);
  });

  it('fails the start with exit code 3 when a control socket it was given cannot be opened', async () => {
    const path = join(tempDir(), 'no-such-dir', 'ctl.sock');
    const m = await startMaster('ops.mjs', ['-w', '1', '--control-socket', path], { wait: false });
    expect(await m.exited).toEqual({ code: EXIT.BOOT_ERROR, signal: null });
    expect(m.err()).toMatch(/^tsws-master: error: --control-socket .*ctl\.sock: cannot listen on .*ctl\.sock: .*\n$/);
  });

  it('offers every command as a call on the createMaster() handle', async () => {
    const socket = join(tempDir(), 'api.sock');
    const master = createMaster({
      app: join(FIXTURES, 'ops.mjs'),
      workers: 1,
      bind: [`127.0.0.1:${await freePort()}`],
      controlSocket: socket,
      errorLog: join(tempDir(), 'error.log'),
    });
    try {
      await master.start();
      expect(master.readiness()).toEqual({ ready: true, workers: { ready: 1, target: 1 } });
      expect(await master.addWorkers(2)).toEqual({ previous: 1, target: 3 });
      expect(await master.removeWorkers()).toEqual({ previous: 3, target: 2 });
      await until('2 ready workers', () => master.readiness().ready);
      const [first] = master.show('workers') as Array<{ id: number; pid: number }>;
      expect(await master.killWorker(first!.pid)).toMatchObject({ id: first!.id, pid: first!.pid });
      await expect(master.killWorker(999_999)).rejects.toThrow('no worker 999999 (by number or pid)');
      await until(
        'the replacement',
        () => master.readiness().ready && master.workers.every((w) => w.pid !== first!.pid),
      );
      expect(master.show('stats')).toMatchObject({ respawns: { killed: 1 }, target: 2 });
      expect(master.show('config')).toMatchObject({ controlSocket: socket, workers: 1 });
      master.reopen();
      await master.reload();
      // The same calls through the socket.
      const viaSocket = await ctlJson<Array<{ pid: number }>>(socket, 'show', 'workers');
      expect(viaSocket.map((w) => w.pid).sort()).toEqual(master.workers.map((w) => w.pid).sort());
    } finally {
      expect(await master.stop({ graceful: false })).toBe(EXIT.OK);
    }
    expect(existsSync(socket)).toBe(false);
  });
});
