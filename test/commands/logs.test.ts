// Logs are for whoever reads them: short pretty lines on a terminal, JSON lines anywhere else (a
// file, a pipe, a collector), and --log-format has the last word either way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, runOnTerminal } from '../helpers/proc.js';
import { tempDir, until } from '../master/helpers.js';
import { APPS, RUNNERS, serve } from '../worker/serve.js';

const plain = (text: string) => stripVTControlCharacters(text.replace(/\r\n/g, '\n'));
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|FATAL): /;

describe('tsws', () => {
  it('on a terminal: one pretty line per event, and the access log in the combined format', async () => {
    const port = await freePort();
    const proc = runOnTerminal('tsws', ['fetch.js', '--chdir', APPS, '-b', `127.0.0.1:${port}`, '--access-log', '-']);
    await proc.waitFor(/listening on/);
    await (await fetch(`http://127.0.0.1:${port}/hello`, { headers: { 'user-agent': 'logs-test' } })).text();
    await proc.waitFor(/logs-test/);
    const lines = plain(proc.out()).trimEnd().split('\n');
    expect(lines[0]).toMatch(PRETTY_LINE);
    expect(lines[0]).toMatch(/INFO: listening on 127\.0\.0\.1:\d+ \(worker class tsws, fetch app\)/);
    expect(lines.find((l) => l.includes('logs-test'))).toMatch(
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello HTTP\/1\.1" 200 \d+ "-" "logs-test" [\d.]+ms pid=\d+$/,
    );
  });

  it('--log-format json on a terminal, and auto anywhere else, write JSON lines', async () => {
    const port = await freePort();
    const proc = runOnTerminal('tsws', [
      'fetch.js',
      '--chdir',
      APPS,
      '-b',
      `127.0.0.1:${port}`,
      '--log-format',
      'json',
    ]);
    await proc.waitFor(/listening on/);
    expect(JSON.parse(plain(proc.out()).split('\n')[0]!)).toMatchObject({ level: 30 });
    const piped = await serve(RUNNERS[0]!, 'fetch.js');
    expect(JSON.parse(piped.proc.err().split('\n')[0]!)).toMatchObject({ level: 30 });
  });
});

describe('tsws-master', () => {
  it('on a terminal, a start, a reload and a stop of two workers take a line per event', async () => {
    const pidFile = join(tempDir(), 'master.pid');
    const port = await freePort();
    const proc = runOnTerminal('tsws-master', [
      'hello.mjs',
      '--chdir',
      `${APPS}/../master`,
      '-w',
      '2',
      '-b',
      `127.0.0.1:${port}`,
      '-p',
      pidFile,
    ]);
    await proc.waitFor(/ready {2}workers=2/);
    const pid = await until('the pid file', () => Number(readFileSync(pidFile, 'utf8')));
    process.kill(pid, 'SIGHUP');
    await proc.waitFor(/reload done/);
    await until(
      'the old workers to exit',
      () => (plain(proc.out()).match(/exited \(exit code 0\)/g) ?? []).length === 2,
    );
    process.kill(pid, 'SIGTERM');
    expect((await proc.exited).code).toBe(0);
    const lines = plain(proc.out()).trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(PRETTY_LINE);
    // control socket at, starting, 2 started, 2 ready, ready; reloading, 2 started, 2 ready, 2 retiring,
    // reload done, 2 exited; stopping, 2 exited, stopped.
    expect(lines.length, lines.join('\n')).toBe(21);
    expect(lines.at(-1)).toMatch(/INFO: stopped {2}exitCode=0$/);
  });
});
