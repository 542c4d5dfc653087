// The PROXY protocol (HAProxy's, v1 text and v2 binary): the header a TCP proxy sends before
// anything else on a connection, naming the client it accepted. A pure parser over the first
// bytes; edge.ts decides who may send one.
import { isIPv4, isIPv6 } from 'node:net';

export type ProxyProtocol = 'off' | 'v1' | 'v2' | 'auto';

/** The client a header names; undefined for v2's LOCAL command and UNKNOWN/UNSPEC (the proxy's own checks). */
export interface ProxiedClient {
  remoteAddress: string;
  remotePort: number;
}

export type ProxyParse =
  | { kind: 'more' }
  | { kind: 'done'; length: number; client: ProxiedClient | undefined }
  | { kind: 'bad'; reason: string };

const V1_PREFIX = Buffer.from('PROXY ');
/** The longest v1 line, CRLF included (the spec's 107 bytes). */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** v2's address block is at most 216 bytes; TLVs (AWS, GCP) add a few hundred. More is not a proxy. */
const V2_MAX_LENGTH = 2048;

/** 'yes', 'no', or 'maybe' (too few bytes yet) for: do these bytes begin with `prefix`? */
export function begins(buf: Buffer, prefix: Buffer): 'yes' | 'no' | 'maybe' {
  const n = Math.min(buf.length, prefix.length);
  if (buf.compare(prefix, 0, n, 0, n) !== 0) return 'no';
  return n === prefix.length ? 'yes' : 'maybe';
}

/** Whether `buf` starts (or may yet start) like a PROXY header of either version. */
export function looksProxied(buf: Buffer): 'yes' | 'no' | 'maybe' {
  const v1 = begins(buf, V1_PREFIX);
  const v2 = begins(buf, V2_SIGNATURE);
  return v1 === 'yes' || v2 === 'yes' ? 'yes' : v1 === 'maybe' || v2 === 'maybe' ? 'maybe' : 'no';
}

/** Parses the header at the start of `buf`, as `mode` allows. */
export function parseProxyHeader(buf: Buffer, mode: Exclude<ProxyProtocol, 'off'>): ProxyParse {
  if (mode !== 'v2') {
    const v1 = begins(buf, V1_PREFIX);
    if (v1 === 'yes') return parseV1(buf);
    if (v1 === 'maybe' && (mode === 'v1' || begins(buf, V2_SIGNATURE) === 'no')) return { kind: 'more' };
  }
  if (mode !== 'v1') {
    const v2 = begins(buf, V2_SIGNATURE);
    if (v2 === 'yes') return parseV2(buf);
    if (v2 === 'maybe') return { kind: 'more' };
  }
  return { kind: 'bad', reason: `no PROXY protocol ${mode === 'auto' ? '' : `${mode} `}header` };
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1 || end + 2 > V1_MAX)
    return buf.length >= V1_MAX ? { kind: 'bad', reason: 'PROXY v1 header longer than 107 bytes' } : { kind: 'more' };
  const length = end + 2;
  const parts = buf.toString('latin1', 0, end).split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'done', length, client: undefined };
  const [, family, source, , sourcePort, destPort] = parts;
  const port = (p: string | undefined) =>
    p !== undefined && /^(0|[1-9]\d{0,4})$/.test(p) && Number(p) < 65536 ? Number(p) : -1;
  const ok =
    parts.length === 6 &&
    ((family === 'TCP4' && isIPv4(source ?? '')) || (family === 'TCP6' && isIPv6(source ?? ''))) &&
    port(sourcePort) >= 0 &&
    port(destPort) >= 0;
  if (!ok) return { kind: 'bad', reason: 'malformed PROXY v1 header' };
  return { kind: 'done', length, client: { remoteAddress: source!, remotePort: port(sourcePort) } };
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < 16) return { kind: 'more' };
  const versionCommand = buf[12]!;
  const family = buf[13]!;
  const size = buf.readUInt16BE(14);
  if (versionCommand >> 4 !== 2 || (versionCommand & 0xf) > 1)
    return { kind: 'bad', reason: 'PROXY v2 header with an unknown version or command' };
  if (size > V2_MAX_LENGTH) return { kind: 'bad', reason: `PROXY v2 header longer than ${16 + V2_MAX_LENGTH} bytes` };
  const length = 16 + size;
  if (buf.length < length) return { kind: 'more' };
  // LOCAL: the proxy's own connection (a health check); UNSPEC and Unix addresses name no client.
  if ((versionCommand & 0xf) === 0) return { kind: 'done', length, client: undefined };
  if (family === 0x11 || family === 0x12) {
    if (size < 12) return { kind: 'bad', reason: 'PROXY v2 header too short for its IPv4 addresses' };
    return {
      kind: 'done',
      length,
      client: { remoteAddress: `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`, remotePort: buf.readUInt16BE(24) },
    };
  }
  if (family === 0x21 || family === 0x22) {
    if (size < 36) return { kind: 'bad', reason: 'PROXY v2 header too short for its IPv6 addresses' };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + 2 * i).toString(16));
    // An IPv4-mapped address reads as Node prints it: ::ffff:192.0.2.1.
    const mapped = groups.slice(0, 6).join(':') === '0:0:0:0:0:ffff';
    const remoteAddress = mapped ? `::ffff:${buf[28]}.${buf[29]}.${buf[30]}.${buf[31]}` : compactV6(groups);
    return { kind: 'done', length, client: { remoteAddress, remotePort: buf.readUInt16BE(48) } };
  }
  return { kind: 'done', length, client: undefined };
}

/** RFC 5952's form (the longest run of zero groups as ::), as Node prints socket addresses. */
function compactV6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}
