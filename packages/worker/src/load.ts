// Loading the app named by `module:export`, relative to --chdir: `app.js:app`, `app` (the default
// export), dotted attributes (`app:server.handler`) and factories (`app:createApp({"debug":true})`).
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeSyntaxError } from './syntax.js';
import { importTypeScript, isTypeScript, TypeScriptUnavailable } from './typescript.js';

/**
 * The app could not be loaded. Without a `cause` the message is the whole story (a user mistake:
 * a missing module or export, a bad spec); with one, the cause is the app's own exception (it
 * threw at import time, or its factory threw) and its stack belongs in the log.
 */
export class AppLoadError extends Error {
  override readonly name = 'AppLoadError';
  readonly code = 'ERR_TSWS_APP_LOAD';
}

export interface AppSpec {
  module: string;
  /** The dotted export path as written, `default` when none was given. */
  exportPath: string;
  /** The path split at the dots. */
  path: string[];
  /** The factory's arguments when the spec ends in a call, `createApp(1, "x")`; else undefined. */
  args: unknown[] | undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const EXPORT = /^([^()]*?)(?:\((.*)\))?$/s;

/**
 * Splits `module:export` at the first colon: `app.js:api.handler` is `app.js` and `api.handler`.
 * A trailing `(...)` makes the export a factory, called with JSON literal arguments.
 */
export function parseAppSpec(spec: string): AppSpec {
  const colon = spec.indexOf(':');
  const module = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const rest = colon < 0 ? '' : spec.slice(colon + 1).trim();
  if (!module) throw new AppLoadError(`APP "${spec}": expected module:export, e.g. app.js:app`);
  const m = EXPORT.exec(rest)!;
  const exportPath = m[1]!.trim() || 'default';
  const path = exportPath.split('.');
  const bad = path.find((key) => !IDENTIFIER.test(key));
  if (bad !== undefined) {
    throw new AppLoadError(
      `APP "${spec}": "${rest}" is not an export: ` +
        'expected a name, a dotted path (server.handler) or a call (createApp())',
    );
  }
  let args: unknown[] | undefined;
  if (m[2] !== undefined) {
    try {
      args = JSON.parse(`[${m[2]}]`) as unknown[];
    } catch (err) {
      throw new AppLoadError(
        `APP "${spec}": the arguments of ${exportPath}(...) must be JSON literals (${(err as Error).message})`,
      );
    }
  }
  return { module, exportPath, path, args };
}

const EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The file `module` names: a path (extension optional), a directory, or a package name. */
export function resolveModule(module: string, dir: string, what = 'module'): string {
  const chdir = resolve(dir);
  const base = resolve(chdir, module);
  const tried = [base, ...(extname(module) ? [] : EXTENSIONS.map((ext) => base + ext))];
  const found = tried.find(isFile);
  if (found) return found;
  // A directory (its package.json main or index.js) or a package in node_modules.
  const bare = !module.startsWith('.') && !isAbsolute(module);
  try {
    return createRequire(join(chdir, 'noop.js')).resolve(bare ? module : base);
  } catch {
    const names = tried.map((f) => relative(chdir, f));
    throw new AppLoadError(
      `cannot find ${what} "${module}" in ${chdir} (tried ${names.join(', ')}${bare ? ' and node_modules' : ''})`,
    );
  }
}

/** Imports a file, through TypeScript support for .ts/.mts/.cts. Throws what the module throws. */
export async function importFile(file: string, chdir: string): Promise<Record<string, unknown>> {
  if (isTypeScript(file)) return importTypeScript(file, chdir);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** "an object with keys [a, b]", "a function", "undefined": what a user's value looks like. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') {
    if (/^class\b/.test(Function.prototype.toString.call(value))) return `the class ${value.name || '(anonymous)'}`;
    return `a function (${value.name || 'anonymous'}, taking ${value.length} argument${value.length === 1 ? '' : 's'})`;
  }
  if (typeof value !== 'object') return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const keys = new Set(Object.keys(value));
  // Class instances carry their methods on the prototype: show those too.
  for (
    let proto = Object.getPrototypeOf(value);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const k of Object.getOwnPropertyNames(proto)) if (k !== 'constructor') keys.add(k);
  }
  // What app detection looks at comes first, so it survives the cut below.
  const notable = ['fetch', 'callback', 'handle', 'routing', 'listen'].filter((k) => keys.has(k));
  const list = [...notable, ...[...keys].filter((k) => !notable.includes(k))];
  const name = (value as object).constructor?.name;
  const shown = `${list.slice(0, 12).join(', ')}${list.length > 12 ? ', ...' : ''}`;
  return `${name && name !== 'Object' ? `a ${name} object` : 'an object'} with keys [${shown}]`;
}

function exportNames(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace).sort();
  return names.length ? names.join(', ') : 'none';
}

/**
 * Imports `spec`'s module from `chdir` and walks to its export, calling it when the spec ends in a
 * call (awaiting a promise it returns). `what` names the thing in messages ("APP", "worker class").
 */
export async function loadExport(spec: string, chdir: string, what = 'APP'): Promise<unknown> {
  const parsed = parseAppSpec(spec);
  let file: string;
  try {
    file = resolveModule(parsed.module, chdir);
  } catch (err) {
    throw new AppLoadError(`${what} "${spec}": ${(err as Error).message}`);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = await importFile(file, chdir);
  } catch (err) {
    if (err instanceof TypeScriptUnavailable) throw new AppLoadError(`${what} "${spec}": ${err.message}`);
    // A file that does not compile: where, as `node app.mjs` would say it (a user's mistake, no stack).
    const syntax = await describeSyntaxError(err, file);
    if (syntax) throw new AppLoadError(`${what} "${spec}": ${syntax}`);
    throw new AppLoadError(
      `${what} "${spec}": ${file} threw while loading: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }

  // A transpiled module (TypeScript, Babel, esbuild's tsx in a CommonJS project) arrives as
  // CommonJS with its own `default` inside, marked __esModule: its exports are the module's.
  if (isObjectLike(namespace.default) && namespace.default.__esModule === true)
    namespace = namespace.default as Record<string, unknown>;
  let value: unknown = namespace;
  let parent: unknown;
  for (const [i, key] of parsed.path.entries()) {
    let holder = value;
    // CommonJS: `module.exports = { app }` arrives as the default export; look there too.
    if (i === 0 && !(key in namespace) && isObjectLike(namespace.default) && key in namespace.default)
      holder = namespace.default;
    if (!isObjectLike(holder) || !(key in holder)) {
      const where =
        i === 0
          ? `${file} has no export "${key}" (its exports: ${exportNames(namespace)})`
          : `"${parsed.path.slice(0, i).join('.')}" in ${file} has no "${key}": it is ${describeValue(holder)}`;
      throw new AppLoadError(`${what} "${spec}": ${where}`);
    }
    parent = holder;
    value = (holder as Record<string, unknown>)[key];
  }
  if (parsed.args !== undefined) {
    if (typeof value !== 'function') {
      throw new AppLoadError(
        `${what} "${spec}": "${parsed.exportPath}" is ${describeValue(value)}, so it cannot be called`,
      );
    }
    try {
      value = await (value as (...args: unknown[]) => unknown).apply(
        parsed.path.length > 1 ? parent : undefined,
        parsed.args,
      );
    } catch (err) {
      throw new AppLoadError(
        `${what} "${spec}": ${parsed.exportPath}() threw: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
  }
  return value;
}

function isObjectLike(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Imports the module and walks to the export (dotted paths and factories allowed). */
export function loadApp(spec: string, chdir: string): Promise<unknown> {
  return loadExport(spec, chdir, 'APP');
}
