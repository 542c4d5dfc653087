// Every byte delivered (issue 9): body kinds x framings x readers through `tsws`, `tsws-master
// -w 2` and `tsws -k node`, over real sockets, each body checked by SHA-256. A bounded selection:
// every kind and framing read fast; a few slow (256 KiB/s) and stalled readers, with bodies
// larger than what loopback's kernel buffers hold (~4 MB here), so what a server drops or cuts
// shows. The whole matrix is `pnpm delivery` (bench/delivery/run.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  type Case,
  FAST_BODY_TIMEOUT,
  FRAMING_NAMES,
  KIND_NAMES,
  MIB,
  prepareFiles,
  type RunningServer,
  runCase,
  SERVERS,
  SLOW_BODY_TIMEOUT,
  SLOW_KEEP_ALIVE,
  STALL_BODY_TIMEOUT,
  startServer,
} from '../helpers/delivery/matrix.mjs';

const SERVER_NAMES = Object.keys(SERVERS);
// File-backed Blobs read their payload files from here.
const dir = mkdtempSync(join(tmpdir(), 'tsws-delivery-'));
prepareFiles(dir, [4 * MIB, 8 * MIB, 32 * MIB]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(name: string, bodyTimeout: number, args: string[] = []): Promise<RunningServer> {
  const server = await startServer(name, { bodyTimeout, args, env: { TSWS_DELIVERY_DIR: dir } });
  onTestFinished(() => server.stop());
  return server;
}

/** Runs `cases`, `limit` at a time; returns one line per case that failed. */
async function failures(server: RunningServer, cases: Omit<Case, 'bodyTimeout'>[], bodyTimeout: number, limit = 64) {
  const failed: string[] = [];
  const queue = [...cases];
  const worker = async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      const verdict = await runCase(server, { ...c, bodyTimeout });
      if (!verdict.ok) failed.push(`${server.name}: ${c.kind} ${c.framing} ${c.reader} ${c.size}: ${verdict.problem}`);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return failed;
}

describe.each(SERVER_NAMES)('through %s', (name) => {
  it('every body kind in every framing, read fast: every byte, and the connection as the framing says', async () => {
    const server = await serve(name, FAST_BODY_TIMEOUT);
    const cases = KIND_NAMES.flatMap((kind) =>
      FRAMING_NAMES.map((framing) => ({ kind, framing, reader: 'fast' as const, size: 4 * MIB })),
    );
    // The largest size, for a body written whole, a stream and a file.
    for (const kind of ['bytes', 'stream', 'fileBlob'])
      cases.push({ kind, framing: 'keep-alive', reader: 'fast', size: 32 * MIB });
    expect(await failures(server, cases, FAST_BODY_TIMEOUT, 4)).toEqual([]);
    expect(server.warnings()).toEqual([]);
  });
});

// One case per framing the server chooses (Content-Length on a kept, a closed and an HTTP/1.0
// connection; chunked; close-delimited), on every server at once.
const SLOW_CASES = [
  { kind: 'bytes', framing: 'keep-alive' },
  { kind: 'bytes', framing: 'close' },
  { kind: 'bytes', framing: 'http10' },
  { kind: 'stream', framing: 'keep-alive' },
  { kind: 'fileBlob', framing: 'http10' },
];

describe('readers that are slow but steady', () => {
  it('get every byte at 256 KiB/s (32 s each), with nothing logged', { timeout: 120_000 }, async () => {
    const servers = await Promise.all(
      SERVER_NAMES.map((name) => serve(name, SLOW_BODY_TIMEOUT, ['--keep-alive', String(SLOW_KEEP_ALIVE)])),
    );
    const failed = await Promise.all(
      servers.map((server) =>
        failures(
          server,
          SLOW_CASES.map((c) => ({ ...c, reader: 'slow' as const, size: 8 * MIB })),
          SLOW_BODY_TIMEOUT,
          SLOW_KEEP_ALIVE,
        ),
      ),
    );
    expect(failed.flat()).toEqual([]);
    for (const server of servers) expect(server.warnings(), server.name).toEqual([]);
  });
});

// The stalled readers add a text body on a kept connection: the core gathers text for one write
// after the answer, and a cut while the client read it was logged without naming the request.
const STALLED_CASES = [...SLOW_CASES, { kind: 'string', framing: 'keep-alive' }];

describe('readers that stall', () => {
  it('are cut only after --body-timeout, with one warn line naming the request', { timeout: 60_000 }, async () => {
    const servers = await Promise.all(SERVER_NAMES.map((name) => serve(name, STALL_BODY_TIMEOUT)));
    const failed = await Promise.all(
      servers.map((server) =>
        failures(
          server,
          STALLED_CASES.map((c) => ({ ...c, reader: 'stalled' as const, size: 32 * MIB })),
          STALL_BODY_TIMEOUT,
        ),
      ),
    );
    expect(failed.flat()).toEqual([]);
  });
});
