import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/proc.js';
import { tempDir } from './helpers.js';

const DOCS = join(ROOT, 'scripts/settings-docs.mjs');

describe('the README option table', () => {
  it('is what `pnpm settings-docs` generates from the settings table', async () => {
    const check = run(DOCS, ['--check']);
    expect(await check.exited, check.err()).toEqual({ code: 0, signal: null });
  });

  it('fails the check when it drifts from the settings table', async () => {
    const stale = join(tempDir(), 'README.md');
    copyFileSync(join(ROOT, 'README.md'), stale);
    writeFileSync(stale, readFileSync(stale, 'utf8').replace('How many worker processes to run.', 'How many workers.'));
    const check = run(DOCS, ['--check', '--readme', stale]);
    expect((await check.exited).code).toBe(1);
    expect(check.err()).toMatch(/is stale: run `pnpm settings-docs`/);
  });
});
