// The bench's declarations: each file in scenarios/, servers/ and ceilings/ default-exports one
// definition or an array of them (bench/README.md says what they hold).
import { readdirSync } from 'node:fs';

/** Every definition in `dir` (relative to bench/), each with `id` (its file name) and a `name`. */
export async function loadDir(dir) {
  const files = readdirSync(new URL(dir, import.meta.url)).filter((f) => f.endsWith('.mjs'));
  const out = [];
  for (const file of files) {
    const id = file.slice(0, -4);
    const mod = (await import(new URL(`${dir}/${file}`, import.meta.url))).default;
    for (const def of [mod].flat()) out.push({ id, ...def, name: def.name ?? id });
  }
  return out;
}
