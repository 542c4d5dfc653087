// The README's WebSocket examples are the files in examples/, and they run as written.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { freePort, ROOT, run, waitForHttp } from '../helpers/proc.js';
import { until } from '../helpers/wait.mjs';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

async function served(example: string) {
  const port = await freePort();
  const proc = run('tsws', [example, '--bind', `127.0.0.1:${port}`]);
  onTestFinished(() => proc.kill('SIGKILL'));
  await waitForHttp(`http://127.0.0.1:${port}/`);
  return port;
}

async function talk(url: string, say: string, count: number): Promise<string[]> {
  const ws = new WebSocket(url);
  onTestFinished(() => ws.terminate());
  const got: string[] = [];
  ws.on('message', (data: Buffer) => got.push(data.toString()));
  await once(ws, 'open');
  ws.send(say);
  await until(`${count} messages`, () => got.length >= count);
  return got;
}

describe('the README’s WebSocket examples', () => {
  for (const file of ['examples/websocket-hono.mjs', 'examples/websocket-crossws.mjs']) {
    it(`shows ${file} as it is`, () => {
      const code = readFileSync(join(ROOT, file), 'utf8').trimEnd();
      expect(readme).toContain(`\`\`\`js\n${code}\n\`\`\``);
    });
  }

  it('runs the Hono example: an answer to the sender, the room for the others', async () => {
    const port = await served('examples/websocket-hono.mjs');
    const url = `ws://127.0.0.1:${port}/ws`;
    const listener = new WebSocket(url);
    onTestFinished(() => listener.terminate());
    const heard: string[] = [];
    listener.on('message', (data: Buffer) => heard.push(data.toString()));
    await once(listener, 'open');
    expect(await talk(url, 'hi', 1)).toEqual(['you said: hi']);
    await until('the room', () => heard.length === 1);
    expect(heard).toEqual(['someone said: hi']);
  });

  it('runs the crossws example', async () => {
    const port = await served('examples/websocket-crossws.mjs');
    expect(await talk(`ws://127.0.0.1:${port}/chat`, 'hi', 2)).toEqual(['welcome', 'you said: hi']);
  });
});
