// The TLS settings as the core's tls option: the files read (relative to --chdir) and checked
// together, so a missing file or a key that does not match is one line before anything listens.
// node:tls is loaded only with --certfile: the master checks these settings too, and loading it
// costs a process 2-6 MB of RSS.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TlsOptions } from '@tsws/core';

export interface TlsSettings {
  chdir: string;
  certfile: string | undefined;
  keyfile: string | undefined;
  caCerts: string | undefined;
  certReqs: number;
  ciphers: string | undefined;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
}

const CLIENT_CERT = ['none', 'optional', 'required'] as const;

function read(flag: string, dir: string, path: string): string {
  try {
    return readFileSync(resolve(dir, path), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${flag}: cannot read ${resolve(dir, path)}: ${e.code ?? e.message}`);
  }
}

/** The core's tls option, or undefined without --certfile. Throws an Error of one line naming the flag. */
export function tlsOptions(s: TlsSettings): TlsOptions | undefined {
  if (s.certfile === undefined) {
    const stray = s.keyfile !== undefined ? '--keyfile' : s.caCerts !== undefined ? '--ca-certs' : undefined;
    if (stray) throw new Error(`${stray} needs --certfile`);
    if (s.certReqs !== 0) throw new Error('--cert-reqs needs --certfile');
    return undefined;
  }
  if (s.keyfile === undefined) throw new Error('--certfile needs --keyfile');
  if (s.certReqs !== 0 && s.caCerts === undefined)
    throw new Error(`--cert-reqs ${s.certReqs} needs --ca-certs to check client certificates against`);
  const options: TlsOptions = {
    cert: read('--certfile', s.chdir, s.certfile),
    key: read('--keyfile', s.chdir, s.keyfile),
    clientCert: CLIENT_CERT[s.certReqs] ?? 'none',
    minVersion: s.tlsMinVersion,
    ...(s.caCerts !== undefined ? { ca: read('--ca-certs', s.chdir, s.caCerts) } : {}),
    ...(s.ciphers !== undefined ? { ciphers: s.ciphers } : {}),
  };
  try {
    process.getBuiltinModule('node:tls').createSecureContext(options);
  } catch (err) {
    const e = err as { reason?: string; message: string };
    const why = e.reason ?? e.message.split('\n')[0];
    throw new Error(
      why === 'key values mismatch'
        ? `--keyfile ${s.keyfile} is not the key of --certfile ${s.certfile}`
        : `--certfile, --keyfile, --ca-certs or --ciphers cannot be used: ${why}`,
    );
  }
  return options;
}
