// `tsws APP [options]`: serve an app in one process. Exit codes are the protocol's: 0 after a
// clean stop, 2 for a bad command line or setting, 3 when it cannot start (bind, worker class,
// user switch), 4 when the app cannot be loaded. A user's mistake is one line on stderr.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CommanderError } from 'commander';
import { resolveWorkerClass } from './classes.js';
import { printable, resolveSettings, SettingError } from './config.js';
import { createLogger } from './logging.js';
import { EXIT } from './protocol.js';
import { BootError, loadSettingsApp } from './runtime.js';
import { runStandalone } from './standalone.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function fail(message: string, code: number): never {
  process.stderr.write(`tsws: error: ${message}\n`);
  process.exit(code);
}

/** --check-config: the settings resolved; now the app must load and fit a worker class. */
async function checkConfig(settings: Awaited<ReturnType<typeof resolveSettings>>['settings']): Promise<never> {
  try {
    settings.chdir = resolve(settings.chdir);
    process.chdir(settings.chdir);
    const app = await loadSettingsApp(settings);
    const Class = await resolveWorkerClass(settings.workerClass, app, settings.chdir);
    process.stdout.write(
      `tsws: config OK: APP "${settings.app}" is ${app.kind}, ` +
        `served by worker class ${Class.workerName ?? Class.name}\n`,
    );
    process.exit(EXIT.OK);
  } catch (err) {
    const cause = (err as Error).cause;
    process.stderr.write(`tsws: error: ${(err as Error).message}\n`);
    if (cause instanceof Error && cause.stack) process.stderr.write(`${cause.stack}\n`);
    process.exit(EXIT.ERROR);
  }
}

async function main(argv: string[]): Promise<void> {
  let resolved: Awaited<ReturnType<typeof resolveSettings>>;
  try {
    resolved = await resolveSettings('tsws', { argv, env: process.env, version: VERSION });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version were printed by commander (to stdout); anything else is a usage error.
      if (err.exitCode === 0) process.exit(EXIT.OK);
      fail(err.message.replace(/^error: /, ''), EXIT.USAGE);
    }
    if (err instanceof SettingError) fail(err.message, EXIT.USAGE);
    throw err;
  }
  const { settings, sources } = resolved;
  if (settings.printConfig) {
    process.stdout.write(`${JSON.stringify(printable(settings), null, 2)}\n`);
    process.exit(EXIT.OK);
  }
  if (!settings.app)
    fail('missing APP: name the app to serve as module:export, e.g. `tsws app.js:app` (see tsws --help)', EXIT.USAGE);
  if (settings.checkConfig) await checkConfig(settings);
  const code = await runStandalone(settings, { bindGiven: sources.bind !== 'default', plainErrors: true });
  process.exit(code);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Not a user's mistake: a bug in tsws. Say so with the stack.
  if (err instanceof BootError) fail(err.message, err.exitCode);
  createLogger({ logLevel: 'fatal', logFormat: 'json', errorLog: '-' }).log.fatal({ err }, 'tsws failed');
  process.exit(EXIT.ERROR);
});
