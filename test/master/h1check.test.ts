import { describe, expect, it } from 'vitest';
import { echoApp, H1CHECK_FLAGS, runH1check } from '../helpers/h1check.js';
import { startMaster } from './helpers.js';

describe('h1check against tsws-master -w 2', () => {
  // Most of the time is h1check's own Python building its 1 MiB and 5 MiB bodies byte by byte.
  it('passes every check with the limits its README names', { timeout: 120_000 }, async () => {
    const m = await startMaster(echoApp(), ['-w', '2', ...H1CHECK_FLAGS]);
    const { code, output: out } = await runH1check(m.origin);
    expect(out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(code, out).toBe(0);
    // No worker died on the way.
    expect(m.logs().filter((l) => /died|killed/.test(l.msg))).toEqual([]);
  });
});
