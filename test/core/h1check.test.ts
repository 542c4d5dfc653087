// The shared black-box HTTP/1.1 suite (../shared/h1check) against the core serving its echo app
// in a child process, with the limits the suite is told about.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, run } from '../helpers/proc.js';

/** ../shared/h1check beside the repository (for a git worktree, beside its main checkout), or $H1CHECK_DIR. */
function findH1check(): string {
  const tried: string[] = [];
  const candidates = [process.env.H1CHECK_DIR, resolve(ROOT, '../shared/h1check')];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT }).toString().trim();
    candidates.push(resolve(dirname(common), '../shared/h1check'));
  } catch {
    // not a git checkout: only the paths above
  }
  for (const dir of candidates) {
    if (!dir) continue;
    if (existsSync(join(dir, 'h1check.py'))) return dir;
    tried.push(dir);
  }
  throw new Error(`h1check not found: looked for h1check.py in ${tried.join(', ')}. Put the shared suite at ../shared/h1check or set H1CHECK_DIR.`);
}

it('passes h1check against the echo app', { timeout: 90_000 }, async () => {
  const dir = findH1check();
  const limits = { limitRequestLine: 4094 + 16, limitRequestFields: 100, limitRequestFieldSize: 8190, limitRequestBody: 1048576, headerTimeout: 3000 };
  const server = run(join(ROOT, 'test/fixtures/serve.mjs'), [join(dir, 'apps/echo.mjs'), JSON.stringify({ bind: '127.0.0.1:0', ...limits })]);
  const [, address] = await server.waitFor(/listening (\S+)/);
  const args = [join(dir, 'h1check.py'), '--url', `http://${address}`, '--max-url', '4094', '--max-headers', '100', '--max-header-size', '8190', '--max-body', '1048576', '--header-timeout', '3'];
  const check = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  check.stdout.on('data', (d: Buffer) => (output += d));
  check.stderr.on('data', (d: Buffer) => (output += d));
  const code = await new Promise<number | null>((done) => check.on('exit', (c) => done(c)));
  const failures = output.split('\n').filter((line) => !line.startsWith('PASS')).join('\n');
  expect(failures, `h1check output:\n${output}\nserver stderr:\n${server.err()}`).toMatch(/\b0 failed\b/);
  expect(code).toBe(0);
});
