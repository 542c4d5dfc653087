// `tsws-master APP [options]`: the master on the command line both commands share (the worker
// package's command.ts); only what starts differs.
import { readFileSync } from 'node:fs';
import { MASTER_USAGE, type Resolved, runCommand } from '@tsws/worker/internal';
import { Master } from './master.js';
import { plan } from './plan.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runCommand({
  command: 'tsws-master',
  version,
  usage: MASTER_USAGE,
  preflight: (settings) => void plan(settings),
  async start(resolved, reread) {
    // The first resolve is used once; a reload (HUP) reads every source again.
    let first: Resolved | undefined = resolved;
    const master = new Master(
      async () => {
        const r = first ?? (await reread());
        first = undefined;
        return r;
      },
      { plainErrors: true },
    );
    // A failed start has been reported by the master; `done` has its exit code.
    await master.start().catch(() => {});
    return master.done;
  },
});
