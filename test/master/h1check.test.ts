import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/proc.js';
import { startMaster } from './helpers.js';

// ../shared/h1check beside the repository: from the main checkout, or from a worktree under wt/; H1CHECK overrides.
const H1CHECK = [process.env.H1CHECK, resolve(ROOT, '../shared/h1check'), resolve(ROOT, '../../shared/h1check')].find((d) => d && existsSync(join(d, 'h1check.py')));

describe('h1check against tsws-master -w 2', () => {
  // Most of the time is h1check's own Python building its 1 MiB and 5 MiB bodies byte by byte.
  it('passes every check with the limits its README names', { timeout: 120_000 }, async () => {
    if (!H1CHECK) throw new Error('h1check not found: expected ../shared/h1check beside the repository (or set H1CHECK)');
    const m = await startMaster(join(H1CHECK, 'apps/echo.mjs'), ['-w', '2', '--limit-request-line', '4094', '--header-timeout', '3']);
    const args = ['--url', m.origin, '--max-url', '4094', '--max-headers', '100', '--max-header-size', '8190', '--max-body', '1048576', '--header-timeout', '3'];
    const check = spawn('python3', [join(H1CHECK, 'h1check.py'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    check.stdout.on('data', (d: Buffer) => (out += d));
    check.stderr.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((r) => check.on('exit', r));
    expect(out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(code, out).toBe(0);
    // No worker died on the way.
    expect(m.logs().filter((l) => /died|killed/.test(l.msg))).toEqual([]);
  });
});
