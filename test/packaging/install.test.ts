// The packages as they would be published: packed with `pnpm pack`, holding what a user needs
// and nothing else, installed from the tarballs into a project outside this repository that has
// only its app, with npm, pnpm and yarn 1 (fetched from npm), and run there with `npx tsws` and
// `npx tsws-master`, on ES module, CommonJS and TypeScript apps, and through createMaster().
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../helpers/proc.js';

const exec = promisify(execFile);
const PACKAGES = ['core', 'worker', 'master', 'tsws'] as const;
const TARBALL = { core: 'tsws-core', worker: 'tsws-worker', master: 'tsws-master', tsws: 'tsws' } as const;
/** Node strips TypeScript types itself from 22.18 and 23.6; before, the project installs tsx. */
const nativeTypeScript = Boolean((process.features as { typescript?: string | false }).typescript);
const INSTALL_MS = 180_000;

const work = mkdtempSync(join(tmpdir(), 'tsws-packaging-'));
const packs = join(work, 'packs');
const tarballs = {} as Record<(typeof PACKAGES)[number], string>;

beforeAll(async () => {
  mkdirSync(packs);
  await Promise.all(
    PACKAGES.map((p) => exec('pnpm', ['pack', '--pack-destination', packs], { cwd: `${ROOT}packages/${p}` })),
  );
  for (const file of readdirSync(packs)) {
    const p = PACKAGES.find((name) => file === `${TARBALL[name]}-0.1.0.tgz`);
    if (p) tarballs[p] = join(packs, file);
  }
}, INSTALL_MS);
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function listing(tarball: string): Promise<string[]> {
  return (await exec('tar', ['tzf', tarball])).stdout.trim().split('\n').sort();
}

describe('the packed tarballs', () => {
  it('hold the built code, its types, a README and the licence, and nothing else', async () => {
    expect(Object.keys(tarballs).sort()).toEqual([...PACKAGES].sort());
    for (const p of PACKAGES) {
      const files = await listing(tarballs[p]);
      const unexpected = files.filter(
        (f) => !/^package\/(package\.json|README\.md|LICENSE|dist\/[\w/-]+\.(js|d\.ts)|bin\/[\w-]+\.js)$/.test(f),
      );
      expect(unexpected, p).toEqual([]);
      for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts'])
        expect(files, `${p}: ${needed}`).toContain(`package/${needed}`);
      const manifest = JSON.parse(
        (await exec('tar', ['xzf', tarballs[p], '-O', 'package/package.json'])).stdout,
      ) as Record<string, unknown>;
      expect(manifest).toMatchObject({ license: 'MIT', type: 'module', engines: { node: '>=20.18' } });
      expect(JSON.stringify(manifest.dependencies)).not.toMatch(/workspace:/);
    }
    // One package gives both commands.
    expect(await listing(tarballs.tsws)).toEqual(
      expect.arrayContaining(['package/bin/tsws.js', 'package/bin/tsws-master.js']),
    );
  });
});

/** The project: only its apps, outside the repository. */
const APPS = {
  'app.mjs': `export default (request) => new Response('esm ' + new URL(request.url).pathname);\n`,
  'app.cjs': `module.exports = (req, res) => res.end('commonjs ' + req.url);\n`,
  'app.ts':
    'export default (request: Request): Response =>\n' +
    `  new Response('typescript ' + new URL(request.url).pathname);\n`,
  'start.mjs': `import { createMaster } from 'tsws';
const master = createMaster({ app: 'app.mjs', workers: 1, bind: [process.argv[2]] });
await master.start();
console.log('started', (await (await fetch('http://' + process.argv[2] + '/api')).text()));
process.exitCode = await master.stop();
`,
} as const;

