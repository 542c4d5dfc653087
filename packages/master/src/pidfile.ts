// The pid file (-p/--pid): written when the master starts, removed when it exits.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { SettingError } from '@tsws/worker';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes our pid to `path`, refusing when the file names another live process (a second master
 * started by mistake). Written to a temporary file and renamed, so a reader never sees it half done.
 */
export function writePidFile(path: string, pid = process.pid): void {
  const existing = readPid(path);
  if (existing !== undefined && existing !== pid && alive(existing)) {
    throw new SettingError(`--pid: ${path} names process ${existing}, which is running (another master?)`);
  }
  const tmp = `${path}.${pid}.tmp`;
  try {
    writeFileSync(tmp, `${pid}\n`);
    renameSync(tmp, path);
  } catch (err) {
    throw new SettingError(`--pid: cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes the pid file if it still names us (a newer master may have taken it over). */
export function removePidFile(path: string, pid = process.pid): void {
  if (readPid(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
