// The error catalogue (docs/errors.md) against the code, as fastify checks its own: every code an
// error of the packages carries is ERR_TSWS_*, is catalogued, and every catalogued code is thrown.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/proc.js';

/** `code = 'X'` or `code: 'X'` in every source file of the packages, with where each is. */
function codesInSources(): Map<string, string> {
  const found = new Map<string, string>();
  for (const pkg of ['core', 'worker', 'master']) {
    const dir = join(ROOT, 'packages', pkg, 'src');
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/\bcode\s*[=:]\s*['"`]([A-Z][A-Z0-9_]+)['"`]/g))
        found.set(m[1]!, `packages/${pkg}/src/${file}`);
    }
  }
  return found;
}

/** The first column of docs/errors.md's table. */
function catalogued(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  return [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe('the error catalogue (docs/errors.md)', () => {
  const sources = codesInSources();

  it('lists each code once', () => {
    const codes = catalogued();
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('names every code the packages throw ERR_TSWS_*, and lists it', () => {
    for (const [code, file] of sources) {
      expect(code, file).toMatch(/^ERR_TSWS_[A-Z0-9_]+$/);
      expect(catalogued(), `${code} (${file}) is missing from docs/errors.md`).toContain(code);
    }
  });

  it('lists no code the packages do not throw', () => {
    for (const code of catalogued()) expect([...sources.keys()], `${code} is in docs/errors.md only`).toContain(code);
  });
});