const MANAGERS = {
  async npm(dir: string) {
    const extra = nativeTypeScript ? [] : ['tsx'];
    await exec('npm', ['install', '--no-audit', '--no-fund', ...PACKAGES.map((p) => tarballs[p]), ...extra], {
      cwd: dir,
    });
  },
  // pnpm would fetch @tsws/* from the registry for tsws's own dependencies: overrides point them at the tarballs.
  async pnpm(dir: string) {
    const manifest = {
      name: 'project',
      private: true,
      dependencies: { tsws: `file:${tarballs.tsws}` },
      pnpm: { overrides: Object.fromEntries(PACKAGES.slice(0, 3).map((p) => [`@tsws/${p}`, `file:${tarballs[p]}`])) },
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    await exec('pnpm', ['install', '--no-frozen-lockfile'], { cwd: dir });
    if (!nativeTypeScript) await exec('pnpm', ['add', 'tsx'], { cwd: dir });
  },
  // yarn 1 from npm, in this test's own prefix and cache (it caches file: tarballs by version).
  async yarn(dir: string) {
    const prefix = join(work, 'yarn');
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, 'yarn@1'], { cwd: work });
    const manifest = {
      name: 'project',
      private: true,
      dependencies: { tsws: `file:${tarballs.tsws}`, ...(nativeTypeScript ? {} : { tsx: '^4' }) },
      resolutions: Object.fromEntries(PACKAGES.slice(0, 3).map((p) => [`@tsws/${p}`, `file:${tarballs[p]}`])),
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    await exec(
      join(prefix, 'node_modules/.bin/yarn'),
      [
        'install',
        '--non-interactive',
        '--registry',
        'https://registry.npmjs.org',
        '--cache-folder',
        join(work, 'yarn-cache'),
      ],
      { cwd: dir },
    );
  },
};

/**
 * Runs `npx <command> ...` in `dir` until `ready` shows, GETs /hi, stops it with SIGTERM (to the
 * whole group: npx and what it runs) and resolves with the answer and how it stopped (its last
 * log line's exit code: npx itself dies of the signal).
 */
async function serveOnce(
  dir: string,
  command: string,
  args: string[],
  ready: RegExp,
): Promise<{ body: string; stopped: unknown }> {
  const port = await freePort();
  const child: ChildProcess = spawn('npx', [command, ...args, '-b', `127.0.0.1:${port}`], {
    cwd: dir,
    env: { ...process.env, npm_config_yes: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  // 'close': every process holding its pipes (npx, and the command it runs) has gone.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${ready} from npx ${command} ${args.join(' ')}:\n${output}`)),
        60_000,
      );
      const look = (d: Buffer) => {
        output += d;
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      void exited.then(() => reject(new Error(`npx ${command} exited:\n${output}`)));
    });
    const body = await (await fetch(`http://127.0.0.1:${port}/hi`)).text();
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    const last = JSON.parse(output.trimEnd().split('\n').at(-1)!) as { msg: string; code?: number; exitCode?: number };
    return { body, stopped: last.msg === 'stopped' ? (last.code ?? last.exitCode) : last };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe.each(Object.keys(MANAGERS) as Array<keyof typeof MANAGERS>)('installed with %s', (manager) => {
  const dir = join(work, manager);

  beforeAll(async () => {
    mkdirSync(dir);
    for (const [name, text] of Object.entries(APPS)) writeFileSync(join(dir, name), text);
    await MANAGERS[manager](dir);
  }, INSTALL_MS);

  it('npx tsws serves an ES module, a CommonJS and a TypeScript app', async () => {
    const served = await Promise.all(
      ['app.mjs', 'app.cjs', 'app.ts'].map((app) => serveOnce(dir, 'tsws', [app], /listening on/)),
    );
    expect(served).toEqual([
      { body: 'esm /hi', stopped: 0 },
      { body: 'commonjs /hi', stopped: 0 },
      { body: 'typescript /hi', stopped: 0 },
    ]);
  }, 120_000);

  it('npx tsws-master -w 2 serves them too', async () => {
    const served = await Promise.all(
      ['app.mjs', 'app.cjs', 'app.ts'].map((app) => serveOnce(dir, 'tsws-master', [app, '-w', '2'], /"msg":"ready"/)),
    );
    expect(served).toEqual([
      { body: 'esm /hi', stopped: 0 },
      { body: 'commonjs /hi', stopped: 0 },
      { body: 'typescript /hi', stopped: 0 },
    ]);
  }, 120_000);

  it('createMaster() comes from the same package', async () => {
    const port = await freePort();
    const { stdout } = await exec(process.execPath, ['start.mjs', `127.0.0.1:${port}`], { cwd: dir, timeout: 60_000 });
    expect(stdout).toBe('started esm /api\n');
  }, 90_000);
});
