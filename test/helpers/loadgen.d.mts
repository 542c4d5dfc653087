// Types for loadgen.mjs, which the TypeScript tests import.
export type Outcome =
  | 'ok'
  | 'refused'
  | 'connect-failed'
  | 'no-response'
  | 'cut'
  | 'timeout'
  | 'status'
  | 'bad-body'
  | 'bad-response';
export interface Fate {
  /** The connection's number (0: none was made), its client-side port, and whether it had served before. */
  conn: number;
  localPort: number;
  /** When its connection was opened (load clock, ms). */
  opened: number;
  reused: boolean;
  /** On a reused connection, how long it sat idle before this request (ms). */
  idle: number;
  path: string;
  /** Milliseconds since the load began. */
  sent: number;
  ended: number;
  outcome: Outcome;
  detail: string;
  status: number;
  /** The worker that answered, or that answered earlier on this connection. */
  pid: number | null;
  client?: number;
  retried?: boolean;
}
export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  retried: number;
  counts: Record<Outcome, number>;
  elapsedMs: number;
  failures: Fate[];
}
export interface LoadOptions {
  port: number;
  host?: string;
  keepAlive?: number;
  fresh?: number;
  path?: (client: number, n: number) => string;
  expect?: RegExp;
  maxMs?: number;
  maxRequests?: number;
  timeoutMs?: number;
  retry?: boolean;
  headers?: Record<string, string>;
  pauseMs?: number | ((client: number, n: number) => number);
}
export interface Load {
  fates: Fate[];
  now(): number;
  epoch: number;
  answered(n: number): Promise<void>;
  stop(): Promise<LoadResult>;
  done: Promise<LoadResult>;
}
export const FAILURES: Outcome[];
export function startLoad(options: LoadOptions): Load;
export function summarise(fates: Fate[], elapsedMs: number): LoadResult;
export function describeFate(fate: Fate): string;
