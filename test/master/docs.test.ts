import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/proc.js';
import { tempDir } from './helpers.js';

const DOCS = join(ROOT, 'scripts/settings-docs.mjs');

describe('the README option, signal and exit code tables', () => {
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
    expect(check.err()).toMatch(/are stale: run `pnpm settings-docs`/);
  });

  it('fails the check when the signals or exit codes drift from what --help says', async () => {
    for (const [from, to] of [
      ['| `USR2` | Ignored, with a log line. |', '| `USR2` | Restarts. |'],
      ['| `4` | The app could not be loaded', '| `4` | The app did not load'],
    ] as const) {
      const stale = join(tempDir(), 'README.md');
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      expect(readme).toContain(from);
      writeFileSync(stale, readme.replace(from, to));
      const check = run(DOCS, ['--check', '--readme', stale]);
      expect((await check.exited).code).toBe(1);
    }
  });
});
