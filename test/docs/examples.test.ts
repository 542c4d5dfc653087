// The deployment examples, checked as far as this machine can without Docker or Kubernetes: the
// Kubernetes manifest against the API's schemas (kubernetes-models: ajv validators for types,
// required fields and formats, and its TypeScript types for unknown fields), the Dockerfile with
// dockerfile-utils and read with dockerfile-ast, the systemd units with `systemd-analyze verify`;
// and each one's tsws-master command line run for real: the manifest's probes asked of it, its
// preStop hook run and the stop timed against terminationGracePeriodSeconds.
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freePort, ROOT, run } from '../helpers/proc.js';
import { startMaster, tempDir } from '../master/helpers.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The value after `flag` in an argument list. */
function option(args: string[], flag: string): string {
  const at = args.indexOf(flag);
  expect(at, `${flag} in ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
  return args[at + 1]!;
}

/** The master's own arguments (after the script) with the binds swapped for free local ports. */
async function localArgs(args: string[]): Promise<{ args: string[]; metrics: string }> {
  const out = args.slice(args.findIndex((a) => a.endsWith('tsws-master.js')) + 1);
  const metricsPort = await freePort();
  out[out.indexOf('--metrics-bind') + 1] = `127.0.0.1:${metricsPort}`;
  const bind = out.indexOf('--bind');
  if (bind >= 0) out.splice(bind, 2);
  return { args: out, metrics: `http://127.0.0.1:${metricsPort}` };
}

interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

describe('examples/kubernetes/deployment.yaml', () => {
  const docs = parseAllDocuments(read('examples/kubernetes/deployment.yaml')).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const deployment = docs.find((d) => d.kind === 'Deployment') as {
    spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
  };

  it("passes the Kubernetes API's schemas, and their types with no unknown field", () => {
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    new Deployment(docs[0] as never).validate();
    new Service(docs[1] as never).validate();
    // The validators catch a wrong type...
    const bad = structuredClone(docs[0]) as { spec: { replicas: unknown } };
    bad.spec.replicas = 'three';
    expect(() => new Deployment(bad as never).validate()).toThrow('data/spec/replicas must be integer');
    // ...and the types catch a misspelt field, which the API's schemas allow (TypeScript's excess
    // property check on the manifest as a literal of kubernetes-models' types).
    const dir = tempDir();
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const check = (manifests: unknown[]) => {
      writeFileSync(
        join(dir, 'manifest.ts'),
        [
          "import type { IDeployment } from 'kubernetes-models/apps/v1';",
          "import type { IService } from 'kubernetes-models/v1';",
          `export const deployment: IDeployment = ${JSON.stringify(manifests[0])};`,
          `export const service: IService = ${JSON.stringify(manifests[1])};`,
          '',
        ].join('\n'),
      );
      try {
        execFileSync(
          process.execPath,
          [
            join(ROOT, 'node_modules/typescript/bin/tsc'),
            '--noEmit',
            '--strict',
            '--skipLibCheck',
            '--module',
            'nodenext',
            '--moduleResolution',
            'nodenext',
            '--types',
            'node',
            join(dir, 'manifest.ts'),
          ],
          { cwd: dir, encoding: 'utf8', stdio: 'pipe' },
        );
        return '';
      } catch (err) {
        return String((err as { stdout?: string }).stdout);
      }
    };
    expect(check(docs)).toBe('');
    const typo = structuredClone(docs) as Array<{
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    }>;
    const c = typo[0]!.spec.template.spec.containers[0]!;
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    expect(check(typo)).toMatch(/readinesProbe.*' does not exist in type 'IContainer'/);
  }, 60_000);

  it('probes the metrics port, and gives the stop more time than the drain delay and the graceful timeout', () => {
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const args = container!.args;
    const metricsPort = Number(option(args, '--metrics-bind').split(':').at(-1));
    const named = (name: string) => container!.ports.find((p) => p.name === name)?.containerPort;
    expect(named('metrics')).toBe(metricsPort);
    expect(named('http')).toBe(Number(option(args, '--bind').split(':').at(-1)));
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['startupProbe', '/readyz'],
      ['livenessProbe', '/livez'],
    ] as const) {
      expect(container![probe].httpGet).toEqual({ path, port: 'metrics' });
    }
    const drain = Number(option(args, '--drain-delay'));
    const graceful = Number(option(args, '--graceful-timeout'));
    expect(drain).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain + graceful);
    const preStop = container!.lifecycle.preStop.exec.command;
    expect(preStop.slice(-2)).toEqual(['shutdown', 'graceful']);
    expect(option(preStop, '--control-socket')).toBe(option(args, '--control-socket'));
  });

  it('runs as written: the probes answer; the preStop hook stops it within the grace period, 503 first', async () => {
    const [container] = deployment.spec.template.spec.containers;
    const { args, metrics } = await localArgs(container!.args);
    const socket = join(tempDir(), 'control.sock');
    args[args.indexOf('--control-socket') + 1] = socket;
    const drain = Number(option(args, '--drain-delay'));
    const m = await startMaster(args[0]!, ['-w', '2', ...args.slice(1)], { cwd: ROOT });
    expect((await fetch(`${metrics}${container!.readinessProbe.httpGet.path}`)).status).toBe(200);
    expect((await fetch(`${metrics}${container!.livenessProbe.httpGet.path}`)).status).toBe(200);

    // The hook's command, as the image has it (WORKDIR is the repository's root).
    const preStop = container!.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('node');
    const hook = run(join(ROOT, preStop[1]!), [
      ...preStop.slice(2).map((a) => (a === option(preStop, '--control-socket') ? socket : a)),
    ]);
    const t0 = Date.now();
    expect(await hook.exited, hook.err()).toEqual({ code: 0, signal: null });
    expect((await fetch(`${metrics}/readyz`)).status).toBe(503);
    expect((await fetch(`${m.origin}/`)).status).toBe(200); // still serving through the delay
    m.kill('SIGTERM'); // the kubelet's TERM after the hook: changes nothing
    expect(await m.exited).toEqual({ code: 0, signal: null });
    const took = (Date.now() - t0) / 1000;
    expect(took).toBeGreaterThanOrEqual(drain - 0.5);
    expect(took).toBeLessThan(deployment.spec.template.spec.terminationGracePeriodSeconds);
    expect(m.logs().map((l) => l.msg)).toContain('already draining');
  }, 60_000);
});

