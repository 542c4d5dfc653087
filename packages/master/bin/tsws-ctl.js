#!/usr/bin/env node
// The control client of tsws-master; the code lives in dist/ (built by `pnpm build`).
import('../dist/ctl.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws-ctl: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
