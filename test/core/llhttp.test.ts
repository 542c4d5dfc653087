// The core reads llhttp's private struct inside undici's WASM build at fixed offsets. A build that
// does not match must stop the server with a clear error naming the undici found, never misread
// requests. Here the built core runs from a directory of its own beside a copy of undici's llhttp,
// once as installed and once with constants that no longer match the build (as an undici with
// another layout would look), in a child process like any app.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/proc.js';

const CORE = join(ROOT, 'packages/core');
const UNDICI = dirname(createRequire(join(CORE, 'package.json')).resolve('undici/package.json'));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Serves one POST with a 5-byte body and prints what the app saw, or the error that stopped it.
const APP = `import { serve } from '@tsws/core';
try {
  const server = await serve(async (r) => new Response(r.method + ' ' + (await r.text())), { bind: '127.0.0.1:0' });
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/', { method: 'POST', body: 'hello' });
  console.log(res.status + ' ' + (await res.text()));
  await server.close();
} catch (err) {
  console.log(err.code + ': ' + err.message);
}`;

/** Runs APP with the built core beside a copy of undici's llhttp that `doctor` may change. */
function runBeside(doctor: (undici: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsws-llhttp-'));
  dirs.push(dir);
  const core = join(dir, 'node_modules/@tsws/core');
  cpSync(join(CORE, 'package.json'), join(core, 'package.json'));
  cpSync(join(CORE, 'dist'), join(core, 'dist'), { recursive: true });
  const undici = join(dir, 'node_modules/undici');
  cpSync(join(UNDICI, 'package.json'), join(undici, 'package.json'));
  cpSync(join(UNDICI, 'lib/llhttp'), join(undici, 'lib/llhttp'), { recursive: true });
  doctor(undici);
  writeFileSync(join(dir, 'app.mjs'), APP);
  const run = spawnSync(process.execPath, ['app.mjs'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  return `${run.stdout}${run.stderr}`.trim();
}

/** Rewrites a file of the copy; the change must change something. */
function rewrite(file: string, change: (text: string) => string): void {
  const before = readFileSync(file, 'utf8');
  const after = change(before);
  expect(after, `a change to ${file}`).not.toBe(before);
  writeFileSync(file, after);
}

it('serves with the undici it depends on', () => {
  expect(runBeside(() => {})).toBe('200 POST hello');
});

it('refuses to start on an llhttp build whose layout it does not know, naming the undici found', () => {
  const out = runBeside((undici) => {
    // Another build: Content-Length's flag bit is not where the core reads it.
    rewrite(join(undici, 'lib/llhttp/constants.js'), (js) =>
      js.replace(/\bCONTENT_LENGTH: 1 << 5,/, 'CONTENT_LENGTH: 1 << 6,'),
    );
    rewrite(join(undici, 'package.json'), (json) => json.replace(/"version": "[^"]+"/, '"version": "7.99.0"'));
  });
  expect(out).toMatch(/^ERR_TSWS_LLHTTP: tsws: the llhttp build in undici 7\.99\.0 does not match/);
  expect(out).toContain('@tsws/core needs undici ~7.30.2');
  expect(out.split('\n')).toHaveLength(1);
});
