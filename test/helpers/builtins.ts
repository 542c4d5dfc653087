// Which of Node's HTTP and TLS modules a server process loads (test/fixtures/apps/loaded-builtins.js
// answers it), against what no server can help loading.
import { spawnSync } from 'node:child_process';
import { ROOT } from './proc.js';

export const LOADED_BUILTINS_APP = `${ROOT}test/fixtures/apps/loaded-builtins.js`;

/**
 * What a bare node loads of them once it reads the global Response's descriptor, as the core must
 * at import: nothing on Node 20; on Node 24 that loads Node's bundled undici, and with it
 * node:http, node:http2 and node:tls (bench/README.md).
 */
export function unavoidableBuiltins(): string[] {
  const script =
    `import { loadedBuiltins } from ${JSON.stringify(LOADED_BUILTINS_APP)};\n` +
    `Object.getOwnPropertyDescriptor(globalThis, 'Response');\n` +
    'console.log(JSON.stringify(loadedBuiltins()));';
  const { stdout } = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(stdout) as string[];
}
