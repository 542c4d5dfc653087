// tsws core: the shared fetch app served by serve() from @tsws/core, in-process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(import.meta.url);
const BUILT = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));

export default {
  name: 'tsws core',
  about: 'serve(app) from @tsws/core, default options',
  subject: true,
  quick: true,
  streaming: true,
  memory: { idle: true, perConnection: true },
  lacks: {
    accessLog: 'the access log comes with @tsws/worker (tsws CLI)',
    reload: "one process: reloading workers is the master's job",
  },
  unavailable: () => (existsSync(BUILT) ? null : 'packages/core is not built: run `pnpm build`'),
  command: ({ port, keepAliveTimeout, accessLog }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, keepAliveTimeout, accessLog }),
  ],
};

async function main({ port, keepAliveTimeout }) {
  const { serve } = await import('@tsws/core');
  const { default: app } = await import('../app.mjs');
  await serve(app, { bind: `127.0.0.1:${port}`, ...(keepAliveTimeout ? { keepAliveTimeout } : {}) });
}

if (process.argv[1] === PROGRAM) await main(JSON.parse(process.argv[2]));
