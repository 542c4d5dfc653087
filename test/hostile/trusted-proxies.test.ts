// Trusted proxies end to end, through tsws-master and its settings: X-Forwarded-For, -Proto and
// -Host change what the app is told only when the peer is in --forwarded-allow-ips (default
// 127.0.0.1 and ::1). The core's own rules (CIDR ranges, hop order) are in test/core/proxy.test.ts.
import { describe, expect, it } from 'vitest';
import { SOAK } from '../faults/helpers.js';
import { connect, req } from '../helpers/raw.js';
import { startMaster } from '../master/helpers.js';

const FORWARDED = [
  'Host: internal:8000',
  'X-Forwarded-For: 203.0.113.7',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: public.example',
];

/** What the app (test/fixtures/faults/app.mjs) says it was told about a request that carries FORWARDED. */
async function seen(port: number): Promise<{ url: string; remoteAddress: string }> {
  const c = await connect(port);
  c.write(req('GET', '/forwarded?q', FORWARDED));
  return JSON.parse((await c.response()).body.toString()) as { url: string; remoteAddress: string };
}

describe('X-Forwarded-* through tsws-master', () => {
  it('are trusted from 127.0.0.1 by default, ignored when --forwarded-allow-ips (or its env) omits it', async () => {
    const [byDefault, flag, env, cidr] = await Promise.all([
      startMaster('app.mjs', ['-w', '1'], { cwd: SOAK }),
      startMaster('app.mjs', ['-w', '1', '--forwarded-allow-ips', '10.0.0.1'], { cwd: SOAK }),
      startMaster('app.mjs', ['-w', '1'], { cwd: SOAK, env: { TSWS_FORWARDED_ALLOW_IPS: '10.0.0.0/8,::1' } }),
      startMaster('app.mjs', ['-w', '1', '--forwarded-allow-ips', '10.0.0.1,127.0.0.0/8'], { cwd: SOAK }),
    ]);
    const trusted = { url: 'https://public.example/forwarded?q', remoteAddress: '203.0.113.7' };
    const ignored = { url: 'http://internal:8000/forwarded?q', remoteAddress: '127.0.0.1' };
    expect(await seen(byDefault.port)).toEqual(trusted);
    expect(await seen(flag.port)).toEqual(ignored);
    expect(await seen(env.port)).toEqual(ignored);
    expect(await seen(cidr.port)).toEqual(trusted);
  });
});
