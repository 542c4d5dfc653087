// --reload (development): watch the source files under --chdir and ask for a reload when one
// changes. One non-recursive fs.watch per directory, skipping node_modules and dot-directories:
// Node's recursive mode on Linux walks node_modules too, thousands of inotify watches.
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { extname, join } from 'node:path';

const SOURCE = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx', '.json']);
const MAX_DIRS = 2000;
/** Editors write a file in several steps; one reload per burst. */
const SETTLE_MS = 200;

function skipped(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/** Watches `root`; calls `onChange(path)` once per burst of changes. Returns a function that stops watching. */
export function watchSources(root: string, onChange: (path: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let changed = '';

  const add = (dir: string): void => {
    if (watchers.has(dir) || watchers.size >= MAX_DIRS) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
      const watcher = watch(dir, (_event, name) => {
        if (!name) return;
        const path = join(dir, name);
        if (SOURCE.has(extname(name))) {
          changed = path;
          clearTimeout(timer);
          timer = setTimeout(() => onChange(changed), SETTLE_MS);
        } else if (!skipped(name)) {
          // Maybe a new directory.
          try {
            if (statSync(path).isDirectory()) add(path);
          } catch {
            // gone again
          }
        }
      });
      watcher.on('error', () => {
        watcher.close();
        watchers.delete(dir);
      });
      watchers.set(dir, watcher);
    } catch {
      return; // unreadable or gone
    }
    for (const entry of entries) if (entry.isDirectory() && !skipped(entry.name)) add(join(dir, entry.name));
  };
  add(root);
  return () => {
    clearTimeout(timer);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}
