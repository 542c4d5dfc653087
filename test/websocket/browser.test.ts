// A real browser: Debian's headless Chromium opens a page served by tsws and talks to it over a
// WebSocket (text, binary, permessage-deflate). CI installs chromium (.ci/run).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { RUNNERS, serve } from '../worker/serve.js';

it('headless Chromium echoes text and binary with tsws over a compressed WebSocket', async () => {
  const { proc, origin } = await serve(RUNNERS[0]!, 'ws-browser.js');
  onTestFinished(() => proc.kill('SIGKILL'));
  const profile = mkdtempSync(join(tmpdir(), 'tsws-chromium-'));
  onTestFinished(() => rmSync(profile, { recursive: true, force: true }));
  const browser = spawn(
    'chromium',
    ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, `${origin}/`],
    { stdio: 'ignore', detached: true },
  );
  // Its renderer and helper processes too: the whole group.
  onTestFinished(() => {
    if (browser.pid !== undefined) process.kill(-browser.pid, 'SIGKILL');
  });
  await proc.waitFor(/browser: bytes back: 1,2,3,250/, 30_000);
  expect(proc.out()).toMatch(/browser: hello, extensions: permessage-deflate/);
}, 40_000);
