// A cut is logged once, in the same words and fields whatever the worker class: a client that
// stops reading its response, and one whose request body stops arriving (issue 9), through
// `tsws` and `tsws -k node`, over raw sockets.
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  CUT_MESSAGE,
  type LogLine,
  MIB,
  type RunningServer,
  runCase,
  STALL_BODY_TIMEOUT,
  startServer,
} from '../helpers/delivery/matrix.mjs';
import { until } from '../helpers/wait.mjs';

const UPLOAD_CUT = 'cut a request body that stopped arriving';

async function serve(name: string): Promise<RunningServer> {
  const server = await startServer(name, { bodyTimeout: STALL_BODY_TIMEOUT });
  onTestFinished(() => server.stop());
  return server;
}

/** Sends a POST that declares 100 body bytes and sends 10; resolves when the server closes. */
function stalledUpload(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write('POST /upload?stalled HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly ten b'),
    );
    socket.resume();
    socket.on('close', () => resolve());
    socket.on('error', () => {});
  });
}

/** A log line's fields, less those every line has (pino's, the worker's). */
function fields(line: LogLine): string[] {
  return Object.keys(line)
    .filter((k) => !['level', 'time', 'pid', 'hostname', 'msg', 'worker', 'class'].includes(k))
    .sort();
}

describe('cut lines', () => {
  it('say the same through tsws and tsws -k node, once per cut', { timeout: 60_000 }, async () => {
    const servers = await Promise.all(['tsws', 'tsws -k node'].map(serve));
    const seen = await Promise.all(
      servers.map(async (server) => {
        const [verdict] = await Promise.all([
          runCase(server, {
            kind: 'bytes',
            framing: 'keep-alive',
            reader: 'stalled',
            size: 32 * MIB,
            bodyTimeout: STALL_BODY_TIMEOUT,
          }),
          stalledUpload(server.port),
        ]);
        expect(verdict.problem, server.name).toBeNull();
        await until('the upload cut line', () => server.warnings().find((l) => l.msg === UPLOAD_CUT), 5000);
        const cut = server.warnings().filter((l) => l.msg === CUT_MESSAGE);
        const upload = server.warnings().filter((l) => l.msg === UPLOAD_CUT);
        expect(cut, server.name).toHaveLength(1);
        expect(upload, server.name).toHaveLength(1);
        expect(upload[0], server.name).toMatchObject({
          request: 'POST /upload?stalled HTTP/1.1',
          declaredBytes: 100,
          timeoutMs: STALL_BODY_TIMEOUT * 1000,
        });
        // The fetch adapter of -k node streams every body (chunked): no length to name.
        const node = server.name === 'tsws -k node';
        expect(cut[0], server.name).toMatchObject(
          node ? { status: 200, streaming: true } : { status: 200, bodyBytes: 32 * MIB, streaming: false },
        );
        return { cut: fields(cut[0]!), upload: fields(upload[0]!) };
      }),
    );
    const [core, node] = seen;
    // Where node:http does not know a figure (a body's length it was not told, request body
    // bytes received), its line leaves that field out, and only that.
    expect(node!.cut).toEqual(core!.cut.filter((k) => k !== 'bodyBytes'));
    expect(node!.upload).toEqual(core!.upload.filter((k) => k !== 'receivedBytes'));
  });
});
