// A master parses no HTTP: its process loads neither the core (and its llhttp parser) nor
// node:http's app loader, which its workers need. Issue 11 measured 60 MB for the master when
// it loaded everything its workers do; the figures now are in the commit that split the package.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/proc.js';
import { childPids, startMaster, tempDir } from './helpers.js';

const REGISTER = pathToFileURL(`${ROOT}test/fixtures/record-modules/register.mjs`).href;

describe('the master process', () => {
  it('loads neither @tsws/core nor the app loader; its workers load both', async () => {
    const dir = tempDir();
    const m = await startMaster('hello.mjs', ['-w', '1'], {
      env: { NODE_OPTIONS: `--import ${REGISTER}`, RECORD_MODULES_DIR: dir },
    });
    const [worker] = await childPids(m.pid);
    const loaded = (pid: number) => readFileSync(`${dir}/${pid}`, 'utf8').split('\n');
    const core = /\/packages\/core\/dist\/index\.js$/;
    const loader = /\/packages\/worker\/dist\/load\.js$/;
    expect(loaded(m.pid).filter((url) => core.test(url) || loader.test(url))).toEqual([]);
    expect(loaded(m.pid).some((url) => url.endsWith('/packages/master/dist/master.js'))).toBe(true);
    // Nor, without --metrics-bind, --statsd-host or --certfile, node:http, node:dgram or node:tls
    // (node:http alone is 14 MB of RSS on Node 24).
    const builtins = ['node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram'];
    expect(loaded(m.pid).filter((url) => builtins.includes(url))).toEqual([]);
    expect(loaded(worker!).some((url) => core.test(url))).toBe(true);
    expect(loaded(worker!).some((url) => loader.test(url))).toBe(true);
  });
});
