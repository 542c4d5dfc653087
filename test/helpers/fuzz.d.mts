// Types for the parts of fuzz.mjs the TypeScript tests import.
export interface Stats {
  connections: number;
  fds: number;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}
export interface Child {
  pid: number;
  port: number;
  logs: Array<{ level: string; msg: string; [key: string]: unknown }>;
  dead(): { code: number | null; signal: string | null } | null;
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}
export interface Figures {
  seed: number;
  seconds: number;
  sent: number;
  bytes: number;
  elapsedMs?: number;
  outcomes: Record<string, number>;
  statuses: Record<string, number>;
  failures: string[];
  leaks: { baseline: Stats; after: Stats } | null;
}
export const SERVER_OPTIONS: Record<string, number>;
export function startChild(options?: Record<string, unknown>): Promise<Child>;
export function runFuzz(options: {
  seconds: number;
  seed: number;
  concurrency?: number;
  log?: (line: string) => void;
  maxFailures?: number;
}): Promise<Figures>;
