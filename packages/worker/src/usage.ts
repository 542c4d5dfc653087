// What `--help` says beyond the options, and the README's tables of the same facts: the signals
// each command answers, the exit codes, examples. Laid out with commander's own Help, so every
// section wraps as the options do: to the terminal's width, or 80 columns when not a terminal.
import type { Help } from 'commander';
import { EXIT } from './protocol.js';

/** A term (a signal, an exit code, a command line) and what it means. */
export type Entry = readonly [term: string, meaning: string];

export interface Usage {
  signals: readonly Entry[];
  examples: readonly Entry[];
}

/** The exit codes of both commands (Gunicorn's numbers; a supervisor should not restart on 2, 3 or 4). */
export const EXIT_CODES: readonly Entry[] = [
  [String(EXIT.OK), 'A clean stop.'],
  [String(EXIT.ERROR), 'A runtime error; or --check-config found a problem.'],
  [
    String(EXIT.USAGE),
    'A bad command line or setting (an unknown user, a pid file naming a running process): nothing was started.',
  ],
  [
    String(EXIT.BOOT_ERROR),
    'Could not start serving: cannot listen, the worker class does not fit the app, cannot switch user, ' +
      'or not ready within --boot-timeout (the master halts rather than fork forever); or the master ' +
      'could not open the --control-socket or --metrics-bind it was given.',
  ],
  [String(EXIT.APP_LOAD_ERROR), 'The app could not be loaded: not found, no such export, a syntax error, or it threw.'],
  ['128+N', 'Ended by signal N, which it does not handle (SIGKILL: 137).'],
];

/** `tsws`: what each signal does to the single process (the base class's handlers). */
export const TSWS_USAGE: Usage = {
  signals: [
    [
      'TERM, INT',
      'Drain: stop accepting, answer the requests already received, exit 0 within --graceful-timeout. ' +
        'A second one stops at once.',
    ],
    ['QUIT', 'Stop at once: close every connection and exit 0.'],
    [
      'HUP',
      'Reopen the log files, as USR1. One process cannot reload its code: a supervisor restarts it, ' +
        'or run tsws-master.',
    ],
    ['USR1', 'Reopen the log files (after logrotate moved them).'],
    ['USR2', 'Ignored, with a log line.'],
  ],
  examples: [
    ['tsws app.js', "Serve app.js's default export on 127.0.0.1:8000."],
    ['tsws app.mjs:api -b 0.0.0.0:8080 --access-log -', 'The export `api`, on every IPv4 address, with an access log.'],
    ['tsws app.ts --check-config', 'Check the settings and that the app loads, then exit.'],
  ],
};

/** `tsws-master`: what each signal does to the master (its handlers in @tsws/master's master.ts). */
export const MASTER_USAGE: Usage = {
  signals: [
    [
      'TERM',
      'Graceful stop (after --drain-delay, if set: /readyz answers 503 meanwhile): workers stop accepting, ' +
        'answer every request they have (the last response on each keep-alive connection says ' +
        'Connection: close; an idle connection gets 1 s for a request already on its way), and exit; what ' +
        'still runs after --graceful-timeout is cut. The pid file is removed; exit 0.',
    ],
    ['INT, QUIT', 'Quick stop: workers close their connections now; also cuts a graceful stop short.'],
    [
      'HUP',
      'Reload: read the settings again (config file included), start new workers on the code as it is now, ' +
        'and retire an old worker each time a new one is ready. If the new code does not boot (it throws, ' +
        'exits, or is not ready within --boot-timeout), the old workers keep serving and the master logs why.',
    ],
    ['TTIN, TTOU', 'One more worker, one fewer (never fewer than one).'],
    ['USR1', "Reopen the log files, the master's and every worker's (after logrotate moved them)."],
    ['USR2', 'Ignored, with a log line.'],
  ],
  examples: [
    ['tsws-master app.js', 'One worker per CPU serving the default export of app.js on 127.0.0.1:8000.'],
    ['tsws-master app.mjs:api -w 4 -b 0.0.0.0:8000 -p /run/app.pid', 'Four workers, every IPv4 address, a pid file.'],
    ['kill -HUP $(cat /run/app.pid)', 'Reload onto new code without dropping a request.'],
  ],
};

const STACK_INDENT = 6;

/** Two columns while the terms leave room for the meanings; else each meaning below its term. */
export function formatEntries(entries: readonly Entry[], helper: Help): string[] {
  const width = helper.helpWidth ?? 80;
  const termWidth = Math.max(...entries.map(([term]) => term.length));
  if (width - termWidth - 4 >= helper.minWidthToWrap)
    return entries.map(([term, meaning]) => helper.formatItem(term, termWidth, meaning, helper));
  const indent = ' '.repeat(STACK_INDENT);
  return entries.map(
    ([term, meaning]) =>
      `  ${term}\n${indent}${helper.boxWrap(meaning, width - STACK_INDENT).replace(/\n/g, `\n${indent}`)}`,
  );
}

/** The sections after the options in `--help`. */
export function usageSections(usage: Usage, helper: Help): string {
  return [
    ...helper.formatItemList('Signals:', formatEntries(usage.signals, helper), helper),
    ...helper.formatItemList('Exit codes:', formatEntries(EXIT_CODES, helper), helper),
    ...helper.formatItemList('Examples:', formatEntries(usage.examples, helper), helper),
  ].join('\n');
}

/** A two-column Markdown table, for the README. */
export function entriesMarkdown(heading: readonly [string, string], entries: readonly Entry[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = entries.map(([term, meaning]) => `| \`${cell(term)}\` | ${cell(meaning)} |`);
  return [`| ${heading[0]} | ${heading[1]} |`, '|---|---|', ...rows].join('\n');
}
