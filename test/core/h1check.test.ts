// The shared black-box HTTP/1.1 suite (../shared/h1check) against `tsws` (the single-process
// runner on the core) serving the suite's echo app, with the limits the suite is told about.
import { expect, it } from 'vitest';
import { echoApp, H1CHECK_FLAGS, runH1check } from '../helpers/h1check.js';
import { freePort, run, waitForHttp } from '../helpers/proc.js';

it('passes h1check against tsws serving the echo app', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const server = run('tsws', [echoApp(), '--bind', `127.0.0.1:${port}`, ...H1CHECK_FLAGS]);
  await waitForHttp(`http://127.0.0.1:${port}/echo`);
  const { code, output } = await runH1check(`http://127.0.0.1:${port}`);
  const failures = output
    .split('\n')
    .filter((line) => !line.startsWith('PASS'))
    .join('\n');
  expect(failures, `h1check output:\n${output}\nserver stderr:\n${server.err()}`).toMatch(/\b0 failed\b/);
  expect(code).toBe(0);
});