describe('examples/container/Dockerfile', () => {
  const text = read('examples/container/Dockerfile');
  const file = DockerfileParser.parse(text);
  const finalStage = (() => {
    const from = file.getFROMs().at(-1)!;
    const start = from.getRange().start.line;
    return file.getInstructions().filter((i) => i.getRange().start.line >= start);
  })();
  const find = (keyword: string) => finalStage.find((i: Instruction) => i.getKeyword() === keyword);
  const json = (i: Instruction | undefined) => JSON.parse(i!.getArgumentsContent()!.replace(/\\\n/g, '')) as string[];

  it('is valid, multi-stage, runs as a user without privileges, under tini', () => {
    expect(validateDockerfile(text)).toEqual([]);
    expect(file.getFROMs().map((f) => f.getBuildStage())).toEqual(['build', null]);
    expect(find('USER')?.getArgumentsContent()).toBe('node');
    expect(json(find('ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--']);
    expect(find('HEALTHCHECK')?.getArgumentsContent()).toContain("fetch('http://127.0.0.1:9090/livez')");
  });

  it("has a command line tsws-master accepts, whose metrics port is the health check's", async () => {
    const cmd = json(find('CMD'));
    expect(option(cmd, '--metrics-bind')).toBe('0.0.0.0:9090');
    const { args } = await localArgs(cmd);
    const check = run('tsws-master', [...args, '--check-config']);
    expect(await check.exited, check.err()).toEqual({ code: 0, signal: null });
  });
});

describe('examples/systemd', () => {
  it('has units systemd-analyze verify accepts, and a master command line tsws-master accepts', async () => {
    const verified = execFileSync('systemd-analyze', ['verify', 'tsws-master.service', 'tsws.service', 'tsws.socket'], {
      cwd: join(ROOT, 'examples/systemd'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(verified).toBe('');
    const unit = read('examples/systemd/tsws-master.service');
    const exec = unit
      .match(/^ExecStart=((?:.*\\\n)*.*)$/m)![1]!
      .replace(/\\\n\s*/g, ' ')
      .split(/\s+/);
    const { args } = await localArgs(exec);
    args[args.indexOf('--control-socket') + 1] = join(tempDir(), 'control.sock');
    // The unit's app is the user's; the example app stands in for it.
    const check = run('tsws-master', ['examples/hello.mjs', ...args.slice(1), '--check-config']);
    expect(await check.exited, check.err()).toEqual({ code: 0, signal: null });
    const stop = Number(unit.match(/^TimeoutStopSec=(\d+)$/m)![1]);
    expect(stop).toBeGreaterThan(Number(option(exec, '--drain-delay')) + Number(option(exec, '--graceful-timeout')));
    expect(unit).toMatch(/^ExecReload=.*tsws-ctl\.js --control-socket \/run\/tsws\/control\.sock reload$/m);
  });
});
