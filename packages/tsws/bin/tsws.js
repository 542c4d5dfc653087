#!/usr/bin/env node
// `tsws APP`: serve an app in one process. The command lives in @tsws/worker (its dist/cli.js).
import('@tsws/worker/internal/cli').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
