// The README shows code that must stay true: the worked worker-class example is the file the
// tests run, the quick start's files exist and answer as it says, and the config example shows
// every hook the settings table declares, with its arguments.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '@tsws/worker/internal';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT, run, waitForHttp } from '../helpers/proc.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('the README', () => {
  it('shows the worked worker-class example exactly as examples/custom-worker/health-worker.js has it', () => {
    const file = readFileSync(join(ROOT, 'examples/custom-worker/health-worker.js'), 'utf8');
    const code = file.slice(file.indexOf('import http')).trimEnd();
    expect(readme).toContain(`\`\`\`js\n${code}\n\`\`\``);
  });

  it('names files that exist in its quick start', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Tests'));
    const files = [...quick.matchAll(/(examples\/[\w./-]+)/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(existsSync(join(ROOT, f)), f).toBe(true);
  });

  it("runs the quick start's examples/hello.mjs: hello on any path, JSON on /json, with a query or not", async () => {
    const port = await freePort();
    const tsws = run('tsws', ['examples/hello.mjs', '--bind', `127.0.0.1:${port}`]);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/`);
    const hello = `hello from tsws (pid ${tsws.pid})\n`;
    for (const path of ['/', '/jsonx', '/json/', '/a/json', '/?json']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, await res.text()]).toEqual([path, 200, hello]);
    }
    for (const path of ['/json', '/json?pretty=1']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.headers.get('content-type'), await res.json()]).toEqual([
        path,
        'application/json',
        { hello: 'world', pid: tsws.pid },
      ]);
    }
  });

  it('shows every hook of the settings table in its config example, with the arguments the table gives', () => {
    const example = readme.slice(readme.indexOf('// tsws.config.mjs'));
    const code = example.slice(0, example.indexOf('```'));
    const shown = [...code.matchAll(/^ {2}(\w+): \(([^)]*)\) =>/gm)].map((m) => `${m[1]}(${m[2]})`);
    // Each hook's description starts with its signature: `postFork(master, worker)`: ...
    const declared = Object.values(SETTINGS)
      .filter((s) => s.hook)
      .map((s) => /^`(\w+\([^)]*\))`/.exec(s.desc)?.[1]);
    expect(declared.length).toBeGreaterThan(0);
    expect(shown.sort()).toEqual(declared.sort());
  });
});
