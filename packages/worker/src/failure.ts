// How `tsws` and `tsws-master` say that they could not start. A user's mistake (a bad setting, a
// missing app, a port in use) is one plain line on stderr, `tsws: error: ...`, when the log goes
// to stderr from a command line; an exception the app threw is a log line with its stack.
import { SettingError } from './config.js';
import type { Logger } from './logging.js';
import { EXIT } from './protocol.js';

/** The process cannot start; `exitCode` is the protocol's answer (APP_LOAD_ERROR or BOOT_ERROR). */
export class BootError extends Error {
  override readonly name: string = 'BootError';
  readonly code = 'ERR_TSWS_BOOT' as string;
  constructor(
    message: string,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A mistake the message says all about; with a `cause`, the app's own exception, whose stack matters. */
export function isUserMistake(err: unknown): err is SettingError | BootError {
  return err instanceof SettingError || (err instanceof BootError && err.cause === undefined);
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof SettingError) return EXIT.USAGE;
  return err instanceof BootError ? err.exitCode : EXIT.ERROR;
}

/** The one line a command prints for a mistake. */
export function failLine(command: string, message: string): string {
  return `${command}: error: ${message}\n`;
}

/**
 * Says why a start failed: one plain line when `plain` (a command line whose log is stderr) and
 * it is a user's mistake; else a fatal log line with an `err` field: the app's own exception
 * with its stack, or the type and message alone.
 */
export function reportFailure(err: unknown, log: Logger, plain: { command: string } | undefined): void {
  if (plain && isUserMistake(err)) {
    process.stderr.write(failLine(plain.command, err.message));
    return;
  }
  if (err instanceof BootError && err.cause !== undefined) log.fatal({ err: err.cause }, err.message);
  else if (err instanceof BootError || err instanceof SettingError)
    log.fatal({ err: errorRecord(err.name, err.message), exitCode: exitCodeOf(err) }, err.message);
  else log.fatal({ err }, (err as Error)?.message ?? String(err));
}

/**
 * An error as data (sent by a worker, or a mistake with no stack worth showing), shaped so that
 * pino's err serializer says its own type: a null prototype, and the name not enumerable.
 */
export function errorRecord(type: string, message: string, stack?: string): object {
  const record = Object.assign(Object.create(null) as object, { message, ...(stack ? { stack } : {}) });
  return Object.defineProperty(record, 'name', { value: type, enumerable: false });
}
