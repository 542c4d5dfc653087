#!/usr/bin/env node
// `tsws-ctl`: the control client of a running tsws-master. The command lives in @tsws/master (its dist/ctl.js).
import('@tsws/master/internal/ctl').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('tsws-ctl: not built yet: run `pnpm install` (or `pnpm build`) at the repository root');
    process.exit(1);
  }
  throw err;
});
