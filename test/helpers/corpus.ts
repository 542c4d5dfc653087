// The parser corpus (test/corpus/README.md): its cases, what each expects, and the small limits
// they are run with (test/hostile/corpus.test.ts over sockets, head-rules.test.ts without).
import { readdirSync, readFileSync } from 'node:fs';

const DIR = new URL('../corpus/', import.meta.url);

/** Small limits, so each limit's edges fit in a few bytes. */
export const CORPUS_LIMITS = {
  limitRequestLine: 64,
  limitRequestFields: 8,
  limitRequestFieldSize: 64,
  limitRequestBody: 32,
};

export interface Accepted {
  method: string;
  /** request.url without its scheme and authority. */
  target: string;
  /** `[...request.headers]`: lower-cased, sorted, repeated names joined. */
  headers: Array<[string, string]>;
  /** The body bytes as latin1 text. */
  body: string;
  /** request.url in full, when the case pins it. */
  url?: string;
  /** The server closes the connection after answering. */
  close?: boolean;
  /** The statuses of the 1xx responses before the answer, when the case pins them. */
  interim?: number[];
}
export interface Refused {
  status: number;
}
export type Expected = Accepted | Refused;

export interface Case {
  name: string;
  bytes: Buffer;
  expected: Expected;
}

export function loadCases(): Case[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.http'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.http'.length);
      return {
        name,
        bytes: readFileSync(new URL(f, DIR)),
        expected: JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as Expected,
      };
    });
}
