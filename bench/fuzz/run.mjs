#!/usr/bin/env node
// The fuzzer, on demand: node bench/fuzz/run.mjs [--seconds 600] [--concurrency 16] [--case N]
// The seed comes from TSWS_FUZZ_SEED (or --seed), else a fresh one; it is printed first, so any
// failure replays: TSWS_FUZZ_SEED=<seed> node bench/fuzz/run.mjs --case <N>. Run `pnpm build` first.
import { parseArgs } from 'node:util';
import { caseSeed, makeCase, runCase, runFuzz, startChild, startReference } from '../../test/helpers/fuzz.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string' },
    case: { type: 'string' },
  },
});
const seedText = values.seed ?? process.env.TSWS_FUZZ_SEED;
const seed = seedText ? Number(seedText) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`tsws fuzz: TSWS_FUZZ_SEED=${seed} (node ${process.version})`);

if (values.case !== undefined) {
  // Replay one case and show everything about it.
  const index = Number(values.case);
  const s = caseSeed(seed, index);
  const { bytes, writes } = makeCase(s);
  console.log(`case ${index}: seed ${s}, ${bytes.length} bytes in writes of [${writes.join(', ')}]`);
  console.log(JSON.stringify(bytes.subarray(0, 4000).toString('latin1')));
  const child = await startChild();
  const reference = await startReference();
  const result = await runCase(s, child.port, reference);
  console.log(result.failure ?? `passed: ${result.outcome} (statuses ${result.statuses.join(', ') || 'none'})`);
  await reference.close();
  await child.stop();
  process.exit(result.failure ? 1 : 0);
}

const seconds = Number(values.seconds);
const figures = await runFuzz({
  seconds,
  seed,
  concurrency: Number(values.concurrency),
  log: (line) => console.log(line),
});
const rate = figures.elapsedMs ? Math.round(figures.sent / (figures.elapsedMs / 1000)) : 0;
console.log(
  `\n${figures.sent} mutated requests sent (${(figures.bytes / 1e6).toFixed(1)} MB) in ${((figures.elapsedMs ?? 0) / 1000).toFixed(1)} s, ${rate}/s`,
);
console.log('outcomes (tsws):', JSON.stringify(figures.outcomes));
console.log('statuses (tsws):', JSON.stringify(figures.statuses));
if (figures.leaks) console.log('after the run:', JSON.stringify(figures.leaks));
console.log(
  figures.failures.length ? `${figures.failures.length} FAILURES:\n${figures.failures.join('\n\n')}` : 'no failures',
);
process.exit(figures.failures.length ? 1 : 0);
