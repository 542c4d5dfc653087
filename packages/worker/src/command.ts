// The command line `tsws` and `tsws-master` share: one parser built from the settings table, one
// --help (with signals, exit codes and examples), --version, --print-config, one --check-config,
// one way to say a mistake (`tsws: error: ...`, one line) and one set of exit codes. What differs
// between the two commands is what `start` does.
import { CommanderError } from 'commander';
import { printable, type Resolved, resolveSettings, SettingError } from './config.js';
import { BootError, failLine, isUserMistake } from './failure.js';
import { createLogger } from './logging.js';
import { EXIT } from './protocol.js';
import type { Command, Settings } from './settings.js';
import type { Usage } from './usage.js';

export interface CommandSpec {
  command: Command;
  version: string;
  usage: Usage;
  /** The command's own checks before anything starts (throws SettingError); --check-config runs them too. */
  preflight(settings: Settings): void;
  /**
   * Serves until stopped and resolves with the exit code, having reported any failure itself.
   * `reread` resolves the settings again from every source (a master's reload).
   */
  start(resolved: Resolved, reread: () => Promise<Resolved>): Promise<number>;
}

/** Runs `spec.command` with `argv` to its end: this process exits with the command's code. */
export async function runCommand(spec: CommandSpec, argv: string[] = process.argv.slice(2)): Promise<never> {
  const { command } = spec;
  const fail = (message: string, code: number): never => {
    process.stderr.write(failLine(command, message));
    process.exit(code);
  };
  const checking = argv.includes('--check-config');
  const reread = () => resolveSettings(command, { argv, version: spec.version, usage: spec.usage });
  try {
    let resolved: Resolved;
    try {
      resolved = await reread();
    } catch (err) {
      // --help and --version: commander has printed them (to stdout).
      if (err instanceof CommanderError && err.exitCode === 0) process.exit(EXIT.OK);
      if (err instanceof SettingError) fail(err.message, checking ? EXIT.ERROR : EXIT.USAGE);
      throw err;
    }
    const { settings } = resolved;
    if (settings.printConfig) {
      process.stdout.write(`${JSON.stringify(printable(settings), null, 2)}\n`);
      process.exit(EXIT.OK);
    }
    if (settings.checkConfig) await checkConfig(spec, resolved);
    process.exit(await spec.start(resolved, reread));
  } catch (err) {
    // Not a user's mistake: a bug in tsws. Say so with the stack.
    createLogger({ logLevel: 'fatal', logFormat: 'json', errorLog: '-' }).log.fatal({ err }, `${command} failed`);
    process.exit(EXIT.ERROR);
  }
}

/** --check-config: the settings, the command's own checks, then the app loads and a worker class fits it. */
async function checkConfig(spec: CommandSpec, resolved: Resolved): Promise<never> {
  const { command } = spec;
  for (const warning of resolved.warnings) process.stderr.write(`${command}: warning: ${warning}\n`);
  try {
    spec.preflight(resolved.settings);
    // Loaded here only: the app loader and the worker classes bring the core with them.
    const { checkApp } = await import('./runtime.js');
    process.stdout.write(`${command}: config OK: ${await checkApp(resolved.settings)}\n`);
    process.exit(EXIT.OK);
  } catch (err) {
    process.stderr.write(failLine(command, (err as Error)?.message ?? String(err)));
    // The app threw while loading (where it threw), or a bug in tsws.
    const detail = err instanceof BootError ? err.cause : isUserMistake(err) ? undefined : err;
    if (detail !== undefined) process.stderr.write(`${(detail as Error)?.stack ?? String(detail)}\n`);
    process.exit(EXIT.ERROR);
  }
}
