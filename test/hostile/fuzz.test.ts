// The fuzzer's short pass (test/helpers/fuzz.mjs; the long one is `pnpm fuzz`): mutated requests
// against tsws in a child process, checked against node:http's strict parser; the server must
// stay up, never give a 2xx to what the reference refused, and leak nothing.
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../helpers/fuzz.mjs';
import { seedOf } from '../helpers/random.mjs';

const seed = seedOf(process.env.TSWS_FUZZ_SEED);
const SECONDS = 12;

describe('fuzzing the parser against node:http (strict)', () => {
  it(`survives ${SECONDS} s of mutated requests (replay: TSWS_FUZZ_SEED=${seed})`, {
    timeout: (SECONDS + 40) * 1000,
  }, async () => {
    const figures = await runFuzz({ seconds: SECONDS, seed, concurrency: 16 });
    const summary = `TSWS_FUZZ_SEED=${seed}: ${figures.sent} cases, outcomes ${JSON.stringify(figures.outcomes)}`;
    expect(
      figures.failures,
      `${summary}\nreplay one case with: TSWS_FUZZ_SEED=${seed} node bench/fuzz/run.mjs --case N`,
    ).toEqual([]);
    // It did real work: enough cases, some served and some refused.
    expect(figures.sent, summary).toBeGreaterThan(300);
    expect(figures.statuses['200'] ?? 0, summary).toBeGreaterThan(10);
    expect(figures.statuses['400'] ?? 0, summary).toBeGreaterThan(10);
    expect(figures.leaks?.after.connections).toBe(0);
  });
});
