import { describe, expect, it } from 'vitest';
import { start } from '../helpers/core.js';
import { connect, req } from '../helpers/raw.js';

describe('the core answers a fetch handler', () => {
  it('over fetch and over raw bytes', async () => {
    const { origin, port } = await start({ fetch: (request) => new Response(`hi ${new URL(request.url).pathname}`) });
    const res = await fetch(`${origin}/there`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hi /there');

    const c = await connect(port);
    c.write(req('GET', '/a') + req('GET', '/b'));
    expect((await c.response()).body.toString()).toBe('hi /a');
    expect((await c.response()).body.toString()).toBe('hi /b');
  });
});
