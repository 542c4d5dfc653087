// Running real `tsws-master` processes for the master's tests, reading their JSON log lines,
// and a bounded load client that counts every failed request.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { freePort, type Proc, run } from '../helpers/proc.js';
import { childPids } from '../helpers/procfs.mjs';
import { sleep, until } from '../helpers/wait.mjs';

/** childPids(master pid): its workers now, from /proc. */
export { childPids, sleep, until };

export const FIXTURES = fileURLToPath(new URL('../fixtures/master/', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RunningMaster extends Proc {
  port: number;
  origin: string;
  /** The master's and workers' JSON log lines so far (stderr). */
  logs(): LogLine[];
  /** Resolves with the first log line so far or to come that matches `match`. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export function parseLogs(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the read; the next read has it whole
    }
  }
  return out;
}

/** A temporary directory removed after the test, with `files` copied in from the fixtures. */
export function tempDir(...files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsws-master-'));
  for (const f of files) copyFileSync(join(FIXTURES, f), join(dir, f));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `tsws-master APP -b 127.0.0.1:PORT ...args` and waits for its "ready" line unless `wait` is false. */
export async function startMaster(
  app: string,
  args: string[] = [],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; wait?: boolean; port?: number; prefix?: string[] } = {},
): Promise<RunningMaster> {
  const port = opts.port ?? (await freePort());
  const proc = run('tsws-master', [app, '-b', `127.0.0.1:${port}`, ...args], {
    cwd: opts.cwd ?? FIXTURES,
    env: opts.env,
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
  });
  const logs = () => parseLogs(proc.err());
  const master: RunningMaster = {
    ...proc,
    port,
    origin: `http://127.0.0.1:${port}`,
    logs,
    async waitForLog(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs().find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; stderr:\n${proc.err()}`);
        await sleep(50);
      }
    },
  };
  if (opts.wait !== false) await master.waitForLog((l) => l.msg === 'ready');
  return master;
}

/** One GET over a new connection (agent: false, Connection: close); resolves with status and body. */
export function get(
  url: string,
  agent: http.Agent | false = false,
  timeoutMs = 10_000,
  ca?: string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // https:// URLs trust `ca` (an agent of its own carries them itself).
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { agent, timeout: timeoutMs, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export interface LoadResult {
  ok: number;
  failures: string[];
  /** Response bodies seen, with counts. */
  bodies: Map<string, number>;
}

/**
 * Keeps `keepAlive` clients on persistent connections and `fresh` clients opening a new
 * connection per request busy against `url` until `until` resolves (or `maxMs`, or `maxRequests`
 * in all). Every error and non-200 answer is a failure. Targets 127.0.0.1 only.
 */
export async function load(
  url: string,
  until: Promise<unknown>,
  opts: { keepAlive?: number; fresh?: number; maxMs?: number; maxRequests?: number; ca?: string[] } = {},
): Promise<LoadResult> {
  const { keepAlive = 4, fresh = 2, maxMs = 20_000, maxRequests = 50_000, ca } = opts;
  const result: LoadResult = { ok: 0, failures: [], bodies: new Map() };
  let stop = false;
  void until.then(
    () => (stop = true),
    () => (stop = true),
  );
  const timer = setTimeout(() => (stop = true), maxMs);
  const agent = ca
    ? new https.Agent({ keepAlive: true, maxSockets: keepAlive, ca })
    : new http.Agent({ keepAlive: true, maxSockets: keepAlive });
  const client = async (persistent: boolean) => {
    while (!stop && result.ok + result.failures.length < maxRequests) {
      try {
        const { status, body } = await get(url, persistent ? agent : false, 10_000, ca);
        if (status === 200) {
          result.ok++;
          const key = body.split(' ')[0]!;
          result.bodies.set(key, (result.bodies.get(key) ?? 0) + 1);
        } else
          result.failures.push(
            `${persistent ? 'keep-alive' : 'new connection'}: status ${status}: ${body.slice(0, 100)}`,
          );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        result.failures.push(`${persistent ? 'keep-alive' : 'new connection'}: ${code} ${(err as Error).message}`);
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: keepAlive }, () => client(true)),
    ...Array.from({ length: fresh }, () => client(false)),
  ]);
  clearTimeout(timer);
  agent.destroy();
  return result;
}

/** Sends HUP and resolves with the line that says how the reload ended. */
export function hup(m: RunningMaster): Promise<LogLine> {
  const seen = m.logs().length;
  m.kill('SIGHUP');
  const ended = (l: LogLine) => l.msg === 'reload done' || l.msg.startsWith('reload abandoned');
  return until('the reload to end', () => m.logs().slice(seen).find(ended), 20_000);
}
