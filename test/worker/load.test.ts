// Every form of module:export that loads, and each wrong one with its own clear message.
import { detectApp } from '@tsws/worker/internal/app-kind';
import { AppLoadError, loadApp } from '@tsws/worker/internal/load';
import { describe, expect, it } from 'vitest';
import { APPS } from './serve.js';

async function load(spec: string, override = 'auto') {
  return detectApp(await loadApp(spec, APPS), override, spec);
}

async function failure(spec: string, override = 'auto'): Promise<AppLoadError> {
  const err = await load(spec, override).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppLoadError);
  return err as AppLoadError;
}

async function fetchThrough(spec: string, path: string): Promise<string> {
  const app = await load(spec);
  if (app.interface !== 'fetch') throw new Error(`${spec} is ${app.kind}`);
  const response = await app.fetch(new Request(`http://x${path}`), { remoteAddress: '192.0.2.1', remotePort: 1 });
  return response.text();
}

describe('module:export forms that load', () => {
  it('a module alone is its default export, with or without the extension', async () => {
    expect(await fetchThrough('fetch.js', '/hello')).toBe('hello from fetch');
    expect(await fetchThrough('fetch', '/hello')).toBe('hello from fetch');
    expect(await fetchThrough('./fetch.js:default', '/hello')).toBe('hello from fetch');
    expect(await fetchThrough(`${APPS}/fetch.js:handler`, '/hello')).toBe('hello from fetch');
  });

  it('dotted attributes and factories with JSON arguments', async () => {
    expect(await fetchThrough('bad-exports.js:api.v1.handler', '/')).toBe('v1');
    expect(await fetchThrough('fetch.js:create({"greeting": "hi"})', '/hello')).toBe('hi from fetch');
    expect(await fetchThrough('fetch.js:create()', '/hello')).toBe('hello from fetch');
  });

  it('CommonJS: module.exports and its named exports', async () => {
    expect((await load('express5.cjs')).kind).toBe('an Express or connect app');
    expect(await load('commonjs-named.cjs:app')).toMatchObject({ interface: 'node' });
  });

  it('a transpiled module (exports.default, __esModule): its default and named exports', async () => {
    expect(await fetchThrough('transpiled.cjs', '/p')).toBe('transpiled /p');
    expect(await fetchThrough('transpiled.cjs:api', '/p')).toBe('api /p');
  });

  it('detects the interface from the shape', async () => {
    expect(await load('hono4.js')).toMatchObject({ interface: 'fetch', kind: 'an object with a fetch method' });
    expect(await load('koa3.js')).toMatchObject({ interface: 'node', kind: 'a Koa app (serving app.callback())' });
    expect(await load('fastify5.js')).toMatchObject({
      interface: 'node',
      kind: 'a fastify instance (serving fastify.routing)',
    });
    expect(await load('http-server.js')).toMatchObject({ interface: 'node' });
    expect(await load('node-listener.js')).toMatchObject({ interface: 'node' });
    // (request, info): two parameters, but named as a fetch handler's.
    expect(await load('info-handler.js')).toMatchObject({ interface: 'fetch' });
    // `export default { fetch }` keeps its `this`.
    expect(await fetchThrough('default-fetch-object.js', '/p')).toBe('object /p from 192.0.2.1');
  });

  it('--interface overrides the guess for a plain function', async () => {
    expect(await load('fetch.js', 'node')).toMatchObject({ interface: 'node' });
    expect(await load('node-listener.js', 'fetch')).toMatchObject({ interface: 'fetch' });
  });
});

describe('wrong module:export forms', () => {
  const cases: Array<[string, RegExp, string?]> = [
    [':app', /^APP ":app": expected module:export, e\.g\. app\.js:app$/],
    ['nope.js', /^APP "nope\.js": cannot find module "nope\.js" in \/\S+ \(tried nope\.js and node_modules\)$/],
    [
      'nope',
      new RegExp(
        String.raw`^APP "nope": cannot find module "nope" in /\S+ ` +
          String.raw`\(tried nope, nope\.js, nope\.mjs, nope\.cjs, nope\.ts, nope\.mts, nope\.cts and node_modules\)$`,
      ),
    ],
    [
      'fetch.js:nope',
      /^APP "fetch\.js:nope": \/\S+\/fetch\.js has no export "nope" \(its exports: create, default, handler\)$/,
    ],
    [
      'bad-exports.js:api.v2.handler',
      /^APP "bad-exports\.js:api\.v2\.handler": "api" in \/\S+ has no "v2": it is an object with keys \[v1\]$/,
    ],
    [
      'fetch.js:1abc',
      new RegExp(
        String.raw`^APP "fetch\.js:1abc": "1abc" is not an export: ` +
          String.raw`expected a name, a dotted path \(server\.handler\) or a call \(createApp\(\)\)$`,
      ),
    ],
    [
      'fetch.js:create({greeting: 1})',
      /^APP "fetch\.js:create\(\{greeting: 1\}\)": the arguments of create\(\.\.\.\) must be JSON literals \(.+\)$/,
    ],
    [
      'bad-exports.js:config()',
      /^APP "bad-exports\.js:config\(\)": "config" is an object with keys \[port, host\], so it cannot be called$/,
    ],
    [
      'bad-exports.js:config',
      new RegExp(
        String.raw`^APP "bad-exports\.js:config": expected a fetch handler \(.+\) or a Node request listener \(.+\); ` +
          String.raw`found an object with keys \[port, host\]$`,
      ),
    ],
    ['bad-exports.js:name', /; found a string \("not an app"\)$/],
    ['bad-exports.js:nothing', /; found undefined \(did the module export the app, or the factory return it\?\)$/],
    ['bad-exports.js:Service', /; found the class Service: export an instance, or the handler itself$/],
    [
      'express5.cjs',
      new RegExp(
        String.raw`^APP "express5\.cjs": expected a fetch handler \(.+\) for --interface fetch; ` +
          String.raw`found a function \(app, taking 3 arguments\) \(it looks like an Express or connect app\)$`,
      ),
      'fetch',
    ],
    [
      'hono4.js',
      new RegExp(
        String.raw`^APP "hono4\.js": expected a Node request listener \(a function \(req, res\)\) ` +
          String.raw`for --interface node; found a Hono object with keys \[fetch, get, post, .*\] ` +
          String.raw`\(it looks like an object with a fetch method\)$`,
      ),
      'node',
    ],
  ];
  for (const [spec, message, override] of cases) {
    it(`${spec}${override ? ` --interface ${override}` : ''}`, async () => {
      const err = await failure(spec, override);
      expect(err.message).toMatch(message);
      // A user's mistake: the message is the whole story, no app stack behind it.
      expect(err.cause).toBeUndefined();
    });
  }

  it('an app that throws at import time: its own exception is the cause', async () => {
    const err = await failure('throws.js');
    expect(err.message).toMatch(/^APP "throws\.js": \/\S+\/throws\.js threw while loading: .*JSON/);
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it('a factory that throws: its own exception is the cause', async () => {
    const err = await failure('bad-exports.js:explode()');
    expect(err.message).toBe('APP "bad-exports.js:explode()": explode() threw: the factory blew up');
    expect((err.cause as Error).stack).toMatch(/bad-exports\.js:\d+/);
  });
});
