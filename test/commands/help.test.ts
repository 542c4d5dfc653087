// Both commands' --help: every option, then the signals, the exit codes and examples, wrapped
// to the terminal (80 columns when the output is not a terminal).
import { SIGNALS } from '@tsws/master';
import { describe, expect, it } from 'vitest';
import { runOnTerminal, runToExit } from '../helpers/proc.js';

const widest = (text: string) => Math.max(...text.split('\n').map((line) => line.trimEnd().length));

function section(help: string, title: string): string {
  const start = help.indexOf(`\n${title}\n`);
  expect(start, `no ${title} section`).toBeGreaterThan(0);
  const end = help.indexOf('\n\n', start + 1);
  return help.slice(start + title.length + 2, end < 0 ? undefined : end);
}

describe.each(['tsws', 'tsws-master'] as const)('%s --help', (command) => {
  it('lists the signals, the exit codes and examples, within 80 columns on a pipe', async () => {
    const { code, out } = await runToExit(command, ['--help']);
    expect(code).toBe(0);
    expect(widest(out)).toBeLessThanOrEqual(80);
    const signals = section(out, 'Signals:');
    for (const signal of ['TERM', 'INT', 'QUIT', 'HUP', 'USR1']) expect(signals).toMatch(new RegExp(`\\b${signal}\\b`));
    const codes = section(out, 'Exit codes:');
    for (const exit of ['0', '1', '2', '3', '4']) expect(codes).toMatch(new RegExp(`^  ${exit} +\\S`, 'm'));
    expect(section(out, 'Examples:')).toMatch(new RegExp(`^  ${command} app`, 'm'));
  });

  it('uses the width of the terminal it is shown on', async () => {
    const proc = runOnTerminal(command, ['--help'], { columns: 120 });
    expect((await proc.exited).code).toBe(0);
    const out = proc.out().replace(/\r\n/g, '\n');
    expect(widest(out)).toBeLessThanOrEqual(120);
    expect(widest(out)).toBeGreaterThan(100);
  });
});

describe('tsws-master --help', () => {
  it('says what each signal the master handles does, and no other', async () => {
    const { out } = await runToExit('tsws-master', ['--help']);
    const listed = [...section(out, 'Signals:').matchAll(/^ {2}(\S[^ ]*(?:, \S+)*) {2}/gm)].flatMap((m) =>
      m[1]!.split(', ').map((name) => `SIG${name}`),
    );
    expect(listed.sort()).toEqual([...SIGNALS].sort());
  });
});
