// The Upgrade seam: which requests may switch to WebSocket, and Bun's server.upgrade() and
// requestIP() finding their connection from the request the app hands back. Nothing here runs
// for a request without an Upgrade header.
import type { Socket } from 'node:net';
import type { Exchange } from './exchange.js';
import { headOf } from './request.js';
import type { Handshake, UpgradeOptions } from './websocket.js';

/** A connection that can give its socket up (see Connection.upgrade()). */
export interface Upgradable {
  upgrade(ex: Exchange, options: UpgradeOptions): boolean;
}

/** Bun's address shape for server.requestIP(). */
export interface SocketAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

// Exchanges whose request asked to upgrade, and the connection each came on.
const offers = new WeakMap<object, Upgradable>();

export function offerUpgrade(ex: Exchange, conn: Upgradable): void {
  offers.set(ex, conn);
}

/** The exchange behind a request the app got, when it is one of ours. */
export function exchangeOf(request: unknown): Exchange | undefined {
  return headOf(request) as Exchange | undefined;
}

/** server.upgrade(request, options): takes the request's connection over, or says false. */
export function upgradeRequest(request: unknown, options: UpgradeOptions = {}): boolean {
  const ex = exchangeOf(request);
  if (ex === undefined) return false;
  const conn = offers.get(ex);
  return conn !== undefined && isHandshake(ex) && conn.upgrade(ex, options);
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** A WebSocket opening handshake `ws` will accept (RFC 6455 §4.2.1). */
function isHandshake(ex: Exchange): boolean {
  return (
    ex.method === 'GET' &&
    ex.body === null &&
    ex.header('upgrade').toLowerCase() === 'websocket' &&
    KEY.test(ex.header('sec-websocket-key')) &&
    ex.header('sec-websocket-version') === '13'
  );
}

/** The handshake as `ws` reads it: lower-case header names, repeated ones joined. */
export function handshake(ex: Exchange, socket: Socket, options: UpgradeOptions): Handshake {
  const headers: Record<string, string> = {};
  const raw = ex.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const extra: string[] = [];
  if (options.headers !== undefined) {
    // Headers checks names and values (no CR or LF slips into the 101).
    for (const [name, value] of new Headers(options.headers)) extra.push(`${name}: ${value}`);
  }
  return { method: ex.method, url: ex.target, headers, socket, extra, remoteAddress: ex.info.remoteAddress };
}

export function requestIP(request: unknown): SocketAddress | null {
  const ex = exchangeOf(request);
  if (ex === undefined) return null;
  const address = ex.info.remoteAddress;
  if (address === '') return null;
  return { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: ex.info.remotePort };
}
