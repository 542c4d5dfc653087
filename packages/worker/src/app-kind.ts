// What the loaded export is: a fetch handler, or a Node request listener, found by its shape.
// Frameworks are recognised where their export is not itself a listener (Koa, fastify, an
// http.Server); `--interface fetch|node` overrides the guess for plain functions.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { FetchHandler, WebSocketHandler } from '@tsws/core';
import { AppLoadError, describeValue } from './load.js';

export type Interface = 'fetch' | 'node';
export type NodeListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;
/** Where a Node app's WebSocket and other Upgrade requests go: the 'upgrade' listeners of its own server. */
export type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The app, ready to serve, with a few words on what it was found to be (for the log). */
export type LoadedApp =
  | { interface: 'fetch'; fetch: FetchHandler; kind: string; websocket?: WebSocketHandler }
  | { interface: 'node'; listener: NodeListener; kind: string; upgrade?: UpgradeListener };

const EXPECTED =
  'expected a fetch handler (a function (request) => Response, or an object with a fetch method, ' +
  'such as a Hono app) or a Node request listener (a function (req, res), such as an Express app, ' +
  'Koa app, fastify instance or http.Server)';

type Obj = Record<string, unknown>;

function isObjectLike(value: unknown): value is Obj {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/**
 * node:http is loaded only to check a net.Server (an app that made an http.Server has loaded it
 * already): a fetch app's worker does not load it.
 */
function isHttpServer(value: unknown): value is http.Server {
  return value instanceof net.Server && value instanceof process.getBuiltinModule('node:http').Server;
}

/** The parameter names of a function, read from its source; [] when they cannot be read. */
function parameterNames(fn: (...args: never[]) => unknown): string[] {
  const src = Function.prototype.toString.call(fn);
  const arrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrow) return [arrow[1]!];
  const list = /^[^(]*\(([^)]*)\)/.exec(src);
  if (!list) return [];
  return list[1]!
    .split(',')
    .map((p) => p.replace(/[=:].*$/s, '').trim())
    .filter(Boolean);
}

const RESPONSE_PARAM = /^(res|resp|response|reply|out|serverResponse)$/i;
const FETCH_SECOND_PARAM = /^(info|conn|connInfo|env|ctx|context|c|server|opts|options|init)$/i;

/**
 * A plain function: `(req, res)` is a Node listener, `(request)` a fetch handler. Two parameters
 * are read by name when the source shows them: `(request, info)` and `(req, env)` are fetch.
 */
function functionInterface(fn: (...args: never[]) => unknown): Interface {
  if (fn.length < 2) return 'fetch';
  const second = parameterNames(fn)[1];
  if (second !== undefined && !RESPONSE_PARAM.test(second) && FETCH_SECOND_PARAM.test(second)) return 'fetch';
  return 'node';
}

function wrong(spec: string, want: Interface | 'any', value: unknown, hint = ''): AppLoadError {
  const expected =
    want === 'fetch'
      ? 'expected a fetch handler (a function (request) => Response, or an object with a fetch method) ' +
        'for --interface fetch'
      : want === 'node'
        ? 'expected a Node request listener (a function (req, res)) for --interface node'
        : EXPECTED;
  return new AppLoadError(`APP "${spec}": ${expected}; found ${describeValue(value)}${hint}`);
}

function websocketOf(value: unknown, spec: string): WebSocketHandler {
  if (isObjectLike(value) && typeof value.message === 'function') return value as unknown as WebSocketHandler;
  throw new AppLoadError(
    `APP "${spec}": its websocket export must be Bun's handler object, with a message(ws, message) function; ` +
      `found ${describeValue(value)}`,
  );
}

/** Works out what `value` is and how to call it, or throws an AppLoadError naming what was found. */
export async function detectApp(value: unknown, interfaceSetting: string, spec: string): Promise<LoadedApp> {
  const override = interfaceSetting as Interface | 'auto';
  if (!isObjectLike(value)) {
    const hint = value === undefined ? ' (did the module export the app, or the factory return it?)' : '';
    throw wrong(spec, override === 'auto' ? 'any' : override, value, hint);
  }
  const node = (listener: NodeListener, kind: string, server?: http.Server): LoadedApp => {
    if (override === 'fetch') throw wrong(spec, 'fetch', value, ` (it looks like ${kind})`);
    // ws with noServer, socket.io, @fastify/websocket listen for 'upgrade' on the app's server.
    if (server !== undefined && server.listenerCount('upgrade') > 0)
      return {
        interface: 'node',
        listener,
        kind,
        upgrade: (req, socket, head) => server.emit('upgrade', req, socket, head),
      };
    return { interface: 'node', listener, kind };
  };
  const fetchApp = (fetch: FetchHandler, kind: string): LoadedApp => {
    if (override === 'node') throw wrong(spec, 'node', value, ` (it looks like ${kind})`);
    return { interface: 'fetch', fetch, kind };
  };

  // fastify: the instance routes through `routing(req, res)` once ready() has run its plugins.
  if (typeof value.routing === 'function' && typeof value.ready === 'function' && typeof value.inject === 'function') {
    if (override !== 'fetch') await (value.ready as () => Promise<unknown>)();
    const routing = value.routing as NodeListener;
    const server = isHttpServer(value.server) ? value.server : undefined;
    return node((req, res) => routing.call(value, req, res), 'a fastify instance (serving fastify.routing)', server);
  }
  // Koa: the app object makes its listener with callback().
  if (typeof value.callback === 'function' && Array.isArray(value.middleware)) {
    return node((value.callback as () => NodeListener).call(value), 'a Koa app (serving app.callback())');
  }
  // An http.Server that was never told to listen: serve its 'request' listener.
  if (isHttpServer(value)) {
    const listeners = value.listeners('request') as NodeListener[];
    if (listeners.length !== 1)
      throw new AppLoadError(
        `APP "${spec}": an http.Server with ${listeners.length} 'request' listeners; expected exactly one`,
      );
    return node(listeners[0]!, "an http.Server (serving its 'request' listener)", value);
  }
  if (typeof value !== 'function') {
    if (typeof value.fetch === 'function') {
      const app = fetchApp((value.fetch as FetchHandler).bind(value), 'an object with a fetch method');
      // Bun's shape: `export default { fetch, websocket }`.
      if (value.websocket !== undefined && app.interface === 'fetch')
        app.websocket = websocketOf(value.websocket, spec);
      return app;
    }
    throw wrong(spec, override === 'auto' ? 'any' : override, value);
  }
  const fn = value as unknown as ((...args: never[]) => unknown) & Obj;
  // A class cannot be called without `new`: it may be a worker class given as the APP by mistake.
  if (/^class\b/.test(Function.prototype.toString.call(fn)))
    throw wrong(spec, override === 'auto' ? 'any' : override, value, `: export an instance, or the handler itself`);
  const asNode = fn as unknown as NodeListener;
  const asFetch = fn as unknown as FetchHandler;
  // Express and connect apps are functions with use() and handle().
  if (typeof fn.use === 'function' && typeof fn.handle === 'function') return node(asNode, 'an Express or connect app');
  if (override === 'fetch') return fetchApp(asFetch, 'a fetch handler');
  if (override === 'node') return node(asNode, 'a Node request listener');
  return functionInterface(fn) === 'fetch'
    ? fetchApp(asFetch, `a fetch handler (a function taking ${fn.length})`)
    : node(asNode, `a Node request listener (a function taking ${fn.length})`);
}
