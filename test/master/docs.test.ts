import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/proc.js';
import { tempDir } from './helpers.js';

const DOCS = join(ROOT, 'scripts/settings-docs.mjs');

describe('the README option, signal and exit code tables', () => {
  it('are what `pnpm settings-docs` generates from the settings table, the core options and usage.ts', async () => {
    const check = run(DOCS, ['--check']);
    expect(await check.exited, check.err()).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['the settings table', 'How many worker processes to run.', 'How many workers.'],
    ['the core options table', '| `backlog` | 2048 |', '| `backlog` | 1024 |'],
    ['the signals table', '| `USR2` | Ignored, with a log line. |', '| `USR2` | Restarts. |'],
    ['the exit codes table', '| `4` | The app could not be loaded', '| `4` | The app did not load'],
  ])('fails the check when %s drifts', async (_, from, to) => {
    const stale = join(tempDir(), 'README.md');
    copyFileSync(join(ROOT, 'README.md'), stale);
    const text = readFileSync(stale, 'utf8');
    expect(text).toContain(from);
    writeFileSync(stale, text.replace(from, to));
    const check = run(DOCS, ['--check', '--readme', stale]);
    expect((await check.exited).code).toBe(1);
    expect(check.err()).toMatch(/are stale: run `pnpm settings-docs`/);
  });
});
