// The pid file (-p/--pid) of `tsws` and `tsws-master` alike: written before anything starts,
// removed on exit; a file naming another live process is refused (a second instance by mistake).
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SettingError } from './config.js';

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
 * Writes our pid to `path`, refusing when the file names another live process (a second instance
 * started by mistake). Written to a temporary file and renamed, so a reader never sees it half
 * done. Returns the absolute path, for removing it after a --chdir.
 */
export function writePidFile(path: string, pid = process.pid): string {
  const file = resolve(path);
  const existing = readPid(file);
  if (existing !== undefined && existing !== pid && alive(existing)) {
    throw new SettingError(`--pid: ${path} names process ${existing}, which is running (a second instance?)`);
  }
  const tmp = `${file}.${pid}.tmp`;
  try {
    writeFileSync(tmp, `${pid}\n`);
    renameSync(tmp, file);
  } catch (err) {
    throw new SettingError(`--pid: cannot write ${path}: ${(err as Error).message}`);
  }
  return file;
}

/** Removes the pid file if it still names us (a newer instance may have taken it over). */
export function removePidFile(path: string, pid = process.pid): void {
  if (readPid(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
