// `tsws` and `tsws-master` meet a user's mistake the same way: one line on stderr, in the same
// words (but for the command's name), with the same exit code, at run time and under
// --check-config alike; and they accept the same apps.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasAbstractSockets } from '@tsws/core/bind';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, run, runToExit } from '../helpers/proc.js';
import { APPS } from '../worker/serve.js';

const COMMANDS = [
  { name: 'tsws', args: [] },
  { name: 'tsws-master', args: ['-w', '1'] },
] as const;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsws-commands-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a command said and how it ended, the command's own name made `CMD`. */
async function answer(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { code, out, err } = await runToExit(command, args, opts);
  const said = (text: string) => text.replaceAll(`${command}:`, 'CMD:');
  return { code, out: said(out), err: said(err) };
}

describe.each(COMMANDS)('$name', ({ name: command, args }) => {
  it('a missing app, an ES module that does not compile, a port in use: one line each', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.mjs'), 'const a = 1;\n\nconsole.log(a;\nexport default () => new Response("x");\n');
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void busy.close());
    const port = (busy.address() as net.AddressInfo).port;
    const [missing, broken, inUse] = await Promise.all([
      answer(command, [...args, 'nope.js', '--chdir', dir]),
      answer(command, [...args, 'broken.mjs', '--chdir', dir, '-b', `127.0.0.1:${await freePort()}`]),
      answer(command, [...args, 'fetch.js', '--chdir', APPS, '-b', `127.0.0.1:${port}`]),
    ]);
    expect(missing).toEqual({
      code: 4,
      out: '',
      err: `CMD: error: APP "nope.js": cannot find module "nope.js" in ${dir} (tried nope.js and node_modules)\n`,
    });
    // As `node broken.mjs` would place it: file, line and column.
    expect(broken).toEqual({
      code: 4,
      out: '',
      err: `CMD: error: APP "broken.mjs": ${dir}/broken.mjs:3:13: SyntaxError: missing ) after argument list\n`,
    });
    expect(inUse).toEqual({
      code: 3,
      out: '',
      err: `CMD: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`,
    });
  });

  it('--user names no user: exit 2, or 1 under --check-config, the same line, nothing else', async () => {
    const [run, checked] = await Promise.all([
      answer(command, [...args, 'fetch.js', '--chdir', APPS, '--user', 'nosuchuser']),
      answer(command, [...args, 'fetch.js', '--chdir', APPS, '--user', 'nosuchuser', '--check-config']),
    ]);
    const err = 'CMD: error: --user: no such user: "nosuchuser"\n';
    expect(run).toEqual({ code: 2, out: '', err });
    expect(checked).toEqual({ code: 1, out: '', err });
  });

  it('refuses a pid file that names a running process (2)', async () => {
    const dir = tempDir();
    const live = join(dir, 'live.pid');
    writeFileSync(live, `${process.pid}\n`);
    const refused = await answer(command, [...args, 'fetch.js', '--chdir', APPS, '-p', live]);
    expect(refused).toEqual({
      code: 2,
      out: '',
      err: `CMD: error: --pid: ${live} names process ${process.pid}, which is running (a second instance?)\n`,
    });
  });

  it('a config file that does not compile: where, in one line (2)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tsws.config.mjs'), 'export default {\n  workers: 2\n  bind: ["127.0.0.1:0"],\n};\n');
    const { code, err } = await answer(command, [...args, 'fetch.js', '--chdir', dir]);
    expect(code).toBe(2);
    expect(err).toMatch(
      new RegExp(
        `^CMD: error: config file ${dir}/tsws\\.config\\.mjs: ${dir}/tsws\\.config\\.mjs:3:3: SyntaxError: .+\n$`,
      ),
    );
  });

  it('unix:@name: served to curl from Node 22; before, refused in one line (2)', async () => {
    const name = `tsws-commands-${process.pid}-${Date.now()}`;
    if (!hasAbstractSockets()) {
      const refused = await answer(command, [...args, 'fetch.js', '--chdir', APPS, '-b', `unix:@${name}`]);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(
        new RegExp(
          `^CMD: error: --bind: bind "unix:@${name}": abstract sockets need Node >= 22: [^\n]+; use unix:/path\n$`,
        ),
      );
      return;
    }
    // Run from the app's directory: under tsws-master, node:cluster needs the workers in the master's.
    const proc = run(command, [...args, 'fetch.js', '-b', `unix:@${name}`], { cwd: APPS });
    await proc.waitFor(command === 'tsws' ? /listening on/ : /"msg":"ready"/);
    const curl = spawnSync('curl', ['-sS', '-m', '10', '--abstract-unix-socket', name, 'http://unix/hello'], {
      encoding: 'utf8',
    });
    expect(curl.stdout, curl.stderr).toBe('hello from fetch');
  });

  it('warns of a TSWS_* variable that nearly names a setting, with that name', async () => {
    const { code, out, err } = await answer(command, [...args, 'fetch.js', '--chdir', APPS, '--check-config'], {
      // The app's own variable, far from every setting's name, is left alone.
      env: { TSWS_WROKERS: '2', TSWS_KEEPALIVE: '1', TSWS_MY_APP_REGION: 'eu' },
    });
    expect(code).toBe(0);
    expect(out).toMatch(/^CMD: config OK: /);
    expect(err.split('\n').sort()).toEqual([
      '',
      'CMD: warning: TSWS_KEEPALIVE is not a setting and is ignored (did you mean TSWS_KEEP_ALIVE?)',
      'CMD: warning: TSWS_WROKERS is not a setting and is ignored (did you mean TSWS_WORKERS?)',
    ]);
  });

  it('--check-config accepts every kind of app it serves: Koa, fastify, an http.Server', async () => {
    const checks = await Promise.all(
      ['koa3.js', 'fastify5.js', 'http-server.js'].map((app) =>
        answer(command, [...args, app, '--chdir', APPS, '--check-config']),
      ),
    );
    const ok = (app: string, kind: string) => ({
      code: 0,
      err: '',
      out: `CMD: config OK: APP "${app}" is ${kind}, served by worker class node\n`,
    });
    expect(checks).toEqual([
      ok('koa3.js', 'a Koa app (serving app.callback())'),
      ok('fastify5.js', 'a fastify instance (serving fastify.routing)'),
      ok('http-server.js', "an http.Server (serving its 'request' listener)"),
    ]);
  });
});

