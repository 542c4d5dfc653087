#!/usr/bin/env node
// The pre-fork master; the code lives in dist/ (built by `pnpm build`).
import('../dist/cli.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws-master: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
