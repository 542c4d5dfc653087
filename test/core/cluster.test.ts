// The core inside node:cluster workers: connections the primary hands over are never lost.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT, run } from '../helpers/proc.js';

describe('in a node:cluster worker', () => {
  it('serves connections handed over in the same turn its listen() completes (round-robin)', async () => {
    const proc = run(join(ROOT, 'test/fixtures/cluster-handoff.mjs'), [String(await freePort())]);
    const [line] = await proc.waitFor(/\[.*\]/, 20_000);
    const answers = JSON.parse(line) as string[];
    expect(answers).toHaveLength(6);
    expect(answers.filter((a) => a === 'a' || a === 'b')).toHaveLength(6);
  });
});
