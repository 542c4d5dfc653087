// Starting a core server for one test, on an ephemeral loopback port, closed when the test ends.

import type { AddressInfo } from 'node:net';
import { type FetchApp, type ServeOptions, type Server, serve } from '@tsws/core';
import { onTestFinished } from 'vitest';

export interface Running {
  server: Server;
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
}

/** Serves `app` on 127.0.0.1:0 (unless `options.bind` says otherwise); closed after the test. */
export async function start(app: FetchApp, options: ServeOptions = {}): Promise<Running> {
  const server = await serve(app, { bind: '127.0.0.1:0', ...options });
  onTestFinished(() => server.close());
  const address = server.address() as AddressInfo;
  return { server, port: address.port, origin: `http://127.0.0.1:${address.port}` };
}

/** A logger that keeps what it is given, for asserting on log lines. */
export function memoryLogger() {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}
