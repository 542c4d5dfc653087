// PROXY protocol v2 headers made by hand, for the tests of the core and of -k node.
import net from 'node:net';

export const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: PROXY (or LOCAL) over TCP4 or TCP6. */
export function v2(source: string, sourcePort: number, opts: { local?: boolean; tlvs?: number } = {}): Buffer {
  const six = net.isIPv6(source);
  const address = six
    ? Buffer.concat([ipv6(source), ipv6('::1')])
    : Buffer.from([...source.split('.').map(Number), 127, 0, 0, 1]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(8000, 2);
  const tlvs = Buffer.alloc(opts.tlvs ?? 0);
  const body = Buffer.concat([address, ports, tlvs]);
  const head = Buffer.from([opts.local ? 0x20 : 0x21, six ? 0x21 : 0x11, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, head, body]);
}

function ipv6(address: string): Buffer {
  const [left = '', right = ''] = address.split('::');
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), 2 * i);
  return out;
}
