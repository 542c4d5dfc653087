#!/usr/bin/env node
// Fails on a source line over 120 columns in packages/ and test/ (part of `pnpm lint`). Biome
// formats to 120 columns but cannot enforce it: its lineWidth is a target for the printer, which
// never breaks a string, a template literal, a regular expression or a comment, and it has no
// lint rule for line length (Biome 2.6 has only lines per file and per function). Long text is
// wrapped by hand: string concatenation, shorter wording, or a comment over several lines.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 120;
const DIRS = ['packages', 'test'];
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

const SKIP = /(^|\/)(node_modules|dist)\//;
const files = DIRS.flatMap((dir) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => SOURCE.test(f) && !SKIP.test(f)),
);
const long = [];
for (const file of files) {
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    const columns = [...line].length;
    if (columns > MAX) long.push(`${file}:${i + 1}: ${columns} columns`);
  }
}
if (long.length) {
  console.error(`${long.join('\n')}\nline-length: ${long.length} line(s) over ${MAX} columns; wrap them by hand`);
  process.exit(1);
}
