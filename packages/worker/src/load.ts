// Loading the app named by `module:export`, relative to --chdir.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The app could not be loaded; the message says which part of `module:export` failed and why. */
export class AppLoadError extends Error {
  readonly code = 'TSWS_APP_LOAD';
}

/** Splits `module:export` at the first colon: `app.js:api.handler` is `app.js` and `api.handler`. */
export function parseAppSpec(spec: string): { module: string; exportPath: string } {
  const colon = spec.indexOf(':');
  const module = colon < 0 ? spec : spec.slice(0, colon);
  const exportPath = colon < 0 ? 'default' : spec.slice(colon + 1) || 'default';
  if (!module) throw new AppLoadError(`APP "${spec}": expected module:export, e.g. app.js:app`);
  return { module, exportPath };
}

const EXTENSIONS = ['', '.js', '.mjs', '.cjs'];

/** Imports the module and walks to the export (dotted paths allowed). */
export async function loadApp(spec: string, chdir: string): Promise<unknown> {
  const { module, exportPath } = parseAppSpec(spec);
  const file = EXTENSIONS.map((ext) => resolve(chdir, module + ext)).find((f) => existsSync(f));
  if (file === undefined) throw new AppLoadError(`APP "${spec}": cannot find module "${module}" in ${chdir}`);
  let value: unknown = await import(pathToFileURL(file).href);
  for (const key of exportPath.split('.')) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || !(key in value)) {
      throw new AppLoadError(`APP "${spec}": ${file} has no export "${exportPath}"`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
