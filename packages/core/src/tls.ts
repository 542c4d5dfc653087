// TLS on node:tls: a tls.Server that never listens, handed each raw socket once its first bytes
// say it speaks TLS (see edge.ts). Its 'secureConnection' sockets go to the core like any other,
// reading by 'data' events; the fast accept path is for plain TCP only. node:tls is loaded by
// the first tlsEngine(): a server without TLS never loads it.
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { type Logger, OptionError } from './options.js';

/** The `tls` option of serve(): PEM text or bytes, as node:tls takes them. */
export interface TlsOptions {
  /** The certificate chain, leaf first. */
  cert: string | Buffer;
  /** The private key of the leaf certificate. */
  key: string | Buffer;
  /** Certificate authorities that client certificates are checked against (mTLS). */
  ca?: string | Buffer;
  /** Ask for a client certificate: `none` (default), `optional`, or `required` (no certificate, no connection). */
  clientCert?: 'none' | 'optional' | 'required';
  /** OpenSSL cipher list for TLS 1.2 and below (node:tls's default when absent). */
  ciphers?: string;
  /** The oldest protocol accepted. @defaultValue TLSv1.2 */
  minVersion?: tls.SecureVersion;
}

/** What the app sees of a TLS connection, on the handler's second argument (`info.tls`). */
export interface TlsInfo {
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly protocol: string | null;
  readonly cipher: string;
  /** The client's certificate verified against `ca`. */
  readonly authorized: boolean;
  /** Why it was not (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`...), or null. */
  readonly authorizationError: string | null;
  /** The client's certificate (subject, issuer, fingerprint256, raw...), or null when it sent none. */
  readonly peerCertificate: tls.PeerCertificate | null;
}

/** A TLSSocket says so in `encrypted` (an instanceof would load node:tls on every plain server). */
export function isTls(socket: object | null | undefined): socket is tls.TLSSocket {
  return (socket as { encrypted?: unknown } | null | undefined)?.encrypted === true;
}

/** The TlsInfo of a TLS socket, read once per connection, and only when the app asks. */
export function tlsInfo(socket: Socket): TlsInfo | undefined {
  if (!isTls(socket)) return undefined;
  const cert = socket.getPeerCertificate(false);
  const error = socket.authorizationError as Error | string | null | undefined;
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    authorized: socket.authorized,
    authorizationError: error == null ? null : typeof error === 'string' ? error : (error.message ?? String(error)),
    peerCertificate: cert && Object.keys(cert).length > 0 ? cert : null,
  };
}

/** One line for what OpenSSL said about the key and certificate ("key values mismatch", "no start line"). */
function reason(err: unknown): string {
  const e = err as { reason?: string; message?: string };
  return e.reason ?? e.message?.split('\n')[0] ?? String(err);
}

/**
 * node:tls's server options for `options` (also what the node worker class gives node:https).
 * `handshakeMs` bounds a stalled handshake (0: no bound).
 */
export function tlsServerOptions(options: TlsOptions, handshakeMs: number): tls.TlsOptions {
  const { cert, key, ca, ciphers } = options;
  const clientCert = options.clientCert ?? 'none';
  if (!['none', 'optional', 'required'].includes(clientCert))
    throw new OptionError(`tsws: tls.clientCert must be none, optional or required, got ${JSON.stringify(clientCert)}`);
  if ((typeof cert !== 'string' && !Buffer.isBuffer(cert)) || (typeof key !== 'string' && !Buffer.isBuffer(key)))
    throw new OptionError('tsws: tls needs cert and key (PEM text or bytes)');
  return {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
    minVersion: options.minVersion ?? 'TLSv1.2',
    requestCert: clientCert !== 'none',
    rejectUnauthorized: clientCert === 'required',
    // node:tls's own default (120 s) is no bound worth having.
    handshakeTimeout: handshakeMs || 2 ** 31 - 1,
  };
}

/**
 * The tls.Server that handshakes for us. Throws an OptionError naming what is wrong with the
 * certificate or key, before anything listens. `handshakeMs` bounds a stalled handshake.
 */
export function tlsEngine(
  options: TlsOptions,
  handshakeMs: number,
  alpn: string[] | undefined,
  logger: Logger,
  onSecure: (socket: tls.TLSSocket) => void,
): tls.Server {
  const serverOptions = { ...tlsServerOptions(options, handshakeMs), ...(alpn ? { ALPNProtocols: alpn } : {}) };
  let engine: tls.Server;
  try {
    // tls.Server makes its context from these (a secureContext given to it would be ignored).
    engine = process.getBuiltinModule('node:tls').createServer(serverOptions, onSecure);
  } catch (err) {
    throw new OptionError(`tsws: tls: the certificate or key cannot be used: ${reason(err)}`);
  }
  return engine.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    // A scanner, a client without the required certificate, a stall: the client's problem.
    // node:tls only reports a handshake timeout; the socket is ours to close.
    logger.debug({ err: err.code ?? err.message }, 'TLS handshake failed');
    socket.destroy();
  });
}
