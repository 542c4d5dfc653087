// Starting `tsws` (or `tsws-master`) on an app for a test, and checking the answers every fixture
// app gives: routing, JSON in and out, a streamed response, an error route.
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { type BINS, freePort, type Proc, ROOT, run } from '../helpers/proc.js';
import { parseLogs } from '../master/helpers.js';

export const APPS = `${ROOT}test/fixtures/apps`;

export interface Runner {
  name: string;
  /** The program and the arguments that go before the app's own. */
  bin: keyof typeof BINS;
  args: string[];
}

/** Every way we run an app; `tsws-master -w 2` joins when packages/master has its CLI. */
export const RUNNERS: Runner[] = [
  { name: 'tsws', bin: 'tsws', args: [] },
  ...(existsSync(`${ROOT}packages/master/dist/cli.js`)
    ? [{ name: 'tsws-master -w 2', bin: 'tsws-master' as const, args: ['-w', '2'] }]
    : []),
];

export interface Served {
  proc: Proc;
  port: number;
  origin: string;
}

/** Runs `runner` on `app` with `args`, on a free loopback port; resolves once it answers. */
export async function serve(
  runner: Runner,
  app: string,
  args: string[] = [],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Served> {
  const port = await freePort();
  const proc = run(runner.bin, [...runner.args, app, '--chdir', APPS, '-b', `127.0.0.1:${port}`, ...args], opts);
  // The master says `ready` once every worker listens; one process, `listening on`.
  await proc.waitFor(runner.bin === 'tsws' ? /listening on/ : /"msg":"ready"/);
  return { proc, port, origin: `http://127.0.0.1:${port}` };
}

/** "worker class X, Y app", from the log line that says who serves the app (the worker's, or its master's). */
export function servedAs(stderr: string): string | undefined {
  const line = parseLogs(stderr).find((l) => l.workerClass !== undefined);
  return line && `worker class ${line.workerClass}, ${line.interface} app`;
}

/** Where it listens, from the line that says so (`listening on` alone, its master's `ready`). */
export function listeningAt(stderr: string): unknown {
  return parseLogs(stderr).find((l) => l.msg === 'ready' || l.msg.startsWith('listening on'))?.listening;
}

/** The answers every fixture app gives, whatever it was written with. */
export async function expectTheApp(origin: string, name: string, greeting = 'hello'): Promise<void> {
  const hello = await fetch(`${origin}/hello`);
  expect(hello.status).toBe(200);
  expect(await hello.text()).toBe(`${greeting} from ${name}`);

  const user = await fetch(`${origin}/users/42`);
  expect(user.status).toBe(200);
  expect(user.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await user.json()).toEqual({ id: '42', framework: name });

  const payload = { text: 'héllo', list: [1, 2, 3], nested: { ok: true } };
  const echo = await fetch(`${origin}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  expect(echo.status).toBe(200);
  expect(await echo.json()).toEqual({ got: payload });

  // Streamed: no Content-Length, so the body went out in chunks as the app wrote it.
  const stream = await fetch(`${origin}/stream`);
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-length')).toBeNull();
  expect(stream.headers.get('transfer-encoding')).toBe('chunked');
  expect(await stream.text()).toBe('chunk 0\nchunk 1\nchunk 2\n');

  const error = await fetch(`${origin}/error`);
  expect(error.status).toBe(500);
  await error.arrayBuffer();

  const missing = await fetch(`${origin}/no/such/route`);
  expect(missing.status).toBe(404);
  await missing.arrayBuffer();
}
