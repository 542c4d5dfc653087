// TLS through the settings (--certfile, --keyfile, --ca-certs, --cert-reqs, --tls-min-version):
// both worker classes serve HTTPS, a bad certificate is one line before any worker starts, and
// tsws-master's reload (HUP) picks up new certificates under load, or keeps the old workers when
// the new ones are bad.
import { execFile } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, makeCerts } from '../helpers/certs.js';
import { run } from '../helpers/proc.js';
import { get, hup, load, sleep, startMaster, tempDir } from '../master/helpers.js';
import { APPS, RUNNERS, serve } from './serve.js';

const curl = promisify(execFile);
let certs: Certs;
let other: Certs;
beforeAll(() => {
  certs = makeCerts();
  other = makeCerts();
});
afterAll(() => {
  certs.remove();
  other.remove();
});

const tlsArgs = () => ['--certfile', certs.serverCert, '--keyfile', certs.serverKey];

async function curlJson(url: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await curl('curl', ['-sS', '--cacert', certs.caCert, ...args, url]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function exits(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = run('tsws', args, { env: { ...process.env, ...env } });
  const { code } = await proc.exited;
  return { code, err: proc.err().trim() };
}

describe('TLS settings', () => {
  for (const runner of RUNNERS) {
    it(`${runner.name}: --certfile and --keyfile serve HTTPS; mTLS with --cert-reqs 2`, async () => {
      const { port } = await serve(runner, 'tls-info.js', [
        ...tlsArgs(),
        '--ca-certs',
        certs.caCert,
        '--cert-reqs',
        '2',
      ]);
      const seen = await curlJson(`https://localhost:${port}/x`, '--cert', certs.clientCert, '--key', certs.clientKey);
      expect(seen).toMatchObject({
        url: `https://localhost:${port}/x`,
        protocol: 'TLSv1.3',
        authorized: true,
        client: 'client one',
      });
      await expect(curlJson(`https://localhost:${port}/x`)).rejects.toThrow();
    });
  }

  it('the node class serves a Node listener over node:https, and a fetch app with info.tls', async () => {
    const listener = await serve(RUNNERS[0]!, 'node-listener.js', [...tlsArgs(), '-k', 'node']);
    const hello = await curl('curl', ['-sS', '--cacert', certs.caCert, `https://localhost:${listener.port}/hello`]);
    expect(hello.stdout).toBe('hello from node');
    const fetchApp = await serve(RUNNERS[0]!, 'tls-info.js', [
      ...tlsArgs(),
      '-k',
      'node',
      '--cert-reqs',
      '1',
      '--ca-certs',
      certs.caCert,
    ]);
    const seen = await curlJson(
      `https://localhost:${fetchApp.port}/y`,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    );
    expect(seen).toMatchObject({
      url: `https://localhost:${fetchApp.port}/y`,
      protocol: 'TLSv1.3',
      authorized: true,
      client: 'client one',
    });
  });

  it('from the environment and a config file like every setting', async () => {
    const byEnv = await serve(RUNNERS[0]!, 'tls-info.js', [], {
      env: {
        ...process.env,
        TSWS_CERTFILE: certs.serverCert,
        TSWS_KEYFILE: certs.serverKey,
        TSWS_TLS_MIN_VERSION: 'TLSv1.3',
      },
    });
    expect(await curlJson(`https://localhost:${byEnv.port}/`)).toMatchObject({ protocol: 'TLSv1.3' });
    await expect(curlJson(`https://localhost:${byEnv.port}/`, '--tls-max', '1.2')).rejects.toThrow();
    const dir = tempDir();
    copyFileSync(join(APPS, 'tls-info.js'), join(dir, 'tls-info.js'));
    writeFileSync(
      join(dir, 'tsws.config.json'),
      JSON.stringify({ certfile: certs.serverCert, keyfile: certs.serverKey }),
    );
    const byFile = await serve(RUNNERS[0]!, 'tls-info.js', ['--chdir', dir]);
    expect(await curlJson(`https://localhost:${byFile.port}/`)).toMatchObject({ protocol: 'TLSv1.3' });
  });

  it('a missing file, a key that does not match, a half-given pair: one line, exit 2, before any worker', async () => {
    const app = ['tls-info.js', '--chdir', APPS];
    const [missing, mismatch, noKey, reqsAlone] = await Promise.all([
      exits([...app, '--certfile', '/nonexistent/cert.pem', '--keyfile', certs.serverKey]),
      exits([...app, '--certfile', certs.serverCert, '--keyfile', certs.strangerKey]),
      exits([...app, '--certfile', certs.serverCert]),
      exits([...app, '--cert-reqs', '2']),
    ]);
    expect(missing).toEqual({ code: 2, err: 'tsws: error: --certfile: cannot read /nonexistent/cert.pem: ENOENT' });
    expect(mismatch).toEqual({
      code: 2,
      err: `tsws: error: --keyfile ${certs.strangerKey} is not the key of --certfile ${certs.serverCert}`,
    });
    expect(noKey).toEqual({ code: 2, err: 'tsws: error: --certfile needs --keyfile' });
    expect(reqsAlone).toEqual({ code: 2, err: 'tsws: error: --cert-reqs needs --certfile' });
    const master = run('tsws-master', [...app, '--certfile', certs.serverCert, '--keyfile', certs.strangerKey]);
    expect((await master.exited).code).toBe(2);
    expect(master.err()).toContain(`--keyfile ${certs.strangerKey} is not the key of --certfile ${certs.serverCert}`);
  });
});

describe('tsws-master reload (HUP) and certificates', () => {
  it('new certificates under load with 0 failed requests; a bad key is abandoned, the old workers serve', async () => {
    const dir = tempDir();
    copyFileSync(join(APPS, 'fetch.js'), join(dir, 'fetch.js'));
    const put = (from: Certs, key = from.serverKey) => {
      copyFileSync(from.serverCert, join(dir, 'cert.pem'));
      copyFileSync(key, join(dir, 'key.pem'));
    };
    put(certs);
    const m = await startMaster(
      'fetch.js',
      ['-w', '2', '--certfile', 'cert.pem', '--keyfile', 'key.pem', '--chdir', dir],
      {
        cwd: dir,
      },
    );
    const url = `https://localhost:${m.port}/hello`;
    const ca = [certs.pem.caCert, other.pem.caCert];
    let stopLoad!: () => void;
    const running = load(url, new Promise<void>((r) => (stopLoad = r)), { maxMs: 25_000, ca });
    await sleep(300);
    put(other);
    expect((await hup(m)).msg).toBe('reload done');
    await sleep(300);
    stopLoad();
    const result = await running;
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThan(50);
    // The new workers serve the new certificate: trusted by its CA alone, not by the old one.
    expect((await get(url, false, 10_000, [other.pem.caCert])).body).toBe('hello from fetch');
    await expect(get(url, false, 10_000, [certs.pem.caCert])).rejects.toThrow(/certificate/);

    // A key that is not the certificate's: the reload is abandoned and the old workers serve on.
    put(certs, other.serverKey);
    const outcome = await hup(m);
    expect(outcome.msg).toMatch(/^reload abandoned: the settings are not valid: --keyfile key\.pem is not the key of/);
    const answers = await Promise.all(Array.from({ length: 5 }, () => get(url, false, 10_000, [other.pem.caCert])));
    expect(answers.map((a) => a.body)).toEqual(Array(5).fill('hello from fetch'));
  });
});
