// Where a syntax error is. Node puts the place in a CommonJS or TypeScript error's stack
// (`/app.cjs:3` over the line and a caret), but an ES module's SyntaxError carries only the
// message: Node prints the place when the error kills the process, from data JavaScript cannot
// read. So for those, `node --check` reads the file again in a child process (on this failure
// path only): first the file imported, then the relative modules it imports, a bounded few.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `/path/app.mjs:3:13`, from a stack that starts `path:line`, the source line and a caret. */
function fromStack(stack: string): string | undefined {
  const m = /^(?:file:\/\/)?(\/[^\n]*?):(\d+)\n(?:\n)?[^\n]*\n(\s*)\^/.exec(stack);
  if (!m) return undefined;
  return `${m[1]}:${m[2]}:${m[3]!.length + 1}`;
}

function check(file: string): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(process.execPath, ['--check', file], { timeout: 10_000 }, (err, _out, stderr) =>
      done(err ? fromStack(String(stderr)) : undefined),
    );
  });
}

/** The relative modules `file` imports statically, as absolute paths. */
function relativeImports(file: string): string[] {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const found = new Set<string>();
  for (const m of source.matchAll(/\b(?:from|import)\s*['"](\.{1,2}\/[^'"]+)['"]/g))
    found.add(resolve(dirname(file), m[1]!));
  return [...found];
}

const MAX_FILES = 20;

/** Is it the module loader's own SyntaxError (the file did not compile), not one the app threw while running? */
function isCompileError(err: Error): boolean {
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return frames.length > 0 && frames.every((l) => /\(node:|at node:/.test(l));
}

/**
 * `file:line:column: SyntaxError: message` for a module that did not compile, else undefined
 * (not a syntax error, or thrown by the app's own code while running: its stack says where).
 */
export async function describeSyntaxError(err: unknown, file: string): Promise<string | undefined> {
  if (!(err instanceof SyntaxError)) return undefined;
  const what = `${err.name}: ${err.message}`;
  const placed = fromStack(err.stack ?? '');
  if (placed) return `${placed}: ${what}`;
  if (!isCompileError(err)) return undefined;
  const queue = [file.startsWith('file:') ? fileURLToPath(file) : file];
  const seen = new Set<string>();
  while (queue.length && seen.size < MAX_FILES) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    const where = await check(next);
    if (where) return `${where}: ${what}`;
    queue.push(...relativeImports(next));
  }
  return `${what} (in a module it imports)`;
}
