// Trusted proxies: X-Forwarded-For, -Proto and -Host count only when the peer is one of
// `forwardedAllowIps` (addresses or CIDR ranges, or `*`), as Gunicorn's forwarded_allow_ips.
import net from 'node:net';
import type { ConnInfo } from './exchange.js';
import { OptionError } from './options.js';

export type TrustCheck = (address: string) => boolean;

export function trustCheck(allow: string[] | '*'): TrustCheck {
  if (allow === '*') return () => true;
  if (allow.length === 0) return () => false;
  const list = new net.BlockList();
  for (const entry of allow) {
    const [address = '', prefix] = entry.trim().split('/');
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    // An OptionError like every other bad option, so callers (the CLI) report it the same way.
    if (family === undefined)
      throw new OptionError(`tsws: forwardedAllowIps: "${entry}" is not an IP address or CIDR range`);
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const v4mapped = address.startsWith('::ffff:') && net.isIPv4(address.slice(7));
    const plain = v4mapped ? address.slice(7) : address;
    const family = net.isIPv6(plain) ? 'ipv6' : net.isIPv4(plain) ? 'ipv4' : undefined;
    return family !== undefined && list.check(plain, family);
  };
}

/** The client a trusted proxy names in X-Forwarded-For: the rightmost hop that is not itself a trusted proxy. */
export function forwardedInfo(xff: string, peer: ConnInfo, trusted: TrustCheck): ConnInfo {
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop && (i === 0 || !trusted(hop))) return { remoteAddress: hop, remotePort: peer.remotePort, tls: peer.tls };
  }
  return { remoteAddress: peer.remoteAddress, remotePort: peer.remotePort, tls: peer.tls };
}

/** The scheme from X-Forwarded-Proto: its first value, when it is http or https. */
export function forwardedProto(xfp: string): 'http' | 'https' | undefined {
  const first = xfp.split(',')[0]!.trim().toLowerCase();
  return first === 'https' || first === 'http' ? first : undefined;
}
