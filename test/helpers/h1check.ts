// Running the shared black-box suite ../shared/h1check against a server, with the limits its
// README names (the server under test must be started with the same ones).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from './proc.js';

/** ../shared/h1check beside the repository (for a git worktree, beside its main checkout), or $H1CHECK_DIR. */
export function findH1check(): string {
  const candidates = [process.env.H1CHECK_DIR, resolve(ROOT, '../shared/h1check')];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT })
      .toString()
      .trim();
    candidates.push(resolve(dirname(common), '../shared/h1check'));
  } catch {
    // not a git checkout: only the paths above
  }
  const found = candidates.find((dir) => dir && existsSync(join(dir, 'h1check.py')));
  if (!found)
    throw new Error(
      `h1check not found: looked for h1check.py in ${candidates.filter(Boolean).join(', ')}. ` +
        'Put the shared suite at ../shared/h1check or set H1CHECK_DIR.',
    );
  return found;
}

/** The echo app the suite expects the server to serve. */
export function echoApp(): string {
  return join(findH1check(), 'apps/echo.mjs');
}

/** Runs the suite against `origin`; resolves with its exit code and output. */
export async function runH1check(origin: string): Promise<{ code: number | null; output: string }> {
  const args = [
    join(findH1check(), 'h1check.py'),
    '--url',
    origin,
    '--max-url',
    '4094',
    '--max-headers',
    '100',
    '--max-header-size',
    '8190',
    '--max-body',
    '1048576',
    '--header-timeout',
    '3',
  ];
  const check = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  check.stdout.on('data', (d: Buffer) => (output += d));
  check.stderr.on('data', (d: Buffer) => (output += d));
  const code = await new Promise<number | null>((done) => check.on('exit', (c) => done(c)));
  return { code, output };
}

/** The limits h1check is told about, as command-line flags for tsws and tsws-master. */
export const H1CHECK_FLAGS = [
  '--limit-request-line',
  '4094',
  '--limit-request-fields',
  '100',
  '--limit-request-field-size',
  '8190',
  '--limit-request-body',
  '1048576',
  '--header-timeout',
  '3',
];
