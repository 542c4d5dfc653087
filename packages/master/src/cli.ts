// tsws-master APP [options]: settings from the table (defaults < config file < TSWS_* env <
// TSWS_CMD_ARGS < command line), then the master. A user's mistake is one line on stderr and exit
// code 2; see EXIT for the others.
import { readFileSync } from 'node:fs';
import { EXIT, loadApp, printable, type Resolved, resolveSettings, SettingError, type Settings } from '@tsws/worker';
import { Master } from './master.js';
import { plan } from './plan.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function fail(message: string, code: number): never {
  process.stderr.write(`tsws-master: ${message}\n`);
  process.exit(code);
}

/** --check-config: the master's own checks, then the app loads and looks like an app. */
async function check(settings: Settings): Promise<void> {
  plan(settings);
  const app = await loadApp(settings.app!, settings.chdir);
  const isApp =
    typeof app === 'function' ||
    (typeof app === 'object' && app !== null && typeof (app as { fetch?: unknown }).fetch === 'function');
  if (!isApp)
    throw new Error(
      `APP "${settings.app}": expected a fetch handler, an object with a fetch method, or a (req, res) listener; ` +
        `got ${app === null ? 'null' : typeof app}`,
    );
}

async function main(argv: string[]): Promise<void> {
  const checking = argv.includes('--check-config');
  const read = () => resolveSettings('tsws-master', { argv, version: VERSION });
  let resolved: Resolved;
  try {
    resolved = await read();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // --help and --version: commander has printed them.
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version')
      process.exit(EXIT.OK);
    if (err instanceof SettingError) fail(err.message, checking ? EXIT.ERROR : EXIT.USAGE);
    throw err;
  }
  const { settings } = resolved;
  if (settings.printConfig) {
    process.stdout.write(`${JSON.stringify(printable(settings), null, 2)}\n`);
    process.exit(EXIT.OK);
  }
  if (settings.checkConfig) {
    try {
      await check(settings);
    } catch (err) {
      fail((err as Error).message, EXIT.ERROR);
    }
    process.stdout.write(`tsws-master: the settings are valid and ${settings.app} loads\n`);
    process.exit(EXIT.OK);
  }
  // The first resolve is reused; a reload (HUP) reads every source again.
  let first: Resolved | undefined = resolved;
  const master = new Master(async () => {
    const r = first ?? (await read());
    first = undefined;
    return r;
  });
  try {
    await master.start();
  } catch (err) {
    if (err instanceof SettingError) fail(err.message, EXIT.USAGE);
    // A halt (HaltError) or a stop signal during start: the master has logged why.
    if (master.state !== 'stopping' && master.state !== 'stopped') throw err;
  }
  process.exit(await master.done);
}

await main(process.argv.slice(2));