describe('tsws-master, unix:@name and --chdir', () => {
  it('is refused in one line when the workers would run elsewhere (node:cluster resolves the name)', async () => {
    const { code, err } = await runToExit('tsws-master', ['fetch.js', '--chdir', APPS, '-b', 'unix:@tsws-chdir']);
    expect(code).toBe(2);
    expect(err).toMatch(
      hasAbstractSockets()
        ? new RegExp(
            '^tsws-master: error: --bind unix:@tsws-chdir: under tsws-master an abstract socket needs the workers ' +
              "to run in the master's own directory \\(.+\\): node:cluster resolves the name as a file path\\. " +
              'Start it from --chdir, or use unix:/path\n$',
          )
        : /^tsws-master: error: --bind: bind "unix:@tsws-chdir": abstract sockets need Node >= 22/,
    );
  });
});

describe('the warning of a misspelt variable at run time', () => {
  it('is a log line, once the log is open', async () => {
    const proc = run('tsws', ['fetch.js', '--chdir', APPS, '-b', `127.0.0.1:${await freePort()}`], {
      env: { TSWS_BIDN: '127.0.0.1:1' },
    });
    await proc.waitFor(/listening on/);
    expect(JSON.parse(proc.err().split('\n')[0]!)).toMatchObject({
      level: 40,
      msg: 'TSWS_BIDN is not a setting and is ignored (did you mean TSWS_BIND?)',
    });
  });
});
