// The `tsws` command as a user meets it: its answers to mistakes (one line, the right exit code),
// its config actions, and its life as a process (pid file, signals, log reopening, users).
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, run, waitForHttp } from '../helpers/proc.js';
import { connect } from '../helpers/raw.js';
import { sleep } from '../helpers/wait.mjs';
import { APPS, RUNNERS, serve } from './serve.js';

const tsws = RUNNERS[0]!;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsws-cli-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs tsws to its exit; resolves with the code and what it wrote. */
async function exits(args: string[], opts: { cwd?: string } = {}) {
  const proc = run('tsws', args, opts);
  const { code } = await proc.exited;
  return { code, out: proc.out(), err: proc.err() };
}

function oneLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  expect(lines, text).toHaveLength(1);
  return lines[0]!;
}

describe('a mistake is one line on stderr and its exit code', () => {
  it('usage: no app, an unknown flag, a bad value (2)', async () => {
    const [none, flag, value] = await Promise.all([
      exits([]),
      exits(['fetch.js', '--chdir', APPS, '--bogus']),
      exits(['fetch.js', '--chdir', APPS, '--keep-alive', 'soon']),
    ]);
    expect(none.code).toBe(2);
    expect(oneLine(none.err)).toBe(
      'tsws: error: missing APP: name the app to serve as module:export, e.g. `tsws app.js:app` (see tsws --help)',
    );
    expect(flag.code).toBe(2);
    expect(oneLine(flag.err)).toBe("tsws: error: unknown option '--bogus'");
    expect(value.code).toBe(2);
    expect(oneLine(value.err)).toBe('tsws: error: --keep-alive: expected a number of seconds >= 0, got "soon"');
  });

  it("the app cannot be loaded (4): one line, or the app's own stack when it threw", async () => {
    const [missing, threw] = await Promise.all([
      exits(['nope.js:app', '--chdir', APPS]),
      exits(['throws.js', '--chdir', APPS]),
    ]);
    expect(missing.code).toBe(4);
    expect(oneLine(missing.err)).toMatch(/^tsws: error: APP "nope\.js:app": cannot find module "nope\.js" in \S+/);
    expect(threw.code).toBe(4);
    const line = JSON.parse(threw.err.trim().split('\n').at(-1)!) as {
      level: number;
      msg: string;
      err: { type: string; stack: string };
    };
    expect(line.level).toBe(60);
    expect(line.msg).toMatch(/^APP "throws\.js": \S+throws\.js threw while loading: /);
    expect(line.err.type).toBe('SyntaxError');
    expect(line.err.stack).toMatch(/throws\.js:2/);
  });

  it('the worker cannot start (3): a worker class unfit for the app, an unknown class, an address in use', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void busy.close());
    const port = (busy.address() as net.AddressInfo).port;
    const [unfit, unknown, inUse] = await Promise.all([
      exits(['express5.cjs', '--chdir', APPS, '-k', 'tsws']),
      exits(['fetch.js', '--chdir', APPS, '-k', 'gevent']),
      exits(['fetch.js', '--chdir', APPS, '-b', `127.0.0.1:${port}`]),
    ]);
    expect(unfit.code).toBe(3);
    expect(oneLine(unfit.err)).toBe(
      'tsws: error: worker class "tsws" serves fetch apps, and the app is an Express or connect app: ' +
        'use -k node or -k auto',
    );
    expect(unknown.code).toBe(3);
    expect(oneLine(unknown.err)).toBe(
      'tsws: error: worker class "gevent": expected auto, tsws, node, or a custom class as path.js:Export',
    );
    expect(inUse.code).toBe(3);
    expect(oneLine(inUse.err)).toBe(
      `tsws: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
    );
  });

  it('TypeScript without type stripping or tsx says what to install; with stripping it serves', async () => {
    const dir = tempDir();
    copyFileSync(join(APPS, 'ts-fetch.ts'), join(dir, 'app.ts'));
    if ((process.features as { typescript?: string | false }).typescript) {
      const { origin } = await serve(tsws, 'app.ts', ['--chdir', dir]);
      expect(await (await fetch(`${origin}/hello`)).text()).toBe('hello from typescript');
    } else {
      const { code, err } = await exits(['app.ts', '--chdir', dir]);
      expect(code).toBe(4);
      expect(oneLine(err)).toBe(
        `tsws: error: APP "app.ts": ${join(dir, 'app.ts')} is TypeScript, ` +
          `and Node ${process.version} cannot strip types by itself: install tsx in the project ` +
          '(npm install --save-dev tsx), run Node >= 22.18, or compile the app to JavaScript',
      );
    }
  });
});

describe('config actions', () => {
  it('--help, --version, --print-config, --check-config', async () => {
    const [help, version, printed, good, bad] = await Promise.all([
      exits(['--help']),
      exits(['--version']),
      exits(['fetch.js', '--chdir', APPS, '-k', 'node', '--print-config']),
      exits(['koa3.js', '--chdir', APPS, '--check-config']),
      exits(['fetch.js:nope', '--chdir', APPS, '--check-config']),
    ]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: tsws \[options\] \[app\]/);
    expect(help.out).toMatch(/-k, --worker-class <class>/);
    expect(version.code).toBe(0);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.out)).toMatchObject({ app: 'fetch.js', workerClass: 'node', bind: ['127.0.0.1:8000'] });
    expect(good.code).toBe(0);
    expect(good.out.trim()).toBe(
      'tsws: config OK: APP "koa3.js" is a Koa app (serving app.callback()), served by worker class node',
    );
    expect(bad.code).toBe(1);
    expect(oneLine(bad.err)).toMatch(/^tsws: error: APP "fetch\.js:nope": \S+ has no export "nope"/);
  });
});

describe('the process', () => {
  it('writes its pid file, reopens its log on SIGUSR1, drains on SIGTERM, removes the pid file, exits 0', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'tsws.pid');
    const errorLog = join(dir, 'error.log');
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const proc = run('tsws', [
      'fetch.js',
      '--chdir',
      APPS,
      '-b',
      `127.0.0.1:${port}`,
      '-p',
      pidFile,
      '--error-log',
      errorLog,
      '-e',
      'GREETING=from -e',
    ]);
    await waitForHttp(`${origin}/hello`);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(proc.pid));
    expect(await (await fetch(`${origin}/env?name=GREETING`)).text()).toBe('from -e');
    expect(readFileSync(errorLog, 'utf8')).toMatch(/listening on/);

    // logrotate moves the file away, then signals.
    renameSync(errorLog, `${errorLog}.1`);
    proc.kill('SIGUSR1');
    await sleep(300);

    const slow = fetch(`${origin}/slow?ms=1500`).then((r) => r.text());
    await sleep(300);
    proc.kill('SIGTERM');
    // Draining: in-flight requests finish, new connections are refused.
    // The reopened log may not exist yet under load: wait for the line itself, not for the file.
    const drainingLogged = () => existsSync(errorLog) && readFileSync(errorLog, 'utf8').includes('draining');
    for (let i = 0; i < 200 && !drainingLogged(); i++) await sleep(50);
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    expect(await slow).toBe('slow done');
    expect((await proc.exited).code).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    expect(readFileSync(errorLog, 'utf8')).toMatch(/"msg":"draining"/);
    expect(readFileSync(`${errorLog}.1`, 'utf8')).not.toMatch(/draining/);
  });

  it('drains on SIGINT too (the node class), and a second signal cuts the drain short', async () => {
    const { proc, origin } = await serve(tsws, 'node-listener.js', ['--graceful-timeout', '20']);
    const slow = fetch(`${origin}/slow?ms=800`).then((r) => r.text());
    await sleep(200);
    proc.kill('SIGINT');
    await proc.waitFor(/"msg":"draining"/);
    expect(await slow).toBe('slow done');
    expect((await proc.exited).code).toBe(0);

    const second = await serve(tsws, 'node-listener.js', ['--graceful-timeout', '20']);
    const hung = fetch(`${second.origin}/slow?ms=15000`).then(
      () => 'answered',
      () => 'cut',
    );
    await sleep(200);
    const started = Date.now();
    second.proc.kill('SIGINT');
    await second.proc.waitFor(/"msg":"draining"/);
    second.proc.kill('SIGINT');
    expect((await second.proc.exited).code).toBe(0);
    expect(await hung).toBe('cut');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('--user/--group switch after binding (root only; anyone else is refused before anything starts)', async () => {
    if (process.getuid!() === 0) {
      // Bound as root, then the app runs as nobody.
      const { origin } = await serve(tsws, 'fetch.js', ['--user', 'nobody', '--group', 'nogroup']);
      expect(await (await fetch(`${origin}/whoami`)).text()).toBe('65534:65534');
    } else {
      const { code, err } = await exits([
        'fetch.js',
        '--chdir',
        APPS,
        '-b',
        `127.0.0.1:${await freePort()}`,
        '--user',
        'root',
      ]);
      expect(code).toBe(2);
      expect(oneLine(err)).toBe('tsws: error: --user: switching to another user needs tsws to run as root');
    }
  });
});
