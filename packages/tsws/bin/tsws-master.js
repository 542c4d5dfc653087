#!/usr/bin/env node
// `tsws-master APP`: the pre-fork master. The command lives in @tsws/master (its dist/cli.js).
import('@tsws/master/internal/cli').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws-master: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
