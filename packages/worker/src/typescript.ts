// TypeScript apps: Node's own type stripping where the running Node has it (on by default from
// 22.18 and 23.6, behind --experimental-strip-types from 22.6), else tsx when the project has it
// installed (resolved from --chdir, never from tsws's own dependencies), else a clear error.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A TypeScript module the running Node cannot load; the message says what to install. Internal:
 * loadExport() passes the message on in an AppLoadError (ERR_TSWS_APP_LOAD), so it has no code.
 */
export class TypeScriptUnavailable extends Error {
  override readonly name = 'TypeScriptUnavailable';
}

export function isTypeScript(file: string): boolean {
  return /\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file);
}

/** 'strip' or 'transform' when this Node strips types itself (process.features.typescript, Node >= 22.10). */
function nativeTypeScript(): boolean {
  return Boolean((process.features as { typescript?: string | false }).typescript);
}

/** The files of tsx's ESM and CommonJS register APIs, from the project at `chdir`; undefined without tsx. */
function findTsx(chdir: string): string[] | undefined {
  let manifest: string;
  try {
    manifest = createRequire(join(chdir, 'noop.js')).resolve('tsx/package.json');
  } catch {
    return undefined;
  }
  // Their `import` builds, read from tsx's own export map: its CommonJS build of esm/api
  // registers its hooks by a path that only holds from the ESM build (tsx 4.23).
  type Target = string | { import?: Target; default?: Target };
  const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, Target> }).exports ?? {};
  const pick = (target: Target | undefined): string | undefined =>
    typeof target === 'string' || target === undefined ? target : pick(target.import ?? target.default);
  const files = ['./esm/api', './cjs/api'].map((api) => pick(exports[api]));
  if (files.some((f) => f === undefined)) return undefined;
  return files.map((f) => join(dirname(manifest), f!));
}

let tsxRegistered = false;

async function registerTsx(apis: string[]): Promise<void> {
  if (tsxRegistered) return;
  for (const api of apis) {
    const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    register();
  }
  tsxRegistered = true;
}

// Node refuses, before running anything, syntax that stripping cannot erase (enums, parameter
// properties, namespaces) and .ts files under node_modules: tsx can still load those.
const NATIVE_REFUSALS = new Set([
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
]);

export async function importTypeScript(file: string, chdir: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  const tsx = findTsx(chdir);
  if (nativeTypeScript()) {
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (err) {
      if (!tsx || !NATIVE_REFUSALS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      // The failed load stays in the ESM cache under its URL: a query string makes a fresh one.
      await registerTsx(tsx);
      return (await import(`${url}?tsx`)) as Record<string, unknown>;
    }
  }
  if (tsx) {
    await registerTsx(tsx);
    return (await import(url)) as Record<string, unknown>;
  }
  throw new TypeScriptUnavailable(
    `${file} is TypeScript, and Node ${process.version} cannot strip types by itself: ` +
      'install tsx in the project (npm install --save-dev tsx), run Node >= 22.18, or compile the app to JavaScript',
  );
}
