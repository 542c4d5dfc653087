// Types for the parts of matrix.mjs the TypeScript tests import.
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}
export interface RunningServer {
  name: string;
  port: number;
  pid: number;
  logs(): LogLine[];
  warnings(): LogLine[];
  stderr(): string;
  stop(): Promise<void>;
}
export type Reader = 'fast' | 'slow' | 'stalled';
export interface Case {
  kind: string;
  framing: string;
  reader: Reader;
  size: number;
  bodyTimeout: number;
  /** A slow reader's bytes a second (SLOW_RATE unless given). */
  rate?: number;
}
export interface Verdict {
  ok: boolean;
  problem: string | null;
  result: { bodyBytes: number; framing: string | null; end: string | null; ms: number };
}
export const SERVERS: Record<string, unknown>;
export const KIND_NAMES: string[];
export const FRAMING_NAMES: string[];
export const MIB: number;
export const CUT_MESSAGE: string;
export const SLOW_RATE: number;
export const SLOW_BODY_TIMEOUT: number;
export const STALL_BODY_TIMEOUT: number;
export const FAST_BODY_TIMEOUT: number;
export const SLOW_KEEP_ALIVE: number;
export function startServer(
  name: string,
  opts: { bodyTimeout: number; env?: Record<string, string>; args?: string[] },
): Promise<RunningServer>;
export function prepareFiles(dir: string, sizes: number[]): void;
export function runCase(server: RunningServer, c: Case): Promise<Verdict>;
