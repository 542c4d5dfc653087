// X-Forwarded-For, -Proto and -Host count only from peers in forwardedAllowIps (addresses, CIDR
// ranges or '*'), as Gunicorn's forwarded_allow_ips; from anyone else they are ignored.
import type { ServeOptions } from '@tsws/core';
import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';

const FORWARDED = ['X-Forwarded-For: 203.0.113.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: public.example'];

async function seen(options: ServeOptions, headers: string[] = FORWARDED, host = '127.0.0.1') {
  const { port } = await start(
    (request, info) => Response.json({ url: request.url, remoteAddress: info.remoteAddress }),
    {
      bind: host.includes(':') ? `[${host}]:0` : `${host}:0`,
      ...options,
    },
  );
  const c = await connect(port, host);
  c.write(req('GET', '/path?q', ['Host: internal:8000', ...headers]));
  return JSON.parse((await c.response()).body.toString()) as { url: string; remoteAddress: string };
}

const trusted = { url: 'https://public.example/path?q', remoteAddress: '203.0.113.7' };
const ignored = { url: 'http://internal:8000/path?q', remoteAddress: '127.0.0.1' };

describe('forwarded headers', () => {
  it('are trusted from loopback by default', async () => {
    expect(await seen({})).toEqual(trusted);
  });

  it('are trusted from an IPv6 loopback peer by default', async () => {
    expect(await seen({}, FORWARDED, '::1')).toEqual(trusted);
  });

  it('are ignored from peers not in the list', async () => {
    expect(await seen({ forwardedAllowIps: ['10.0.0.1'] })).toEqual(ignored);
    expect(await seen({ forwardedAllowIps: [] })).toEqual(ignored);
    expect(await seen({ forwardedAllowIps: ['::1'] })).toEqual(ignored);
  });

  it('match CIDR ranges', async () => {
    expect(await seen({ forwardedAllowIps: ['127.0.0.0/8'] })).toEqual(trusted);
    expect(await seen({ forwardedAllowIps: ['10.0.0.0/8', '192.168.0.0/16'] })).toEqual(ignored);
    expect(await seen({ forwardedAllowIps: ['127.0.0.2/32'] })).toEqual(ignored);
  });

  it("are trusted from anyone with '*'", async () => {
    expect(await seen({ forwardedAllowIps: '*' })).toEqual(trusted);
  });

  it('take the client as the rightmost X-Forwarded-For hop that is not a trusted proxy', async () => {
    const allow = { forwardedAllowIps: ['127.0.0.1', '10.0.0.0/8'] };
    // A client can put anything on the left; the proxies append on the right.
    const hops = ['X-Forwarded-For: 1.1.1.1, 198.51.100.9, 10.0.0.5'];
    expect((await seen(allow, hops)).remoteAddress).toBe('198.51.100.9');
    // Repeated headers are one list.
    const split = ['X-Forwarded-For: 1.1.1.1', 'X-Forwarded-For: 198.51.100.9, 10.0.0.5'];
    expect((await seen(allow, split)).remoteAddress).toBe('198.51.100.9');
  });

  it('ignore a proto other than http or https, and a host that is not one', async () => {
    const odd = ['X-Forwarded-Proto: gopher', 'X-Forwarded-Host: bad host/x'];
    expect((await seen({}, odd)).url).toBe('http://internal:8000/path?q');
    const lists = ['X-Forwarded-Proto: https, http', 'X-Forwarded-Host: first.example, second.example'];
    expect((await seen({}, lists)).url).toBe('https://first.example/path?q');
  });

  it('refuses a forwardedAllowIps entry that is not an address or range', async () => {
    await expect(start(() => new Response(''), { forwardedAllowIps: ['not-an-ip'] })).rejects.toThrow(
      /forwardedAllowIps.*not-an-ip/,
    );
  });
});
