// `tsws APP [options]`: serve an app in one process (see command.ts for what both commands share).
import { readFileSync } from 'node:fs';
import { runCommand } from './command.js';
import { preflight } from './preflight.js';
import { runStandalone } from './standalone.js';
import { TSWS_USAGE } from './usage.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runCommand({
  command: 'tsws',
  version,
  usage: TSWS_USAGE,
  preflight: (settings) => void preflight(settings, 'tsws'),
  start: ({ settings, sources, warnings }) =>
    runStandalone(settings, { bindGiven: sources.bind !== 'default', plainErrors: true, warnings }),
});
