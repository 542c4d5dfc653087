#!/usr/bin/env node
// `tsws-master APP`: the pre-fork master. The command lives in @tsws/master (its dist/cli.js).
import { setFlagsFromString } from 'node:v8';

// The master runs no hot code of its own (workers serve; it forks, watches and relays), so V8's
// optimizing compilers are off in this process: paging them in costs the master 5-7 MB of RSS.
// Set before anything loads; workers are forked with the command line's flags, not these.
setFlagsFromString('--no-turbofan');
setFlagsFromString('--no-maglev');

import('@tsws/master/internal/cli').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws-master: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
